// Candles are held column-wise in typed arrays: a year of 1-minute candles is 525,600 rows,
// and five Float64Arrays of that length cost ~21 MB and no per-row object.

export interface CandleSeries {
  readonly length: number;
  /** Candle open time, UTC milliseconds. */
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

export function allocateCandles(length: number): CandleSeries {
  return {
    length,
    time: new Float64Array(length),
    open: new Float64Array(length),
    high: new Float64Array(length),
    low: new Float64Array(length),
    close: new Float64Array(length),
    volume: new Float64Array(length),
  };
}

/** The first `length` rows of a series, sharing its memory. */
export function sliceCandles(series: CandleSeries, start: number, end = series.length): CandleSeries {
  return {
    length: end - start,
    time: series.time.subarray(start, end),
    open: series.open.subarray(start, end),
    high: series.high.subarray(start, end),
    low: series.low.subarray(start, end),
    close: series.close.subarray(start, end),
    volume: series.volume.subarray(start, end),
  };
}
