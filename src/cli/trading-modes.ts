// The three trading modes of `btcbot run`, wired from the same machines and actors:
// - paper: each grid on its own paper exchange, prices from a candle file or generated candles;
// - demo:  the exchange's live prices (public ticker stream, no keys), orders matched by a paper
//          exchange per grid; with exchange.sandbox, real test orders on the exchange's sandbox
//          (e.g. Binance spot testnet) through the live code path instead;
// - live:  real orders through the ccxt adapter; refuses to start without API keys and without
//          the explicit confirmation, and logs a loud banner first.
// Real orders (live, sandbox) are written ahead to the Postgres store (DATABASE_URL, else the
// embedded PGlite in database.dataDir); paper and demo keep their books in memory.
// Every mode runs until the abort signal and returns one report per grid.
import { randomInt } from 'node:crypto';
import { ExchangeSession } from '../actors/exchange/exchange-session.js';
import { runLiveTrading, type LiveGridReport, type LiveTradingOptions } from '../actors/trading/live-trading.js';
import { runPaperTrading } from '../actors/trading/paper-trading.js';
import type { BacktestReport } from '../actors/backtest/backtest.js';
import { CcxtExchange } from '../adapters/exchange/ccxt-exchange.js';
import { pacedCandles, tickCandles } from '../adapters/feed/price-feeds.js';
import { openStore, type OpenedStore } from '../adapters/store/open-store.js';
import type { Logger } from '../adapters/telemetry/logger.js';
import type { HealthBoard } from '../actors/supervision/health.js';
import { whenAborted } from '../actors/supervision/when-aborted.js';
import { ConfigError } from '../config/config-error.js';
import { exchangeCredentials, type ExchangeCredentials } from '../config/exchange-credentials.js';
import type { ServiceConfig } from '../config/service-config.js';
import { loadCandles } from './candle-source.js';

export type GridReports = Map<string, BacktestReport | LiveGridReport>;

interface ModeContext {
  readonly config: ServiceConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** Where the actors report their health (/health). */
  readonly health?: HealthBoard;
  /** Told of every supervised restart and give-up (metrics, traces). */
  readonly supervision?: Pick<LiveTradingOptions, 'onRestart' | 'onGiveUp' | 'trackSupervisor'>;
}

export async function runTradingMode(context: ModeContext): Promise<GridReports> {
  const { config } = context;
  if (config.mode === 'paper') return runPaper(context);
  if (config.mode === 'demo' && !config.exchange.sandbox) return runDemo(context);
  return runOnExchange(context);
}

function runPaper({ config, logger, signal, health }: ModeContext): Promise<GridReports> {
  const { data, candles: count, seed, speed } = config.feed;
  const candles = loadCandles(config.grids[0]!, { data, count, seed }, (line) => logger.info({}, line.trim()));
  return runPaperTrading({ grids: config.grids, prices: () => pacedCandles(candles, speed, signal), logger, signal, ...(health === undefined ? {} : { health }) });
}

async function runDemo(context: ModeContext): Promise<GridReports> {
  const { config, logger, signal } = context;
  const exchange = await createExchange(config, undefined);
  logger.info({ exchange: config.exchange.id, url: config.exchange.url ?? 'default' }, 'demo mode: live prices from the exchange, orders matched by the paper exchange');
  const session = openSession(context, exchange, false);
  session.start();
  const unregister = context.health?.register('exchange', () => session.health());
  try {
    return await runPaperTrading({ grids: config.grids, prices: (grid) => tickCandles(session, grid.symbol, signal), logger, signal, ...(context.health === undefined ? {} : { health: context.health }) });
  } finally {
    unregister?.();
    await session.stop();
  }
}

/** Live mode, or demo mode on the exchange's sandbox: real orders through ccxt. */
async function runOnExchange(context: ModeContext): Promise<GridReports> {
  const { config, logger, signal, env } = context;
  const credentials = exchangeCredentials(env);
  const where = config.mode === 'live' ? 'live mode' : "demo mode on the exchange's sandbox";
  if (credentials === undefined) {
    throw new ConfigError(`${where} needs the account's API keys: set EXCHANGE_API_KEY and EXCHANGE_API_SECRET (or EXCHANGE_API_KEY_FILE and EXCHANGE_API_SECRET_FILE)`);
  }
  if (config.mode === 'live' && !config.confirmLiveTrading) {
    throw new ConfigError('live mode places real orders with real funds: confirm it with CONFIRM_LIVE_TRADING=yes (or confirmLiveTrading: true in the config file)');
  }
  const exchange = await createExchange(config, credentials);
  if (config.mode === 'live') {
    const banner = `LIVE TRADING on ${config.exchange.id}${config.exchange.url ? ` at ${config.exchange.url}` : ''}: REAL ORDERS WITH REAL FUNDS`;
    logger.warn({ exchange: config.exchange.id, url: config.exchange.url ?? 'default', grids: config.grids.map((grid) => grid.id) }, `${'!'.repeat(12)} ${banner} ${'!'.repeat(12)}`);
  } else {
    logger.info({ exchange: config.exchange.id }, "demo mode on the exchange's sandbox: test orders through the live code path");
  }
  // The markets are asked for while the database opens (a recovery's start-up time is the sum of such waits).
  const early = new Map(config.grids.map((grid) => [grid.symbol, exchange.loadMarket(grid.symbol)]));
  for (const pending of early.values()) pending.catch(() => undefined); // asked again, and reported, by runLiveTrading
  const opened = await openStoreUnlessStopped(config, logger, signal);
  if (opened === undefined) {
    logger.info({ grids: config.grids.map((grid) => grid.id) }, 'stopped while the database was opening: nothing was placed');
    return new Map();
  }
  const { store, database } = opened;
  try {
    for (const grid of config.grids) await store.registerGrid(grid);
    return await runLiveTrading({
      grids: config.grids,
      // The early answer once; a retry asks again.
      loadMarket: (symbol) => {
        const answer = early.get(symbol) ?? exchange.loadMarket(symbol);
        early.delete(symbol);
        return answer;
      },
      openSession: () => openSession(context, exchange, true),
      store,
      pingStore: () => database.sql`select 1`,
      logger,
      signal,
      ...(context.health === undefined ? {} : { health: context.health }),
      ...context.supervision,
      submitTimeoutMs: config.exchange.timeoutMs + 5_000,
      cancelOrdersOnStop: config.shutdown.cancelOrders,
    });
  } finally {
    await database.close();
  }
}

/**
 * The store, or undefined if the signal comes first: a stop does not wait for the database to
 * open. Nothing has been placed yet, and a first start's initdb (~4.5 s, far more on a busy
 * machine; it would outlast the shutdown's 7.5 s cut-off) runs in a scratch directory that the
 * next start throws away and begins anew. A store opened after all is closed.
 */
async function openStoreUnlessStopped(config: ServiceConfig, logger: Logger, signal: AbortSignal): Promise<OpenedStore | undefined> {
  if (signal.aborted) return undefined;
  const opening = openStore(config.database, logger);
  const opened = await Promise.race([opening, whenAborted(signal).then(() => undefined)]);
  if (opened === undefined) void opening.then(({ database }) => database.close()).catch(() => undefined);
  return opened;
}

function createExchange(config: ServiceConfig, credentials: ExchangeCredentials | undefined): Promise<CcxtExchange> {
  const { id, url, sandbox, timeoutMs } = config.exchange;
  return CcxtExchange.create({
    exchangeId: id,
    timeoutMs,
    sandbox,
    ...(url === undefined ? {} : { exchangeUrl: url }),
    ...(credentials === undefined ? {} : { apiKey: credentials.apiKey, secret: credentials.secret }),
  });
}

/** A new exchange session over every grid's symbol, not started: own orders and fills with `own` (live), prices only without (demo). */
function openSession(context: ModeContext, exchange: CcxtExchange, own: boolean): ExchangeSession {
  const { config, logger } = context;
  const { staleAfterMs, pollIntervalMs, reconcileIntervalMs, timeoutMs, streams } = config.exchange;
  return new ExchangeSession({
    exchange,
    symbols: [...new Set(config.grids.map((grid) => grid.symbol))],
    own,
    since: Date.now(),
    logger,
    seed: randomInt(2 ** 31),
    staleAfterMs,
    pollIntervalMs,
    reconcileIntervalMs,
    streams,
    connectTimeoutMs: Math.max(timeoutMs, 5_000),
  });
}
