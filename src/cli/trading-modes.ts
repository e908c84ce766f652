// The three trading modes of `btcbot run`, on one runtime: the supervision tree of
// src/actors/trading/live-trading.ts, its store (write-ahead, recovery, shutdown) and its grid
// services are the same in every mode; only the exchange session differs:
// - paper: the paper exchange (src/actors/exchange/paper-session.ts), its account kept in the
//          store, walking a candle file or generated candles; a restart resumes the replay at the
//          candle where it stopped, and the run ends when the candles do;
// - demo:  the same paper exchange walking the exchange's live prices (public ticker stream, no
//          keys); with exchange.sandbox, real test orders on the exchange's sandbox (e.g. Binance
//          spot testnet) through ccxt instead;
// - live:  real orders through ccxt; refuses to start without API keys and without the explicit
//          confirmation, and logs a loud banner first.
// The store is Postgres (DATABASE_URL), else the embedded PGlite in database.dataDir, in every
// mode: stage (demo) keeps its paper account and its grid across restarts and image updates.
// Every mode runs until the abort signal and returns one report per grid.
import { randomInt } from 'node:crypto';
import { configuredMarket } from '../actors/backtest/backtest.js';
import { ExchangeSession } from '../actors/exchange/exchange-session.js';
import { PaperSession, type AccountHandoff } from '../actors/exchange/paper-session.js';
import { runLiveTrading, type LiveGridReport, type LiveTradingOptions, type SupervisedSession } from '../actors/trading/live-trading.js';
import { CcxtExchange } from '../adapters/exchange/ccxt-exchange.js';
import type { MarketInfo, StreamingExchange } from '../adapters/exchange/port.js';
import { RecentRequests, timedRequests } from '../adapters/exchange/timed-requests.js';
import type { ExchangeApiHealth } from '../domain/health.js';
import { candleTargets, tickTargets } from '../adapters/feed/price-feeds.js';
import { openStore, type OpenedStore } from '../adapters/store/open-store.js';
import { moduleLogger, type Logger } from '../adapters/telemetry/logger.js';
import type { HealthBoard } from '../actors/supervision/health.js';
import { whenAborted } from '../actors/supervision/when-aborted.js';
import { ConfigError } from '../config/config-error.js';
import { exchangeCredentials, type ExchangeCredentials } from '../config/exchange-credentials.js';
import type { ServiceConfig } from '../config/service-config.js';
import type { Notifier } from '../domain/notifications.js';
import { loadCandles } from './shared/candle-source.js';

export type GridReports = Map<string, LiveGridReport>;

interface ModeContext {
  readonly config: ServiceConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** Where the actors report their health (/health). */
  readonly health?: HealthBoard;
  /** Told of every supervised restart and give-up (metrics, traces). */
  readonly supervision?: Pick<LiveTradingOptions, 'onRestart' | 'onGiveUp' | 'trackSupervisor' | 'observe' | 'onControl'>;
  /** Telegram, Discord, a webhook: fills, triggers, ERROR, give-ups, database outages. */
  readonly notifier?: Notifier;
}

/** What differs between the modes: where the markets come from and which session the tree runs. */
interface ModeExchange {
  readonly loadMarket: (symbol: string) => Promise<MarketInfo>;
  readonly openSession: (store: OpenedStore['store']) => SupervisedSession;
  /** Told of each grid runtime once it trades. */
  readonly onStarted?: LiveTradingOptions['onStarted'];
  /** Aborted when the mode ends by itself (a paper replay's last candle). */
  readonly ended?: AbortSignal;
  /** /health's exchange_api component: the recent REST calls, or disabled (paper mode has no exchange). */
  readonly exchangeApi: LiveTradingOptions['exchangeApi'];
  /** Paper mode has no exchange stream. */
  readonly websocket?: 'disabled';
}

export async function runTradingMode(context: ModeContext): Promise<GridReports> {
  const { config } = context;
  if (config.mode === 'paper') return runSupervised(context, paperExchange(context));
  if (config.mode === 'demo' && !config.exchange.sandbox) return runSupervised(context, await demoExchange(context));
  return runSupervised(context, await realExchange(context));
}

/** Paper mode: the paper exchange walks the candles at feed.speed, holding after the first price until every grid trades. */
function paperExchange({ config, logger }: ModeContext): ModeExchange {
  const { data, candles: count, seed, speed } = config.feed;
  const candles = loadCandles(config.grids[0]!, { data, count, seed }, (line) => logger.info({}, line.trim()));
  const markets = new Map(config.grids.map((grid) => [grid.symbol, configuredMarket(grid)]));
  const handoff: AccountHandoff = { previous: Promise.resolve() };
  const ended = new AbortController();
  // The replay holds after its first price until the grids trade (a start or a recovery takes
  // seconds: at speed, candles would pass by unwatched); a new session waits for the new grids.
  let trading = new Set<string>();
  let allTrading = (): void => undefined;
  return {
    loadMarket: async (symbol) => markets.get(symbol)!,
    openSession: (store) => {
      trading = new Set();
      const gridsTrade = new Promise<void>((resolve) => (allTrading = resolve));
      return new PaperSession({
        grids: config.grids,
        store,
        market: async (symbol) => markets.get(symbol)!,
        prices: (after, signal) => candleTargets(candles, speed, after, signal),
        holdAfterFirstPrice: () => gridsTrade,
        handoff,
        // The last candle walked: the run ends once the grids trade (a resumed replay with nothing left still recovers and reports them).
        onPricesEnded: () => void gridsTrade.then(() => ended.abort()),
        logger,
      });
    },
    onStarted: (grid) => {
      trading.add(grid.id);
      if (trading.size === config.grids.length) allTrading();
    },
    ended: ended.signal,
    exchangeApi: 'disabled',
    websocket: 'disabled',
  };
}

/** Demo mode: the paper exchange walks the exchange's live prices (no keys); the markets are the exchange's. */
async function demoExchange(context: ModeContext): Promise<ModeExchange> {
  const { config, logger } = context;
  const { exchange, exchangeApi } = await timedExchange(context, undefined);
  moduleLogger(logger, 'exchange').info({ exchange: config.exchange.id, url: config.exchange.url ?? 'default' }, 'demo mode: live prices from the exchange, orders matched by the paper exchange (its account kept in the database)');
  const markets = new Map<string, Promise<MarketInfo>>();
  const market = (symbol: string): Promise<MarketInfo> => {
    const known = markets.get(symbol);
    if (known !== undefined) return known;
    const asked = exchange.loadMarket(symbol);
    markets.set(symbol, asked);
    asked.catch(() => markets.delete(symbol)); // asked again at the next call
    return asked;
  };
  const handoff: AccountHandoff = { previous: Promise.resolve() };
  return {
    loadMarket: market,
    openSession: (store) => {
      const ticker = openExchangeSession(context, exchange, false);
      return new PaperSession({ grids: config.grids, store, market, prices: (_after, signal) => tickTargets(ticker, signal), ticker, handoff, logger });
    },
    exchangeApi,
  };
}

/** Live mode, or demo mode on the exchange's sandbox: real orders through ccxt. */
async function realExchange(context: ModeContext): Promise<ModeExchange> {
  const { config, logger, env } = context;
  const credentials = exchangeCredentials(env);
  const where = config.mode === 'live' ? 'live mode' : "demo mode on the exchange's sandbox";
  if (credentials === undefined) {
    throw new ConfigError(`${where} needs the account's API keys: set EXCHANGE_API_KEY and EXCHANGE_API_SECRET (or EXCHANGE_API_KEY_FILE and EXCHANGE_API_SECRET_FILE)`);
  }
  if (config.mode === 'live' && !config.confirmLiveTrading) {
    throw new ConfigError('live mode places real orders with real funds: confirm it with CONFIRM_LIVE_TRADING=yes (or confirmLiveTrading: true in the config file)');
  }
  const { exchange, exchangeApi } = await timedExchange(context, credentials);
  if (config.mode === 'live') {
    const banner = `LIVE TRADING on ${config.exchange.id}${config.exchange.url ? ` at ${config.exchange.url}` : ''}: REAL ORDERS WITH REAL FUNDS`;
    moduleLogger(logger, 'exchange').warn({ exchange: config.exchange.id, url: config.exchange.url ?? 'default', grids: config.grids.map((grid) => grid.id) }, `${'!'.repeat(12)} ${banner} ${'!'.repeat(12)}`);
  } else {
    moduleLogger(logger, 'exchange').info({ exchange: config.exchange.id }, "demo mode on the exchange's sandbox: test orders through the live code path");
  }
  // The markets are asked for while the database opens (a recovery's start-up time is the sum of such waits).
  const early = new Map(config.grids.map((grid) => [grid.symbol, exchange.loadMarket(grid.symbol)]));
  for (const pending of early.values()) pending.catch(() => undefined); // asked again, and reported, by runLiveTrading
  return {
    // The early answer once; a retry asks again.
    loadMarket: (symbol) => {
      const answer = early.get(symbol) ?? exchange.loadMarket(symbol);
      early.delete(symbol);
      return answer;
    },
    openSession: () => openExchangeSession(context, exchange, true),
    exchangeApi,
  };
}

/** The one runtime of every mode: the store, then the supervision tree with the mode's session. */
async function runSupervised(context: ModeContext, mode: ModeExchange): Promise<GridReports> {
  const { config, logger } = context;
  const signal = mode.ended === undefined ? context.signal : AbortSignal.any([context.signal, mode.ended]);
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
      loadMarket: mode.loadMarket,
      openSession: () => mode.openSession(store),
      store,
      pingStore: () => database.sql`select 1`,
      logger,
      signal,
      ...(context.health === undefined ? {} : { health: context.health }),
      ...context.supervision,
      ...(mode.onStarted === undefined ? {} : { onStarted: mode.onStarted }),
      ...(mode.exchangeApi === undefined ? {} : { exchangeApi: mode.exchangeApi }),
      ...(mode.websocket === undefined ? {} : { websocket: mode.websocket }),
      ...(context.notifier === undefined ? {} : { notifier: context.notifier }),
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

/** The ccxt exchange with every REST call timed: /health's exchange_api component and btcbot_api_latency_seconds. */
async function timedExchange(context: ModeContext, credentials: ExchangeCredentials | undefined): Promise<{ exchange: StreamingExchange; exchangeApi: () => ExchangeApiHealth }> {
  const requests = new RecentRequests();
  const observeRequest = context.supervision?.observe?.observeRequest;
  const exchange = timedRequests(await createExchange(context.config, credentials), requests.observe, ...(observeRequest === undefined ? [] : [observeRequest]));
  return { exchange, exchangeApi: () => requests.health() };
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
function openExchangeSession(context: ModeContext, exchange: StreamingExchange, own: boolean): ExchangeSession {
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
