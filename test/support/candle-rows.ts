// Hand-written candles for tests: rows of (open, high, low, close), one minute apart.
// Builds the typed arrays itself, so the independent reference's tests can use it too.
import type { CandleSeries } from '../../src/adapters/feed/candles.js';

export type CandleRow = readonly [open: number, high: number, low: number, close: number];

export function candlesFromRows(rows: readonly CandleRow[], startTime = Date.UTC(2025, 0, 1)): CandleSeries {
  const n = rows.length;
  const series = {
    length: n,
    time: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  rows.forEach(([open, high, low, close], i) => {
    series.time[i] = startTime + i * 60_000;
    series.open[i] = open;
    series.high[i] = high;
    series.low[i] = low;
    series.close[i] = close;
    series.volume[i] = 1;
  });
  return series;
}

/** A candle that does not move. */
export const flat = (price: number): CandleRow => [price, price, price, price];
