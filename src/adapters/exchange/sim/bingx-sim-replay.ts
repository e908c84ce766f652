// Candle replay for the BingX simulator: walks each candle's path (docs/grid-rules.md, "The
// backtest's candle walk": O -> L -> H -> C when C >= O, else O -> H -> L -> C; consecutive
// candles joined close -> open) with the simulator's step(), at `speed` candles per second of
// wall time.
//
// Timer-driven and catch-up based: candle k (0-based) is walked once (k + 1) / speed seconds have
// passed since the start, so late timers never slow the replay down; at most MAX_PER_TICK candles
// are walked per timer callback so the HTTP server keeps answering at any speed.
import type { CandleSeries } from '../../feed/candles.js';

export interface SimReplayOptions {
  readonly candles: CandleSeries;
  /** Candles per second (> 0). */
  readonly speed: number;
}

/** Where a replay is. */
export interface ReplayPosition {
  /** Candles walked so far (0 before the first; `candles` when done). */
  readonly position: number;
  readonly candles: number;
  /** Open time (UTC ms) of the last candle walked, or null before the first. */
  readonly time: number | null;
  readonly done: boolean;
}

export interface ReplayRun {
  position(): ReplayPosition;
  /** Resolves once every candle is walked, or the replay is stopped. */
  readonly finished: Promise<void>;
  stop(): void;
}

const MAX_PER_TICK = 1000;

/** The price points of candle `i`'s path, open first. */
export function candlePath(candles: CandleSeries, i: number): [number, number, number, number] {
  const open = candles.open[i]!;
  const high = candles.high[i]!;
  const low = candles.low[i]!;
  const close = candles.close[i]!;
  return close >= open ? [open, low, high, close] : [open, high, low, close];
}

/**
 * Starts walking `replay.candles` with `step` (which walks the price to a target, filling on the
 * way). The caller has already put the price at the first candle's open.
 */
export function startReplay(replay: SimReplayOptions, step: (target: number) => void, now: () => number = () => performance.now()): ReplayRun {
  const { candles, speed } = replay;
  if (!(Number.isFinite(speed) && speed > 0)) throw new RangeError(`replay speed must be a positive number of candles per second, got ${speed}`);
  const started = now();
  let position = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));

  const walk = (i: number): void => {
    for (const point of candlePath(candles, i)) step(point);
  };

  const tick = (): void => {
    timer = undefined;
    if (stopped) return;
    const elapsed = now() - started;
    const due = Math.min(candles.length, Math.floor((elapsed * speed) / 1000), position + MAX_PER_TICK);
    while (position < due) walk(position++);
    if (position >= candles.length) {
      resolveFinished();
      return;
    }
    // The next candle is due at (position + 1) / speed s; if already late (or capped), at once.
    timer = setTimeout(tick, Math.max(0, ((position + 1) * 1000) / speed - (now() - started)));
  };

  if (candles.length === 0) resolveFinished();
  else timer = setTimeout(tick, 1000 / speed);

  return {
    position: () => ({ position, candles: candles.length, time: position === 0 ? null : candles.time[position - 1]!, done: position >= candles.length }),
    finished,
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      resolveFinished();
    },
  };
}
