// runBacktest (src/actors/backtest/backtest.ts) on hand-made candles: every number of the report worked
// out by hand in the comments from ../shared/spec/grid-semantics.md. The independent reference
// (test/reference/grid-reference.ts) must give the same report, so a slip in the hand
// arithmetic shows up as a disagreement of both with it.
import { describe, expect, test } from 'vitest';
import { runBacktest, type BacktestReport } from '../../src/actors/backtest/backtest.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { referenceBacktest, type ReferenceGridConfig } from '../reference/grid-reference.js';
import { candlesFromRows as series, flat, type CandleRow as Row } from '../support/candle-rows.js';

/** Levels 100, 125, 150, 175, 200; q = 1; no fees unless a test sets them. */
const GRID5 = {
  symbol: 'BTC/USDT',
  lower: 100,
  upper: 200,
  levels: 5,
  quantityPerLevel: 1,
  fees: { maker: 0, taker: 0 },
} satisfies ReferenceGridConfig;
const LEVELS5 = [100, 125, 150, 175, 200];

/** Numbers compared to 1e-9 (fees make them inexact in binary), everything else exactly. */
function approx(report: BacktestReport): unknown {
  const walk = (x: unknown): unknown => {
    if (typeof x === 'number') return expect.closeTo(x, 9);
    if (Array.isArray(x)) return x.map(walk);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  return walk(report);
}

async function backtest(raw: ReferenceGridConfig, rows: readonly Row[], expected: BacktestReport): Promise<void> {
  const candles = series(rows);
  const report = await runBacktest(parseGridConfig(raw), candles);
  expect(report).toEqual(approx(expected));
  expect(report.levels).toEqual(expected.levels);
  expect(referenceBacktest(raw, candles)).toEqual(approx(expected));
}

describe('runBacktest on hand-made candles', () => {
  test('a round trip with maker and taker fees, and the drawdown on the way', async () => {
    // P0 = 150: empty level 2 (150); buys at 100, 125; sells at 175, 200; q = 1; maker 0.001, taker 0.002.
    // Default quote: market buy 2*150*1.002 = 300.6, plus the buys' locks (100 + 125)*1.001 = 225.225: 525.825.
    // Start: buy 2 at 150 for 300 + fee 0.6 -> quote 225.225, base 2. Equity at 150: 525.225 (the first peak).
    // Candle 1 (C < O: 150 -> 150 -> 120 -> 130): the buy at 125 fills for 125 + fee 0.125 -> quote 100.1, base 3;
    //   its counter sell goes to 150. Close 130: equity 100.1 + 390 = 490.1, drawdown 35.125 / 525.225.
    // Candle 2 (C >= O: 130 -> 130 -> 160 -> 155): the sell at 150 fills for 150 - fee 0.15 -> quote 249.95, base 2;
    //   a round trip of 1 * (150 - 125) = 25; its counter buy goes to 125. 175 is not reached.
    //   Close 155: equity 249.95 + 310 = 559.95 (a new peak).
    // Fees 0.6 + 0.125 + 0.15 = 0.875. Open: buys 100, 125; sells 175, 200.
    await backtest(
      { ...GRID5, fees: { maker: 0.001, taker: 0.002 } },
      [
        [150, 150, 120, 130],
        [130, 160, 130, 155],
      ],
      {
        candles: 2,
        startPrice: 150,
        lastPrice: 155,
        quantityPerLevel: 1,
        levels: LEVELS5,
        fills: { buy: 1, sell: 1 },
        roundTrips: 1,
        gridProfit: 25,
        fees: 0.875,
        skippedOrders: 0,
        initial: { base: 0, quote: 525.825, equity: 525.825 },
        final: { base: 2, quote: 249.95, equity: 559.95 },
        openOrders: { buy: 2, sell: 2 },
        stopped: null,
        maxDrawdown: 35.125 / 525.225,
      },
    );
  });

  test('stop-loss exactly on a buy level: the buy fills first, then everything is cancelled and sold at the trigger', async () => {
    // stopLoss 125 = L1, which holds a buy. maker 0, taker 0.002.
    // Default quote: 2*150*1.002 + 100 + 125 = 525.6. Start: buy 2 at 150 for 300 + fee 0.6 -> quote 225, base 2.
    //   Equity at 150: 525.
    // Candle 1 (C < O: 150 -> 150 -> 95 -> 115): falling to 95 crosses 125. At 125 the buy fills first
    //   (quote 100, base 3, counter sell placed at 150), then the stop fires: the buy at 100 and the sells at 150,
    //   175, 200 are cancelled and 3 base are sold at 125: 375 - taker fee 0.75 -> quote 474.25, base 0.
    //   The low 95 is below the buy at 100, but that buy was cancelled: it does not fill.
    //   Close 115: equity 474.25, drawdown 50.75 / 525.
    // Candle 2 (C >= O: 115 -> 100 -> 200 -> 190) would fill buys and sells, but nothing fills after a stop.
    // Fees 0.6 + 0.75 = 1.35; fills count the limit buy only (market orders are not counted).
    await backtest(
      { ...GRID5, fees: { maker: 0, taker: 0.002 }, stopLoss: 125 },
      [
        [150, 150, 95, 115],
        [115, 200, 100, 190],
      ],
      {
        candles: 2,
        startPrice: 150,
        lastPrice: 190,
        quantityPerLevel: 1,
        levels: LEVELS5,
        fills: { buy: 1, sell: 0 },
        roundTrips: 0,
        gridProfit: 0,
        fees: 1.35,
        skippedOrders: 0,
        initial: { base: 0, quote: 525.6, equity: 525.6 },
        final: { base: 0, quote: 474.25, equity: 474.25 },
        openOrders: { buy: 0, sell: 0 },
        stopped: 'stopLoss',
        maxDrawdown: 50.75 / 525,
      },
    );
  });

  test('take-profit between two levels: the sell below it fills, the base is sold at the trigger', async () => {
    // takeProfit 190; no fees. Default quote 2*150 + 100 + 125 = 525. Start: quote 225, base 2; equity 525.
    // Candle 1 (C >= O: 150 -> 148 -> 195 -> 192): 150 -> 148 reaches no buy (125). 148 -> 195 crosses 190:
    //   on the way the sell at 175 fills (placed at start: not a round trip) -> quote 400, base 1, counter buy at 150;
    //   at 190 the stop fires: buys 100, 125, 150 and the sell at 200 are cancelled, 1 base sold at 190 -> quote 590.
    //   195 -> 192: nothing. Close 192: equity 590. Equity only rose: no drawdown.
    await backtest({ ...GRID5, takeProfit: 190 }, [[150, 195, 148, 192]], {
      candles: 1,
      startPrice: 150,
      lastPrice: 192,
      quantityPerLevel: 1,
      levels: LEVELS5,
      fills: { buy: 0, sell: 1 },
      roundTrips: 0,
      gridProfit: 0,
      fees: 0,
      skippedOrders: 0,
      initial: { base: 0, quote: 525, equity: 525 },
      final: { base: 0, quote: 590, equity: 590 },
      openOrders: { buy: 0, sell: 0 },
      stopped: 'takeProfit',
      maxDrawdown: 0,
    });
  });

  test('gaps between candles fill every level they cross, and the counter-orders close round trips on the way back', async () => {
    // No fees. Start at 150: quote 225, base 2; equity 525.
    // Candle 1 flat at 150: nothing. Equity 525.
    // Candle 2 opens at 95: the join 150 -> 95 fills the buy at 125 (quote 100, base 3, sell placed at 150) and the
    //   buy at 100 (quote 0, base 4, sell placed at 125). Then (C >= O) 95 -> 90 -> 105 -> 100: 105 < 125, nothing.
    //   Close 100: equity 400, drawdown 125 / 525. Open: sells 125, 150, 175, 200.
    // Candle 3 opens at 160 (flat): the join 100 -> 160 fills the sell at 125 (counter of the buy at 100: a round trip
    //   of 25; quote 125, base 3, buy placed at 100) and the sell at 150 (counter of the buy at 125: 25 more;
    //   quote 275, base 2, buy placed at 125). Close 160: equity 275 + 320 = 595.
    await backtest(GRID5, [flat(150), [95, 105, 90, 100], flat(160)], {
      candles: 3,
      startPrice: 150,
      lastPrice: 160,
      quantityPerLevel: 1,
      levels: LEVELS5,
      fills: { buy: 2, sell: 2 },
      roundTrips: 2,
      gridProfit: 50,
      fees: 0,
      skippedOrders: 0,
      initial: { base: 0, quote: 525, equity: 525 },
      final: { base: 2, quote: 275, equity: 595 },
      openOrders: { buy: 2, sell: 2 },
      stopped: null,
      maxDrawdown: 125 / 525,
    });
  });

  test('a short wallet: the far buy is skipped at the start and its level stays empty', async () => {
    // No fees; balance.quote 430 (the default would be 525). Start: buy 2 at 150 -> quote 130, base 2.
    // Placement, sells first then buys, nearest first: sells 175, 200 (2 base); buy 125 locks 125 (5 free);
    //   buy 100 needs 100 > 5: skipped (1). Equity 430.
    // Candle 1 (C < O: 150 -> 150 -> 95 -> 100): the buy at 125 fills (quote 5, base 3, sell placed at 150: 1 base
    //   free, enough). Level 100 holds nothing: 95 fills no more. Close 100: equity 305, drawdown 125 / 430.
    // Candle 2 (C >= O: 100 -> 100 -> 180 -> 170): the sell at 150 fills (round trip 25; quote 155, base 2), its
    //   counter buy at 125 locks 125 of 155; the sell at 175 fills (quote 330, base 1), its counter buy at 150 locks
    //   150 of the 205 free. 200 is not reached; 180 -> 170 reaches no buy. Close 170: equity 330 + 170 = 500.
    // Open: buys 125, 150; sell 200.
    await backtest(
      { ...GRID5, balance: { quote: 430 } },
      [
        [150, 150, 95, 100],
        [100, 180, 100, 170],
      ],
      {
        candles: 2,
        startPrice: 150,
        lastPrice: 170,
        quantityPerLevel: 1,
        levels: LEVELS5,
        fills: { buy: 1, sell: 2 },
        roundTrips: 1,
        gridProfit: 25,
        fees: 0,
        skippedOrders: 1,
        initial: { base: 0, quote: 430, equity: 430 },
        final: { base: 1, quote: 330, equity: 500 },
        openOrders: { buy: 2, sell: 1 },
        stopped: null,
        maxDrawdown: 125 / 430,
      },
    );
  });

  test('a counter buy the sale cannot pay for (maker fee above the grid step) is skipped', async () => {
    // Levels 100, 101, 102; q = 1; maker 0.01, taker 0. P0 = 101: empty level 1; buy at 100, sell at 102.
    // Default quote: 1*101 (market buy) + 100*1.01 (buy lock) = 202. Start: quote 101 (all locked by the buy), base 1.
    //   Equity at 101: 202.
    // Candle 1 (C >= O: 101 -> 101 -> 102 -> 102): the sell at 102 fills: 102 - maker fee 1.02 -> quote 201.98, base 0.
    //   Its counter buy at 101 would lock 101*1.01 = 102.01, but only 201.98 - 101 = 100.98 is free: skipped.
    //   Levels 101 and 102 are both empty now. Close 102: equity 201.98, drawdown 0.02 / 202.
    await backtest(
      { symbol: 'BTC/USDT', lower: 100, upper: 102, levels: 3, quantityPerLevel: 1, fees: { maker: 0.01, taker: 0 } },
      [[101, 102, 101, 102]],
      {
        candles: 1,
        startPrice: 101,
        lastPrice: 102,
        quantityPerLevel: 1,
        levels: [100, 101, 102],
        fills: { buy: 0, sell: 1 },
        roundTrips: 0,
        gridProfit: 0,
        fees: 1.02,
        skippedOrders: 1,
        initial: { base: 0, quote: 202, equity: 202 },
        final: { base: 0, quote: 201.98, equity: 201.98 },
        openOrders: { buy: 1, sell: 0 },
        stopped: null,
        maxDrawdown: 0.02 / 202,
      },
    );
  });
});
