// Where a command's candles come from: a file (--data), or generated 1-minute candles starting
// in the middle of the grid's range, so a command runs with nothing but a config.
import { readCandleFile } from '../../adapters/feed/candle-csv.js';
import { generateCandles } from '../../adapters/feed/candle-generator.js';
import type { CandleSeries } from '../../adapters/feed/candles.js';
import type { GridConfig } from '../../config/grid-config.js';

export interface CandleSource {
  readonly data?: string | undefined;
  readonly count: number;
  readonly seed: number;
}

export function loadCandles(grid: GridConfig, source: CandleSource, log: (line: string) => void): CandleSeries {
  if (source.data !== undefined) return readCandleFile(source.data);
  const startPrice = (grid.lower + grid.upper) / 2;
  log(`no candle file: using ${source.count} generated 1-minute candles from ${startPrice} (seed ${source.seed})\n`);
  return generateCandles({ count: source.count, startPrice, seed: source.seed, priceStep: grid.market.priceStep });
}
