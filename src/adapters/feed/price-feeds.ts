// The prices the paper exchange walks in paper and demo mode, as async streams of price targets:
// paper mode walks a candle file (or generated candles) against the wall clock, each candle along
// the backtest's path (open, then low and high in the order the candle's direction says, then
// close); demo mode walks the exchange's live ticks. Both end when the signal fires (SIGTERM).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tick } from '../exchange/port.js';
import type { CandleSeries } from './candles.js';

/** A price the walk moves to. */
export interface PriceTarget {
  /** The symbol it is a price of; absent: every symbol (a candle file drives every grid). */
  readonly symbol?: string;
  readonly price: number;
  /** When it was the price: the candle's time (paper), the tick's (demo). */
  readonly time: number;
  /** Paper mode: the candle at `time` is walked once this target is reached (the replay resumes after it). */
  readonly candleEnd?: boolean;
}

/**
 * `candles` at `speed` candles per second, each as its path O -> L -> H -> C (closing up or flat)
 * or O -> H -> L -> C (closing down); candles at or before `after` are skipped (a resumed replay).
 */
export async function* candleTargets(candles: CandleSeries, speed: number, after: number | undefined, signal: AbortSignal): AsyncGenerator<PriceTarget> {
  const intervalMs = 1000 / speed;
  const started = performance.now();
  let walked = 0;
  for (let i = 0; i < candles.length && !signal.aborted; i++) {
    const time = candles.time[i]!;
    if (after !== undefined && time <= after) continue;
    // Keep the pace against the wall clock, so slow candles do not make the feed drift.
    const wait = started + walked * intervalMs - performance.now();
    walked++;
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    const open = candles.open[i]!;
    const close = candles.close[i]!;
    const [first, second] = close >= open ? [candles.low[i]!, candles.high[i]!] : [candles.high[i]!, candles.low[i]!];
    yield { price: open, time };
    yield { price: first, time };
    yield { price: second, time };
    yield { price: close, time, candleEnd: true };
  }
}

/** Anything that tells of ticks (the exchange session). */
export interface TickSource {
  onTick(listener: (tick: Tick) => void): () => void;
}

/** Every tick of `source`, in the order they came; a walk that falls behind skips to each symbol's latest tick. */
export async function* tickTargets(source: TickSource, signal: AbortSignal): AsyncGenerator<PriceTarget> {
  const latest = new Map<string, Tick>();
  let wake: (() => void) | undefined;
  const unsubscribe = source.onTick((tick) => {
    latest.delete(tick.symbol); // re-inserted last: symbols are walked in the order their ticks came
    latest.set(tick.symbol, tick);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      const next = latest.entries().next();
      if (next.done) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const [symbol, tick] = next.value;
      latest.delete(symbol);
      yield { symbol, price: tick.price, time: tick.timestamp };
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}
