// The long-running service's configuration (`btcbot run`): the trading mode, the price feed of
// paper mode, the exchange of demo and live modes, and the grids. Environment variables override
// the file (Docker stacks set them): ENVIRONMENT, TRADING_MODE, EXCHANGE_ID, EXCHANGE_URL, CONFIRM_LIVE_TRADING,
// DATA_DIR, HTTP_HOST, HTTP_PORT; DATABASE_URL is read from the environment only (it may hold a password).
// API keys are never in the file (its keys are checked strictly): see exchange-credentials.ts.
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { secretFromEnv } from './env-secret.js';
import type { GridConfig } from './grid-config.js';
import { parseGrids, readConfigFile } from './load-config.js';

export const tradingModes = ['paper', 'demo', 'live'] as const;
/** Which deployment this is (ENVIRONMENT): a label on /health, metrics and logs. */
export const environments = ['dev', 'stage', 'prod'] as const;
export type Environment = (typeof environments)[number];
export type TradingMode = (typeof tradingModes)[number];

const serviceSchema = z.strictObject({
  grids: z.array(z.unknown()).optional(),
  environment: z.enum(environments, { error: `environment must be one of ${environments.join(', ')}` }).default('dev'),
  mode: z.enum(tradingModes, { error: `mode must be one of ${tradingModes.join(', ')}` }).default('paper'),
  feed: z
    .strictObject({
      data: z.string({ error: 'feed.data must be a path to a candle file' }).optional(),
      speed: z.number({ error: 'feed.speed must be a number' }).positive({ error: 'feed.speed must be > 0 (candles per second)' }).default(1),
      candles: z.number().int({ error: 'feed.candles must be an integer' }).positive({ error: 'feed.candles must be > 0' }).default(1440),
      seed: z.number().int({ error: 'feed.seed must be an integer' }).default(1),
    })
    .default({ speed: 1, candles: 1440, seed: 1 }),
  exchange: z
    .strictObject({
      id: z.string({ error: 'exchange.id must be a ccxt exchange id such as "bingx"' }).regex(/^[a-z][a-z0-9]*$/, { error: 'exchange.id must be a ccxt exchange id such as "bingx" (lower-case letters and digits)' }).default('bingx'),
      url: z.string({ error: 'exchange.url must be an http(s) origin' }).optional(),
      sandbox: z.boolean({ error: 'exchange.sandbox must be true or false' }).default(false),
      streams: z.boolean({ error: 'exchange.streams must be true or false' }).default(true),
      timeoutMs: z.number().int().positive({ error: 'exchange.timeoutMs must be > 0' }).default(10_000),
      staleAfterMs: z.number().int().positive({ error: 'exchange.staleAfterMs must be > 0' }).default(30_000),
      pollIntervalMs: z.number().int().positive({ error: 'exchange.pollIntervalMs must be > 0' }).default(5_000),
      reconcileIntervalMs: z.number().int().positive({ error: 'exchange.reconcileIntervalMs must be > 0' }).default(15_000),
    })
    .default({ id: 'bingx', sandbox: false, streams: true, timeoutMs: 10_000, staleAfterMs: 30_000, pollIntervalMs: 5_000, reconcileIntervalMs: 15_000 }),
  confirmLiveTrading: z.boolean({ error: 'confirmLiveTrading must be true or false' }).default(false),
  shutdown: z
    .strictObject({
      cancelOrders: z.boolean({ error: 'shutdown.cancelOrders must be true or false' }).default(false),
    })
    .default({ cancelOrders: false }),
  database: z
    .strictObject({
      dataDir: z.string({ error: 'database.dataDir must be a directory path' }).min(1).default('./data'),
    })
    .default({ dataDir: './data' }),
  http: z
    .strictObject({
      enabled: z.boolean({ error: 'http.enabled must be true or false' }).default(true),
      host: z.string({ error: 'http.host must be an address to listen on, such as 127.0.0.1 or 0.0.0.0' }).min(1).default('127.0.0.1'),
      port: z.coerce
        .number({ error: 'http.port must be a port number' })
        .int({ error: 'http.port must be an integer' })
        .min(0, { error: 'http.port must be 0 (any free port) to 65535' })
        .max(65_535, { error: 'http.port must be 0 (any free port) to 65535' })
        .default(8080),
    })
    .default({ enabled: true, host: '127.0.0.1', port: 8080 }),
});

/** Where demo and live modes trade, and how the session treats its streams. */
export interface ExchangeSettings {
  /** A ccxt exchange id. */
  readonly id: string;
  /** EXCHANGE_URL: replaces every REST and WebSocket base URL (a simulator, a proxy). */
  readonly url?: string;
  /** Use the exchange's sandbox (testnet) where ccxt has one: demo mode then places real test orders. */
  readonly sandbox: boolean;
  /** Use the WebSocket streams (false: REST polling only, e.g. behind a proxy that breaks WebSockets). */
  readonly streams: boolean;
  readonly timeoutMs: number;
  readonly staleAfterMs: number;
  readonly pollIntervalMs: number;
  readonly reconcileIntervalMs: number;
}

export interface ServiceConfig {
  /** ENVIRONMENT: dev (default), stage or prod; labels /health, the metrics and the logs. */
  readonly environment: Environment;
  readonly mode: TradingMode;
  /** Paper mode's prices: a candle file replayed, or generated candles; `speed` candles per second. */
  readonly feed: { readonly data?: string; readonly speed: number; readonly candles: number; readonly seed: number };
  readonly exchange: ExchangeSettings;
  /** Live mode refuses to start without it (file `confirmLiveTrading: true` or env CONFIRM_LIVE_TRADING=yes). */
  readonly confirmLiveTrading: boolean;
  /**
   * The store of demo-sandbox and live mode: DATABASE_URL (env only: it may hold a password), else
   * the embedded PGlite in `dataDir` (env DATA_DIR).
   */
  readonly database: { readonly url?: string; readonly dataDir: string };
  /** On SIGTERM / SIGINT: leave the grids' orders resting (default), or cancel them first (capped at 4 s). */
  readonly shutdown: { readonly cancelOrders: boolean };
  /** /health and /metrics: loopback by default (Docker sets HTTP_HOST=0.0.0.0); port 0 takes any free port. */
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly grids: readonly GridConfig[];
}

/** The environment's overrides, in the file's shape. */
function overridesFrom(env: NodeJS.ProcessEnv, service: object): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (env.TRADING_MODE) overrides['mode'] = env.TRADING_MODE;
  if (env.ENVIRONMENT) overrides['environment'] = env.ENVIRONMENT;
  if (env.CONFIRM_LIVE_TRADING !== undefined && env.CONFIRM_LIVE_TRADING !== '') overrides['confirmLiveTrading'] = env.CONFIRM_LIVE_TRADING === 'yes';
  const exchange = { ...((service as { exchange?: object }).exchange ?? {}) } as Record<string, unknown>;
  if (env.EXCHANGE_ID) exchange['id'] = env.EXCHANGE_ID;
  if (env.EXCHANGE_URL) exchange['url'] = env.EXCHANGE_URL;
  if (Object.keys(exchange).length > 0) overrides['exchange'] = exchange;
  if (env.DATA_DIR) overrides['database'] = { ...((service as { database?: object }).database ?? {}), dataDir: env.DATA_DIR };
  const http = { ...((service as { http?: object }).http ?? {}) } as Record<string, unknown>;
  if (env.HTTP_HOST) http['host'] = env.HTTP_HOST;
  if (env.HTTP_PORT) http['port'] = env.HTTP_PORT;
  if (Object.keys(http).length > 0) overrides['http'] = http;
  return overrides;
}

const envNames: Readonly<Record<string, string>> = {
  environment: 'ENVIRONMENT',
  mode: 'TRADING_MODE',
  confirmLiveTrading: 'CONFIRM_LIVE_TRADING',
  'exchange.id': 'EXCHANGE_ID',
  'exchange.url': 'EXCHANGE_URL',
  'database.dataDir': 'DATA_DIR',
  'http.host': 'HTTP_HOST',
  'http.port': 'HTTP_PORT',
};

/** DATABASE_URL, or DATABASE_URL_FILE (a Docker secret: the URL holds the database's password). */
export function databaseUrlOf(env: NodeJS.ProcessEnv): { url?: string } {
  const url = secretFromEnv(env, 'DATABASE_URL');
  return url === undefined ? {} : { url };
}

/** Reads the service config from `file`, then applies TRADING_MODE from `env`. */
export async function loadServiceConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceConfig> {
  const document = await readConfigFile(file);
  const grids = parseGrids(document, file);
  const service = typeof document === 'object' && document !== null && 'grids' in document ? document : {};
  if (env.CONFIRM_LIVE_TRADING && env.CONFIRM_LIVE_TRADING !== 'yes' && env.CONFIRM_LIVE_TRADING !== 'no') {
    throw new ConfigError(`CONFIRM_LIVE_TRADING must be "yes" or "no", not ${JSON.stringify(env.CONFIRM_LIVE_TRADING)}`);
  }
  const overrides = overridesFrom(env, service);
  const parsed = serviceSchema.safeParse({ ...service, ...overrides });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const fromEnv = envNames[key] !== undefined && env[envNames[key]] ? ` (${envNames[key]})` : '';
      return `${file}: ${key || 'config'}: ${issue.message}${fromEnv}`;
    });
    throw new ConfigError(`invalid service configuration:\n  - ${problems.join('\n  - ')}`, problems);
  }
  const { feed, exchange } = parsed.data;
  return {
    environment: parsed.data.environment,
    mode: parsed.data.mode,
    feed: { ...feed, ...(feed.data === undefined ? {} : { data: feed.data }) },
    exchange: { ...exchange, ...(exchange.url === undefined ? {} : { url: exchange.url }) },
    confirmLiveTrading: parsed.data.confirmLiveTrading,
    database: { dataDir: parsed.data.database.dataDir, ...databaseUrlOf(env) },
    shutdown: parsed.data.shutdown,
    http: parsed.data.http,
    grids,
  };
}
