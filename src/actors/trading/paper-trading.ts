// Paper trading: every configured grid trades on its own paper exchange against its price feed
// (a candle file walked in real time in paper mode, the exchange's live ticks in demo mode) until
// the feed ends or the abort signal (SIGTERM / SIGINT) stops it. Same machines, actors and
// matching as a backtest; only the source and pace of the prices differ.
import type { CandleSeries } from '../../adapters/feed/candles.js';
import type { Logger } from '../../adapters/telemetry/logger.js';
import type { GridConfig } from '../../config/grid-config.js';
import { BacktestSession, type BacktestReport } from '../backtest/backtest.js';
import { lifecycleState, type HealthBoard, type PartHealth } from '../supervision/health.js';

export interface PaperTradingOptions {
  readonly grids: readonly GridConfig[];
  /** Each grid's prices: one-candle series in time order; the first one's open is the start price. */
  readonly prices: (grid: GridConfig) => AsyncIterable<CandleSeries>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Where each grid reports its state (/health). */
  readonly health?: HealthBoard;
}

/** Runs until every feed ends or `signal` aborts; returns each started grid's report at that point. */
export async function runPaperTrading(options: PaperTradingOptions): Promise<Map<string, BacktestReport>> {
  const { grids, prices, logger, signal } = options;
  const sessions = new Map<string, BacktestSession>();
  const unregister = grids.map((grid) =>
    options.health?.register(`grid:${grid.id}`, (): PartHealth => {
      const session = sessions.get(grid.id);
      if (session === undefined) return { healthy: false, state: 'starting', reason: 'waiting for the first price' };
      const report = session.report();
      const state = lifecycleState(session.gridState);
      const detail = { openOrders: report.openOrders.buy + report.openOrders.sell, fills: report.fills.buy + report.fills.sell, roundTrips: report.roundTrips, lastPrice: report.lastPrice };
      return state === 'ERROR' ? { healthy: false, state, reason: 'the grid is in ERROR (see the logs)', detail } : { healthy: true, state, detail };
    }),
  );

  const tradeGrid = async (grid: GridConfig): Promise<void> => {
    let session: BacktestSession | undefined;
    for await (const candle of prices(grid)) {
      if (session === undefined) {
        session = await BacktestSession.start(grid, candle.open[0]!, candle.time[0]!, { logger });
        sessions.set(grid.id, session);
        logger.info({ grid: grid.id, symbol: grid.symbol, price: candle.open[0] }, 'grid started on the paper exchange');
      }
      const before = session.report();
      await session.feed(candle);
      const after = session.report();
      const filled = after.fills.buy + after.fills.sell - before.fills.buy - before.fills.sell;
      if (filled > 0) logger.info({ grid: grid.id, price: candle.close[0], fills: after.fills, roundTrips: after.roundTrips }, `${filled} order(s) filled`);
      if (after.stopped !== null && before.stopped === null) logger.warn({ grid: grid.id, stopped: after.stopped }, 'grid stopped by its trigger');
    }
    if (session === undefined) logger.warn({ grid: grid.id, symbol: grid.symbol }, 'no price arrived: the grid was not started');
    else if (!signal.aborted) logger.info({ grid: grid.id, candles: session.report().candles }, 'the price feed ended');
  };

  try {
    await Promise.all(grids.map(tradeGrid));
    return new Map([...sessions].map(([id, session]) => [id, session.report()]));
  } finally {
    // Orders stay resting on the exchange (here: in memory); actors are stopped cleanly.
    for (const session of sessions.values()) session.close();
    for (const remove of unregister) remove?.();
  }
}
