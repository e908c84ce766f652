// The long-running service's configuration (`btcbot run`): the trading mode, the price feed of
// paper mode, and the grids. Environment variables override the file (Docker stacks set them).
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import type { GridConfig } from './grid-config.js';
import { parseGrids, readConfigFile } from './load-config.js';

export const tradingModes = ['paper', 'demo', 'live'] as const;
export type TradingMode = (typeof tradingModes)[number];

const serviceSchema = z.strictObject({
  grids: z.array(z.unknown()).optional(),
  mode: z.enum(tradingModes, { error: `mode must be one of ${tradingModes.join(', ')}` }).default('paper'),
  feed: z
    .strictObject({
      data: z.string({ error: 'feed.data must be a path to a candle file' }).optional(),
      speed: z.number({ error: 'feed.speed must be a number' }).positive({ error: 'feed.speed must be > 0 (candles per second)' }).default(1),
      candles: z.number().int({ error: 'feed.candles must be an integer' }).positive({ error: 'feed.candles must be > 0' }).default(1440),
      seed: z.number().int({ error: 'feed.seed must be an integer' }).default(1),
    })
    .default({ speed: 1, candles: 1440, seed: 1 }),
});

export interface ServiceConfig {
  readonly mode: TradingMode;
  /** Paper mode's prices: a candle file replayed, or generated candles; `speed` candles per second. */
  readonly feed: { readonly data?: string; readonly speed: number; readonly candles: number; readonly seed: number };
  readonly grids: readonly GridConfig[];
}

/** Reads the service config from `file`, then applies TRADING_MODE from `env`. */
export async function loadServiceConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceConfig> {
  const document = await readConfigFile(file);
  const grids = parseGrids(document, file);
  const service = typeof document === 'object' && document !== null && 'grids' in document ? document : {};
  const parsed = serviceSchema.safeParse({ ...service, ...(env.TRADING_MODE ? { mode: env.TRADING_MODE } : {}) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${file}: ${issue.path.join('.') || 'config'}: ${issue.message}${issue.path[0] === 'mode' && env.TRADING_MODE ? ' (TRADING_MODE)' : ''}`);
    throw new ConfigError(`invalid service configuration:\n  - ${problems.join('\n  - ')}`, problems);
  }
  const { feed } = parsed.data;
  return { mode: parsed.data.mode, feed: { ...feed, ...(feed.data === undefined ? {} : { data: feed.data }) }, grids };
}
