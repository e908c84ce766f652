// Price feeds of paper and demo trading: async streams of one-candle series, in time order, that
// a BacktestSession walks. Paper mode paces a candle file (or generated candles) against the wall
// clock; demo mode turns the exchange's live ticks into flat candles. Both end when the abort
// signal fires (SIGTERM), so a consumer's `for await` loop ends cleanly.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tick } from '../exchange/port.js';
import { allocateCandles, sliceCandles, type CandleSeries } from './candles.js';

/** `candles`, one at a time, at `speed` candles per second. */
export async function* pacedCandles(candles: CandleSeries, speed: number, signal: AbortSignal): AsyncGenerator<CandleSeries> {
  const intervalMs = 1000 / speed;
  const started = performance.now();
  for (let i = 0; i < candles.length && !signal.aborted; i++) {
    // Keep the pace against the wall clock, so slow candles do not make the feed drift.
    const wait = started + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    yield sliceCandles(candles, i, i + 1);
  }
}

/** Anything that tells of ticks (the exchange session). */
export interface TickSource {
  onTick(listener: (tick: Tick) => void): () => void;
}

/** Each tick of `symbol` as a flat candle (open = high = low = close = the price). */
export async function* tickCandles(source: TickSource, symbol: string, signal: AbortSignal): AsyncGenerator<CandleSeries> {
  const queue: Tick[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = source.onTick((tick) => {
    if (tick.symbol !== symbol) return;
    queue.push(tick);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      const tick = queue.shift();
      if (tick === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const candle = allocateCandles(1);
      candle.time[0] = tick.timestamp;
      candle.open[0] = candle.high[0] = candle.low[0] = candle.close[0] = tick.price;
      yield candle;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}
