// Paper trading: every configured grid trades on its own paper exchange, against one price
// feed walked in real time (`speed` candles per second), until the abort signal (SIGTERM /
// SIGINT) stops it. Same machines, actors and matching as a backtest; only the pace differs.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CandleSeries } from '../adapters/feed/candles.js';
import { sliceCandles } from '../adapters/feed/candles.js';
import type { Logger } from '../adapters/telemetry/logger.js';
import type { GridConfig } from '../config/grid-config.js';
import { BacktestSession, type BacktestReport } from './backtest.js';

export interface PaperTradingOptions {
  readonly grids: readonly GridConfig[];
  readonly candles: CandleSeries;
  /** Candles per second. */
  readonly speed: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Runs until the feed ends or `signal` aborts; returns each grid's report at that point. */
export async function runPaperTrading(options: PaperTradingOptions): Promise<Map<string, BacktestReport>> {
  const { grids, candles, speed, logger, signal } = options;
  const sessions = new Map<string, BacktestSession>();
  try {
    for (const grid of grids) {
      sessions.set(grid.id, await BacktestSession.start(grid, candles.open[0]!, candles.time[0]!, { logger }));
      logger.info({ grid: grid.id, symbol: grid.symbol, price: candles.open[0] }, 'grid started on the paper exchange');
    }
    const intervalMs = 1000 / speed;
    const started = performance.now();
    for (let i = 0; i < candles.length && !signal.aborted; i++) {
      // Keep the pace against the wall clock, so slow candles do not make the feed drift.
      const wait = started + i * intervalMs - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      const candle = sliceCandles(candles, i, i + 1);
      for (const [id, session] of sessions) {
        const before = session.report();
        await session.feed(candle);
        const after = session.report();
        const filled = after.fills.buy + after.fills.sell - before.fills.buy - before.fills.sell;
        if (filled > 0) logger.info({ grid: id, price: candles.close[i], fills: after.fills, roundTrips: after.roundTrips }, `${filled} order(s) filled`);
        if (after.stopped !== null && before.stopped === null) logger.warn({ grid: id, stopped: after.stopped }, 'grid stopped by its trigger');
      }
    }
    if (!signal.aborted) logger.info({ candles: candles.length }, 'the price feed ended');
    return new Map([...sessions].map(([id, session]) => [id, session.report()]));
  } finally {
    // Orders stay resting on the exchange (here: in memory); actors are stopped cleanly.
    for (const session of sessions.values()) session.close();
  }
}
