// Hand-worked scenarios for the reference grid backtest (test/reference/grid-reference.ts),
// plus random paths checked against accounting identities and a naive re-simulation.
// Expected numbers are worked out by hand in the comments; spec: ../shared/spec/grid-semantics.md.

import { describe, expect, it } from 'vitest';
import {
  floorStep,
  nearestLevel,
  referenceBacktest,
  referenceLevels,
  roundToStep,
  stepDecimals,
  type ReferenceGridConfig,
  type ReferenceReport,
  type ReferenceSkip,
  type ReferenceTrade,
} from './grid-reference.js';
import { candlesFromRows, flat, type CandleRow as Row } from '../support/candle-rows.js';

const series = (rows: readonly Row[]) => candlesFromRows(rows, 1_700_000_000_000);

/** Levels 100, 125, 150, 175, 200; q = 1; no fees (so sums are exact by hand). */
const GRID5: ReferenceGridConfig = {
  symbol: 'BTC/USDT',
  lower: 100,
  upper: 200,
  levels: 5,
  quantityPerLevel: 1,
  fees: { maker: 0, taker: 0 },
};

function run(config: ReferenceGridConfig, rows: readonly Row[]) {
  const trades: ReferenceTrade[] = [];
  const skips: ReferenceSkip[] = [];
  const report = referenceBacktest(config, series(rows), {
    onTrade: (t) => trades.push(t),
    onSkip: (s) => skips.push(s),
  });
  return { report, trades, skips };
}

const close = (a: number, b: number, tol = 1e-9) => expect(a).toBeCloseTo(b, -Math.log10(tol));

describe('steps and rounding', () => {
  it('reads the decimals of a step written as a plain decimal', () => {
    expect(stepDecimals(0.01)).toBe(2);
    expect(stepDecimals(0.5)).toBe(1);
    expect(stepDecimals(5)).toBe(0);
    expect(stepDecimals(1e-8)).toBe(8);
    expect(stepDecimals(0.00001)).toBe(5);
    expect(stepDecimals(2.5e-7)).toBe(8);
  });

  it('rounds half away from zero, counting float noise near .5 as half', () => {
    // 1.005 / 0.01 = 100.49999999999999 in floats: within 1e-9 of .5, so k = 101
    expect(roundToStep(1.005, 0.01)).toBe(1.01);
    expect(roundToStep(1.015, 0.01)).toBe(1.02);
    expect(roundToStep(101.5, 1)).toBe(102);
    expect(roundToStep(-101.5, 1)).toBe(-102);
    expect(roundToStep(133.33333333, 5)).toBe(135); // 26.67 -> 27
    expect(roundToStep(166.66666667, 5)).toBe(165); // 33.33 -> 33
    expect(roundToStep(0.1 + 0.2, 0.1)).toBe(0.3);
  });

  it('floors to a step with 1e-9 of slack', () => {
    expect(floorStep(1.9028590457, 0.00001)).toBe(1.90285);
    expect(floorStep(1.9028590457, 0.001)).toBe(1.902);
    // 0.3 / 0.1 = 2.9999999999999996 in floats: the slack keeps it at 3 steps
    expect(floorStep(0.3, 0.1)).toBe(0.3);
    expect(floorStep(7, 5)).toBe(5);
  });
});

describe('levels', () => {
  it('arithmetic levels are rounded to priceStep', () => {
    // 100 + i*100/3 = 100, 133.333.., 166.666.., 200 -> 133.33, 166.67
    expect(referenceLevels({ ...GRID5, levels: 4 })).toEqual([100, 133.33, 166.67, 200]);
    // priceStep 5: 133.33 -> 135, 166.67 -> 165
    expect(referenceLevels({ ...GRID5, levels: 4, market: { priceStep: 5 } })).toEqual([100, 135, 165, 200]);
    // half away from zero: 101.5 at step 1 -> 102
    expect(referenceLevels({ ...GRID5, lower: 100, upper: 103, levels: 3, market: { priceStep: 1 } })).toEqual([
      100, 102, 103,
    ]);
    // 1.015 (float 1.0149999..) at step 0.01 -> 1.02
    expect(referenceLevels({ ...GRID5, lower: 1, upper: 1.03, levels: 3 })).toEqual([1, 1.02, 1.03]);
  });

  it('geometric levels are rounded to priceStep', () => {
    // 100 * 2^(i/4) = 100, 118.9207.., 141.4213.., 168.1792.., 200
    expect(referenceLevels({ ...GRID5, spacing: 'geometric' })).toEqual([100, 118.92, 141.42, 168.18, 200]);
    // priceStep 0.5: 118.92 -> 119, 141.42 -> 141.5, 168.18 -> 168
    expect(referenceLevels({ ...GRID5, spacing: 'geometric', market: { priceStep: 0.5 } })).toEqual([
      100, 119, 141.5, 168, 200,
    ]);
  });

  it('rejects rounded levels that are not strictly increasing', () => {
    // 1, 1.005 -> 1.01, 1.01: two lines on 1.01
    expect(() => referenceLevels({ ...GRID5, lower: 1, upper: 1.01, levels: 3 })).toThrow(/strictly increasing/);
    expect(() => referenceBacktest({ ...GRID5, lower: 100, upper: 100.03, levels: 5 }, series([flat(100)]))).toThrow(
      /strictly increasing/,
    );
  });

  it('the nearest level to P0, a tie going to the lower index', () => {
    const L = [100, 125, 150, 175, 200];
    expect(nearestLevel(L, 150)).toBe(2);
    expect(nearestLevel(L, 137.5)).toBe(1); // tie between 125 and 150
    expect(nearestLevel(L, 137.51)).toBe(2);
    expect(nearestLevel(L, 50)).toBe(0);
    expect(nearestLevel(L, 250)).toBe(4);
    // a decimal tie that floats see as |100.1-100.2| = 0.1000000000000085 > |100.3-100.2| = 0.0999999999999943
    expect(nearestLevel([100.1, 100.3], 100.2)).toBe(0);
  });

  it('a tie at P0 leaves the lower level empty (buys below it, sells above)', () => {
    // P0 = 137.5: e = 1 (125). Buys: 100. Sells: 150, 175, 200.
    const { report } = run(GRID5, [flat(137.5)]);
    expect(report.openOrders).toEqual({ buy: 1, sell: 3 });
    // default quote = 3*1*137.5 + 100 = 512.5; after the market buy: 100 quote, 3 base
    expect(report.initial).toEqual({ base: 0, quote: 512.5, equity: 512.5 });
    expect(report.final).toEqual({ base: 3, quote: 100, equity: 512.5 });
  });
});

describe('sizing and the start', () => {
  it('investment sizing uses the rounded levels, P0 and the larger fee, floored to amountStep', () => {
    // P0 = 150: e = 2, buys at 100 and 125 (sum 225), nSell = 2.
    // q = floorStep(1000 / ((225 + 2*150) * 1.001), 0.00001) = floorStep(1.90285904.., 0.00001) = 1.90285
    const cfg: ReferenceGridConfig = { symbol: 'BTC/USDT', lower: 100, upper: 200, levels: 5, investment: 1000 };
    const { report, trades } = run(cfg, [flat(150)]);
    expect(report.quantityPerLevel).toBe(1.90285);
    // default balance with investment: quote = investment, base = 0
    expect(report.initial).toEqual({ base: 0, quote: 1000, equity: 1000 });
    // market buy 2*1.90285 = 3.8057 at 150: 570.855 + taker 0.570855 = 571.425855
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ kind: 'start', side: 'buy', price: 150 });
    close(trades[0]!.quantity, 3.8057);
    close(report.final.quote, 1000 - 571.425855);
    close(report.final.base, 3.8057);
    close(report.fees, 0.570855);
    // buys lock 1.90285*225*1.001 = 428.56939125 <= 428.574145 free: both placed
    expect(report.openOrders).toEqual({ buy: 2, sell: 2 });
    expect(report.skippedOrders).toBe(0);
    // with amountStep 0.001: q = 1.902
    expect(run({ ...cfg, market: { amountStep: 0.001 } }, [flat(150)]).report.quantityPerLevel).toBe(1.902);
    // fees taken as max(maker, taker): taker 0.002 -> 1000 / (525*1.002) = 1.90095.. -> 1.90095
    expect(run({ ...cfg, fees: { maker: 0, taker: 0.002 } }, [flat(150)]).report.quantityPerLevel).toBe(1.90095);
  });

  it('quantityPerLevel is floored to amountStep', () => {
    expect(run({ ...GRID5, quantityPerLevel: 0.123456789 }, [flat(150)]).report.quantityPerLevel).toBe(0.12345);
  });

  it('default balances with quantityPerLevel are exactly what the start needs', () => {
    // fees 0.001 each; P0 = 150, q = 1:
    // quote = 2*1*150*1.001 + (100 + 125)*1.001 = 300.3 + 225.225 = 525.525, base = 0
    const cfg: ReferenceGridConfig = { ...GRID5, fees: undefined };
    const { report } = run(cfg, [flat(150)]);
    close(report.initial.quote, 525.525);
    expect(report.initial.base).toBe(0);
    close(report.initial.equity, 525.525);
    // after the market buy: quote 225.225 (all locked by the two buys), base 2 (locked by two sells)
    close(report.final.quote, 225.225);
    expect(report.final.base).toBe(2);
    close(report.final.equity, 525.225);
    close(report.fees, 0.3);
    expect(report.skippedOrders).toBe(0);
    expect(report.openOrders).toEqual({ buy: 2, sell: 2 });
    // equity after the start 525.225, and at the close the same: no drawdown
    expect(report.maxDrawdown).toBe(0);
  });

  it('balance keys override each part; a missing part takes its default', () => {
    // base given, quote defaults to 525 (no fees): the market buy still happens
    const { report } = run({ ...GRID5, balance: { base: 0.5 } }, [flat(150)]);
    expect(report.initial).toEqual({ base: 0.5, quote: 525, equity: 600 });
    expect(report.final).toEqual({ base: 2.5, quote: 225, equity: 600 });
    // quote given, base defaults to 0
    const r2 = run({ ...GRID5, balance: { quote: 1000 } }, [flat(150)]).report;
    expect(r2.initial).toEqual({ base: 0, quote: 1000, equity: 1000 });
    expect(r2.final).toEqual({ base: 2, quote: 700, equity: 1000 });
  });

  it('P0 outside the range: all sells above, or all buys below, no market buy when nSell = 0', () => {
    // P0 = 90: e = 0, sells at 125..200 (4), market buy 4 at 90
    const below = run(GRID5, [flat(90)]);
    expect(below.report.openOrders).toEqual({ buy: 0, sell: 4 });
    expect(below.report.initial.quote).toBe(360);
    // P0 = 210: e = 4, buys at 100..175, no sells, no market buy
    const above = run(GRID5, [flat(210)]);
    expect(above.report.openOrders).toEqual({ buy: 4, sell: 0 });
    expect(above.trades).toHaveLength(0);
    expect(above.report.initial.quote).toBe(550);
  });

  it('start-time violations are clear errors', () => {
    const one = [flat(150)];
    // q * L0 < minNotional: 0.04 * 100 = 4 < 5
    expect(() => referenceBacktest({ ...GRID5, quantityPerLevel: 0.04 }, series(one))).toThrow(/minNotional/);
    // q * L0 = 5 exactly is allowed
    expect(() => referenceBacktest({ ...GRID5, quantityPerLevel: 0.05 }, series(one))).not.toThrow();
    // the start's market buy below minNotional (an exchange refuses it): 4 sells of 0.05 bought at 20 = 4 < 5
    expect(() => referenceBacktest({ ...GRID5, quantityPerLevel: 0.05 }, series([flat(20)]))).toThrow(/start's market buy.*minNotional/);
    expect(() => referenceBacktest({ ...GRID5, quantityPerLevel: 0.05 }, series([flat(25)]))).not.toThrow();
    // q floors to 0
    expect(() => referenceBacktest({ ...GRID5, quantityPerLevel: 0.000001 }, series(one))).toThrow(/quantityPerLevel/);
    expect(() =>
      referenceBacktest({ symbol: 'X/Y', lower: 100, upper: 200, levels: 5, investment: 0.001 }, series(one)),
    ).toThrow(/investment/);
    // stop-loss / take-profit not around P0
    expect(() => referenceBacktest({ ...GRID5, stopLoss: 150 }, series(one))).toThrow(/stopLoss/);
    expect(() => referenceBacktest({ ...GRID5, stopLoss: 0 }, series(one))).toThrow(/stopLoss/);
    expect(() => referenceBacktest({ ...GRID5, takeProfit: 150 }, series(one))).toThrow(/takeProfit/);
    expect(() => referenceBacktest({ ...GRID5, stopLoss: 149.99, takeProfit: 150.01 }, series(one))).not.toThrow();
    // the wallet cannot pay the market buy of 2 at 150 = 300
    expect(() => referenceBacktest({ ...GRID5, balance: { quote: 299 } }, series(one))).toThrow(/market buy/);
    expect(() => referenceBacktest({ ...GRID5, balance: { quote: 300 } }, series(one))).not.toThrow();
    // basic keys
    expect(() => referenceBacktest({ ...GRID5, investment: 100 }, series(one))).toThrow(/exactly one/);
    expect(() => referenceBacktest({ ...GRID5, levels: 1 }, series(one))).toThrow(/levels/);
    expect(() => referenceBacktest({ ...GRID5, levels: 501 }, series(one))).toThrow(/levels/);
    expect(() => referenceBacktest({ ...GRID5, lower: 200, upper: 100 }, series(one))).toThrow(/lower/);
    expect(() => referenceBacktest({ ...GRID5, fees: { maker: 0.1 } }, series(one))).toThrow(/fees.maker/);
    expect(() => referenceBacktest(GRID5, series([]))).toThrow(/empty/);
  });
});

describe('fills along the candle walk', () => {
  it('a round trip across two candles and its profit (no fees)', () => {
    // start: quote 525 -> market buy 2 at 150 -> quote 225, base 2; buys 100,125; sells 175,200
    // candle 1 (C < O): 150 -> 150 -> 120 -> 130: the buy at 125 fills (quote 100, base 3), sell placed at 150
    // candle 2 (C >= O): 130 -> 130 -> 160 -> 155: the sell at 150 fills, a round trip of 1*(150-125) = 25
    //   (quote 250, base 2), buy placed again at 125; 175 is not reached
    const { report, trades } = run(GRID5, [
      [150, 150, 120, 130],
      [130, 160, 130, 155],
    ]);
    expect(report.fills).toEqual({ buy: 1, sell: 1 });
    expect(report.roundTrips).toBe(1);
    expect(report.gridProfit).toBe(25);
    expect(report.fees).toBe(0);
    expect(report.final).toEqual({ base: 2, quote: 250, equity: 560 });
    expect(report.initial).toEqual({ base: 0, quote: 525, equity: 525 });
    expect(report.openOrders).toEqual({ buy: 2, sell: 2 });
    expect(report.lastPrice).toBe(155);
    expect(report.startPrice).toBe(150);
    expect(report.candles).toBe(2);
    expect(trades.map((t) => [t.kind, t.side, t.candle, t.price, t.roundTrip])).toEqual([
      ['start', 'buy', -1, 150, false],
      ['limit', 'buy', 0, 125, false],
      ['limit', 'sell', 1, 150, true],
    ]);
  });

  it('the same round trip with the default fees, and the drawdown it causes', () => {
    // start: quote 525.525; market buy 300 + 0.3 fee -> quote 225.225, base 2; equity at 150: 525.225
    // buy at 125: quote -= 125.125 (fee 0.125) -> 100.1, base 3; close 130: equity 100.1 + 390 = 490.1
    // sell at 150: quote += 149.85 (fee 0.15) -> 249.95, base 2; close 155: equity 249.95 + 310 = 559.95
    // fees 0.3 + 0.125 + 0.15 = 0.575; maxDrawdown (525.225 - 490.1) / 525.225 = 35.125 / 525.225
    const { report } = run({ ...GRID5, fees: undefined }, [
      [150, 150, 120, 130],
      [130, 160, 130, 155],
    ]);
    expect(report.gridProfit).toBe(25); // gross, before fees
    close(report.fees, 0.575);
    close(report.final.quote, 249.95);
    close(report.final.equity, 559.95);
    close(report.maxDrawdown, 35.125 / 525.225, 1e-12);
  });

  it('a counter-order placed on one segment fills later on the same candle', () => {
    // C >= O: 150 -> 120 -> 160 -> 155. Falling to 120 fills the buy at 125 and places a sell at 150;
    // rising to 160 fills that sell (round trip 25) and places the buy at 125 again.
    const { report, trades } = run(GRID5, [[150, 160, 120, 155]]);
    expect(report.fills).toEqual({ buy: 1, sell: 1 });
    expect(report.roundTrips).toBe(1);
    expect(report.gridProfit).toBe(25);
    expect(trades.slice(1).map((t) => [t.side, t.price])).toEqual([
      ['buy', 125],
      ['sell', 150],
    ]);
    expect(report.openOrders).toEqual({ buy: 2, sell: 2 });
    // quote 225 -125 +150 = 250, base 2, close 155: 560
    expect(report.final).toEqual({ base: 2, quote: 250, equity: 560 });
  });

  it('never fills a counter-order on the segment that created it; fills in price order', () => {
    // C < O: 150 -> 150 -> 100 -> 101: the buys at 125 then 100 fill (sells placed at 150 and 125, not filled)
    const { report, trades } = run(GRID5, [[150, 150, 100, 101]]);
    expect(trades.slice(1).map((t) => [t.side, t.price])).toEqual([
      ['buy', 125],
      ['buy', 100],
    ]);
    expect(report.fills).toEqual({ buy: 2, sell: 0 });
    expect(report.openOrders).toEqual({ buy: 0, sell: 4 });
    // quote 225 - 225 = 0, base 4; close 101 -> equity 404
    expect(report.final).toEqual({ base: 4, quote: 0, equity: 404 });
  });

  it('a sell placed at start is not a round trip', () => {
    // C >= O: 150 -> 150 -> 180 -> 170: the sell at 175 fills (placed at start), buy placed at 150
    const { report } = run(GRID5, [[150, 180, 150, 170]]);
    expect(report.fills).toEqual({ buy: 0, sell: 1 });
    expect(report.roundTrips).toBe(0);
    expect(report.gridProfit).toBe(0);
    expect(report.openOrders).toEqual({ buy: 3, sell: 1 });
    // quote 225 + 175 = 400, base 1; close 170: 570
    expect(report.final).toEqual({ base: 1, quote: 400, equity: 570 });
  });

  it('touch fills are inclusive: reaching the price exactly fills', () => {
    const { report } = run(GRID5, [[150, 175, 125, 150]]);
    // C >= O: 150 -> 125 (buy 125 fills, sell at 150) -> 175 (sell 150 round trip, sell 175) -> 150 (buy 150? no:
    // the sell at 175 placed a buy at 150 and the falling segment 175 -> 150 reaches it: fills)
    expect(report.fills).toEqual({ buy: 2, sell: 2 });
    expect(report.roundTrips).toBe(1);
  });

  it('a gap between candles fills what it crosses', () => {
    // candle 1 flat at 150; candle 2 opens at 120 (flat): the join 150 -> 120 fills the buy at 125
    const down = run(GRID5, [flat(150), flat(120)]);
    expect(down.report.fills).toEqual({ buy: 1, sell: 0 });
    expect(down.trades[1]).toMatchObject({ side: 'buy', price: 125, candle: 1 });
    // candle 2 opens at 190: the join 150 -> 190 fills the sell at 175 (then buy at 150)
    const up = run(GRID5, [flat(150), flat(190)]);
    expect(up.report.fills).toEqual({ buy: 0, sell: 1 });
    expect(up.trades[1]).toMatchObject({ side: 'sell', price: 175, candle: 1 });
    // the first candle has no join: starting at its open never fills anything by itself
    expect(run(GRID5, [flat(150)]).report.fills).toEqual({ buy: 0, sell: 0 });
  });

  it('both path directions: C >= O walks O-L-H-C, C < O walks O-H-L-C', () => {
    // same O, H, L; only the close differs
    // C >= O (150 -> 120 -> 160 -> 150): buy 125, then sell 150 (round trip)
    const up = run(GRID5, [[150, 160, 120, 150]]);
    expect(up.report.fills).toEqual({ buy: 1, sell: 1 });
    expect(up.report.roundTrips).toBe(1);
    // C < O (150 -> 160 -> 120 -> 149): nothing on the way up (175 not reached), buy 125 on the way down,
    // the sell at 150 it placed is not reached by 120 -> 149
    const down = run(GRID5, [[150, 160, 120, 149]]);
    expect(down.report.fills).toEqual({ buy: 1, sell: 0 });
    expect(down.report.roundTrips).toBe(0);

    // C < O (150 -> 180 -> 120 -> 130): sell 175 (buy placed at 150), then down: buy 150 (sell at 175),
    // buy 125 (sell at 150); up to 130: nothing
    const d2 = run(GRID5, [[150, 180, 120, 130]]);
    expect(d2.trades.slice(1).map((t) => [t.side, t.price])).toEqual([
      ['sell', 175],
      ['buy', 150],
      ['buy', 125],
    ]);
    expect(d2.report.roundTrips).toBe(0);
    // quote 225 + 175 - 150 - 125 = 125, base 2 - 1 + 2 = 3; close 130: 515
    expect(d2.report.final).toEqual({ base: 3, quote: 125, equity: 515 });
    // a doji (C = O) walks O-L-H-C: 150 -> 120: buy 125 (sell at 150); -> 180: sell 150 (round trip,
    // buy at 125), sell 175 (buy at 150); -> 150: buy 150 (sell at 175).
    // (O-H-L-C would give sell 175, buy 150, buy 125, sell 150.)
    const doji = run(GRID5, [[150, 180, 120, 150]]);
    expect(doji.trades.slice(1).map((t) => [t.side, t.price])).toEqual([
      ['buy', 125],
      ['sell', 150],
      ['sell', 175],
      ['buy', 150],
    ]);
    // C >= O (150 -> 120 -> 180 -> 170): buy 125 (sell at 150), up: sell 150 (round trip, buy at 125),
    // sell 175 (from start, buy at 150); down to 170: nothing
    const u2 = run(GRID5, [[150, 180, 120, 170]]);
    expect(u2.trades.slice(1).map((t) => [t.side, t.price, t.roundTrip])).toEqual([
      ['buy', 125, false],
      ['sell', 150, true],
      ['sell', 175, false],
    ]);
    expect(u2.report.roundTrips).toBe(1);
    expect(u2.report.gridProfit).toBe(25);
    // quote 225 - 125 + 150 + 175 = 425, base 2 + 1 - 2 = 1; close 170: 595
    expect(u2.report.final).toEqual({ base: 1, quote: 425, equity: 595 });
  });
});

describe('funds', () => {
  it('orders the wallet cannot fund at start are skipped, nearest sells first, then buys downward', () => {
    // balance quote 400, no fees: market buy 2 at 150 -> quote 100, base 2
    // sells 175, 200 placed; buy 125 needs 125 > 100: skipped; buy 100 needs 100 <= 100: placed
    const { report, skips } = run({ ...GRID5, balance: { quote: 400 } }, [flat(150), flat(110), flat(95)]);
    expect(skips.map((s) => [s.side, s.level, s.price, s.candle])).toEqual([['buy', 1, 125, -1]]);
    // the empty level 125 never fills; 100 fills on the last gap (sell placed at 125)
    expect(report.fills).toEqual({ buy: 1, sell: 0 });
    expect(report.skippedOrders).toBe(1);
    expect(report.openOrders).toEqual({ buy: 0, sell: 3 });
    expect(report.final).toEqual({ base: 3, quote: 0, equity: 285 });
  });

  it('a quote balance that pays only the market buy skips every buy', () => {
    // (sells are never short at start: the market buy brings exactly their base)
    // P0 = 150, quote 300 = the market buy: sells 175, 200 placed, both buys skipped.
    const { report } = run({ ...GRID5, balance: { quote: 300 } }, [flat(150)]);
    expect(report.skippedOrders).toBe(2);
    expect(report.openOrders).toEqual({ buy: 0, sell: 2 });
  });

  it('a counter-order that cannot be funded is skipped', () => {
    // levels 100..104 (step 1), P0 = 102: e = 2; maker 1%, taker 0; balance quote 204 = market buy of 2 at 102
    // start: quote 0, base 2; sells 103, 104 placed; buys 101 and 100 skipped (2)
    // candle rises to 103.5: sell 103 fills, quote += 103*0.99 = 101.97; the counter buy at 102 needs
    // 102*1.01 = 103.02 > 101.97: skipped (3)
    const cfg: ReferenceGridConfig = {
      symbol: 'X/Y',
      lower: 100,
      upper: 104,
      levels: 5,
      quantityPerLevel: 1,
      fees: { maker: 0.01, taker: 0 },
      balance: { quote: 204 },
    };
    const { report, skips } = run(cfg, [[102, 103.5, 102, 103.5]]);
    expect(report.skippedOrders).toBe(3);
    expect(skips[2]).toMatchObject({ side: 'buy', level: 2, price: 102, candle: 0 });
    expect(report.fills).toEqual({ buy: 0, sell: 1 });
    expect(report.openOrders).toEqual({ buy: 0, sell: 1 });
    close(report.final.quote, 101.97);
    close(report.fees, 1.03);
  });
});

describe('stop-loss and take-profit', () => {
  it('stop-loss: an order exactly at the trigger fills first, then all base is sold at the trigger', () => {
    // default fees; stopLoss 125; start: quote 525.525 -> 225.225, base 2 (fee 0.3)
    // candle 1 (C < O): 150 -> 150 -> 110: reaches <= 125: the buy at 125 fills first
    //   (quote 100.1, base 3, fee 0.125, sell placed at 150), then the stop at 125: cancel everything,
    //   sell 3 at 125 with taker: quote += 375 * 0.999 = 374.625 -> 474.725, fee 0.375
    // candle 2 goes through the whole range: nothing fills any more
    // fees 0.3 + 0.125 + 0.375 = 0.8; equity samples 525.225, 474.725, 474.725
    const { report, trades } = run({ ...GRID5, fees: undefined, stopLoss: 125 }, [
      [150, 150, 110, 115],
      [115, 210, 90, 100],
    ]);
    expect(report.stopped).toBe('stopLoss');
    expect(trades.map((t) => [t.kind, t.side, t.price, t.quantity])).toEqual([
      ['start', 'buy', 150, 2],
      ['limit', 'buy', 125, 1],
      ['stop', 'sell', 125, 3],
    ]);
    expect(report.fills).toEqual({ buy: 1, sell: 0 });
    expect(report.openOrders).toEqual({ buy: 0, sell: 0 });
    expect(report.final.base).toBe(0);
    close(report.final.quote, 474.725);
    close(report.final.equity, 474.725);
    close(report.fees, 0.8);
    expect(report.candles).toBe(2);
    expect(report.lastPrice).toBe(100);
    close(report.maxDrawdown, 50.5 / 525.225, 1e-12);
  });

  it('stop-loss between levels fills the buys above it only', () => {
    // stopLoss 120 (no fees): falling 150 -> 90 fills 125 only, then stops at 120 selling 3
    const { report } = run({ ...GRID5, stopLoss: 120 }, [[150, 150, 90, 95]]);
    expect(report.fills).toEqual({ buy: 1, sell: 0 });
    // quote 225 - 125 + 3*120 = 460
    expect(report.final).toEqual({ base: 0, quote: 460, equity: 460 });
  });

  it('a rising segment never triggers the stop-loss', () => {
    const { report } = run({ ...GRID5, stopLoss: 110 }, [[150, 160, 120, 155]]);
    expect(report.stopped).toBeNull();
  });

  it('take-profit: sells up to the trigger fill first, then all base is sold at the trigger', () => {
    // default fees; takeProfit 180: candle 150 -> 150 -> 190 (C >= O)
    // sell 175 fills (from start, not a round trip): quote 225.225 + 174.825 = 400.05, base 1, fee 0.175,
    // buy placed at 150; then take-profit at 180: cancel, sell 1 at 180: quote += 179.82 -> 579.87, fee 0.18
    const { report, trades } = run({ ...GRID5, fees: undefined, takeProfit: 180 }, [
      [150, 190, 150, 185],
      [185, 250, 50, 60],
    ]);
    expect(report.stopped).toBe('takeProfit');
    expect(trades.map((t) => [t.kind, t.side, t.price, t.quantity])).toEqual([
      ['start', 'buy', 150, 2],
      ['limit', 'sell', 175, 1],
      ['stop', 'sell', 180, 1],
    ]);
    expect(report.roundTrips).toBe(0);
    close(report.final.quote, 579.87);
    close(report.final.equity, 579.87);
    close(report.fees, 0.655);
    expect(report.openOrders).toEqual({ buy: 0, sell: 0 });
  });

  it('take-profit exactly at a sell: the sell fills, then the rest is sold at the same price', () => {
    // no fees, takeProfit 175: sell 175 fills (quote 400, base 1), then 1 sold at 175: quote 575
    const { report } = run({ ...GRID5, takeProfit: 175 }, [[150, 175, 150, 175]]);
    expect(report.fills).toEqual({ buy: 0, sell: 1 });
    expect(report.final).toEqual({ base: 0, quote: 575, equity: 575 });
  });

  it('the start buy is nSell * q on the amount step (issue 9: 13 x 0.00224 is 0.02912, not 0.029119999999999997)', () => {
    const live: ReferenceGridConfig = { symbol: 'BTC/USDT', lower: 65713, upper: 69778, levels: 21, investment: 3000 };
    const { report, trades } = run(live, [flat(67182.92)]);
    expect(report.quantityPerLevel).toBe(0.00224);
    expect(trades[0]).toMatchObject({ kind: 'start', quantity: 0.02912 });
  });

  it('a stop sells the whole amount steps of the base; the dust below one step stays', () => {
    // amount step 0.01, wallet base 0.004 to start: 2 bought at 150, stop at 125 after the buy there sells 3
    const { report, trades } = run({ ...GRID5, market: { amountStep: 0.01 }, balance: { quote: 1000, base: 0.004 }, stopLoss: 125 }, [[150, 150, 110, 115]]);
    expect(trades.at(-1)).toMatchObject({ kind: 'stop', quantity: 3, price: 125 });
    close(report.final.base, 0.004, 1e-12);
  });

  it('a stop sells nothing when the whole steps are worth less than minNotional at the trigger', () => {
    // P0 210: no sells, no market buy; the stop-loss 190 fires before the buy at 175 fills, and the
    // wallet's 0.02 base is worth 3.8 < 5 there
    const { report, trades } = run({ ...GRID5, quantityPerLevel: 0.05, balance: { base: 0.02 }, stopLoss: 190 }, [flat(210), flat(185)]);
    expect(report.stopped).toBe('stopLoss');
    expect(trades).toEqual([]);
    expect(report.final.base).toBe(0.02);
  });

  it('a gap can trigger a stop', () => {
    // candle 2 opens at 90: the join 150 -> 90 fills 125 and 100, then stops at 95 selling 4
    const { report } = run({ ...GRID5, stopLoss: 95 }, [flat(150), flat(90), flat(300)]);
    expect(report.stopped).toBe('stopLoss');
    expect(report.fills).toEqual({ buy: 2, sell: 0 });
    // quote 225 - 225 + 4*95 = 380
    expect(report.final).toEqual({ base: 0, quote: 380, equity: 380 });
  });
});

describe('maxDrawdown', () => {
  it('samples after the start and at every close, never inside a candle', () => {
    // no fees. start: quote 225, base 2: equity 525 at 150
    // c1 150 -> 101 -> 150 -> 150 (C >= O): buy 125, sell 150 (round trip): quote 250, base 2; close 150: 550
    // c2 150 -> 150 -> 130 -> 140: no fill (125 not reached; the low 130 is not sampled): 250 + 280 = 530
    //    drawdown 20/550
    // c3 flat 160: 570, a new peak
    // c4 flat 145: 250 + 290 = 540, drawdown 30/570 = 0.0526.. > 20/550 = 0.0363..
    // c5 flat 150: 550
    const { report } = run(GRID5, [[150, 150, 101, 150], [150, 150, 130, 140], flat(160), flat(145), flat(150)]);
    expect(report.roundTrips).toBe(1);
    expect(report.final).toEqual({ base: 2, quote: 250, equity: 550 });
    close(report.maxDrawdown, 30 / 570, 1e-12);
  });

  it('the first sample is right after the start (after the market buy), the first close counts', () => {
    // default fees: after start 525.225 (the taker fee is already out: initial 525.525 is not a sample)
    // c1 flat 150: 525.225: no drawdown
    expect(run({ ...GRID5, fees: undefined }, [flat(150)]).report.maxDrawdown).toBe(0);
    // c1 (one candle) closes at 140 without fills: 225.225 + 280 = 505.225: (525.225-505.225)/525.225
    const r = run({ ...GRID5, fees: undefined }, [[150, 150, 140, 140]]).report;
    close(r.maxDrawdown, 20 / 525.225, 1e-12);
  });

  it('is 0 when equity never falls', () => {
    expect(run(GRID5, [flat(150), flat(160), flat(170)]).report.maxDrawdown).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
// Random paths

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RandomCase {
  config: ReferenceGridConfig;
  rows: Row[];
}

function randomCase(seed: number): RandomCase {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const lower = 100;
  const upper = Math.round((120 + rnd() * 100) * 100) / 100;
  const levels = 3 + Math.floor(rnd() * 12);
  const spacing = pick(['arithmetic', 'geometric'] as const);
  const levelPrices = referenceLevels({ symbol: 'X/Y', lower, upper, levels, spacing });
  const snap = (p: number) => (rnd() < 0.3 ? pick(levelPrices) : Math.max(1, Math.round(p * 100) / 100));
  const n = 1 + Math.floor(rnd() * 60);
  const rows: Row[] = [];
  let prev = lower + rnd() * (upper - lower);
  for (let i = 0; i < n; i++) {
    const o = i === 0 ? snap(prev) : rnd() < 0.3 ? snap(prev + (rnd() - 0.5) * 30) : prev;
    const c = snap(o + (rnd() - 0.5) * 40);
    const h = Math.max(o, c, snap(Math.max(o, c) + rnd() * 25));
    const l = Math.min(o, c, snap(Math.min(o, c) - rnd() * 25));
    rows.push([o, h, l, c]);
    prev = c;
  }
  const p0 = rows[0]![0];
  const fee = pick([0, 0.001, 0.0075]);
  const config: ReferenceGridConfig = {
    symbol: 'X/Y',
    lower,
    upper,
    levels,
    spacing,
    fees: { maker: fee, taker: pick([0, 0.001, 0.002]) },
  };
  if (rnd() < 0.5) config.quantityPerLevel = Math.round((0.05 + rnd() * 2) * 1e5) / 1e5;
  else config.investment = Math.round(500 + rnd() * 5000);
  if (rnd() < 0.4) {
    // a short wallet: enough for the market buy (sized below) and a random part of the rest
    config.balance = { quote: -1, base: rnd() < 0.3 ? Math.round(rnd() * 100) / 100 : 0 };
  }
  if (rnd() < 0.3) config.stopLoss = Math.round(p0 * (0.6 + rnd() * 0.39) * 100) / 100;
  if (rnd() < 0.3) config.takeProfit = Math.round(p0 * (1.01 + rnd() * 0.4) * 100) / 100;
  if (config.balance) {
    // probe the default to size the short wallet
    const probe = referenceBacktest({ ...config, balance: undefined }, series([flat(p0)]));
    const e = nearestLevel(probe.levels, p0);
    const market = (probe.levels.length - 1 - e) * probe.quantityPerLevel * p0 * (1 + (config.fees?.taker ?? 0.001));
    config.balance.quote = Math.round((market + rnd() * Math.max(0, probe.initial.quote - market)) * 100) / 100 + 0.01;
  }
  return { config, rows };
}

/**
 * A naive re-simulation of the walk: on every segment, look through all levels for the
 * first order the price reaches, fill it, repeat. No cached best prices, no fast path.
 */
function naive(config: ReferenceGridConfig, rows: readonly Row[], ref: ReferenceReport): ReferenceReport {
  const L = ref.levels;
  const n = L.length;
  const q = ref.quantityPerLevel;
  const maker = config.fees?.maker ?? 0.001;
  const taker = config.fees?.taker ?? 0.001;
  const sl = config.stopLoss ?? -Infinity;
  const tp = config.takeProfit ?? Infinity;
  const p0 = rows[0]![0];
  const e = nearestLevel(L, p0);
  let quote = ref.initial.quote;
  let base = ref.initial.base;
  const orders: ({ side: 'buy' | 'sell'; rt: boolean } | null)[] = new Array(n).fill(null);
  let fees = 0;
  let fb = 0;
  let fs = 0;
  let rts = 0;
  let gp = 0;
  let skipped = 0;
  let stopped: ReferenceReport['stopped'] = null;
  const lockedQ = () => orders.reduce((s, o, i) => s + (o?.side === 'buy' ? q * L[i]! * (1 + maker) : 0), 0);
  const lockedB = () => orders.reduce((s, o) => s + (o?.side === 'sell' ? q : 0), 0);
  const ok = (need: number, free: number) => need <= free * (1 + 1e-9) + 1e-12;
  const place = (i: number, side: 'buy' | 'sell', rt: boolean) => {
    const fundable = side === 'buy' ? ok(q * L[i]! * (1 + maker), quote - lockedQ()) : ok(q, base - lockedB());
    if (fundable) orders[i] = { side, rt };
    else skipped++;
  };
  const nSell = n - 1 - e;
  if (nSell > 0) {
    quote -= nSell * q * p0 * (1 + taker);
    base += nSell * q;
    fees += nSell * q * p0 * taker;
  }
  for (let i = e + 1; i < n; i++) place(i, 'sell', false);
  for (let i = e - 1; i >= 0; i--) place(i, 'buy', false);
  const stop = (at: number, why: 'stopLoss' | 'takeProfit') => {
    orders.fill(null);
    quote += base * at * (1 - taker);
    fees += base * at * taker;
    base = 0;
    stopped = why;
  };
  const seg = (a: number, b: number) => {
    if (stopped || a === b) return;
    for (;;) {
      let best = -1;
      for (let i = 0; i < n; i++) {
        const o = orders[i];
        if (!o) continue;
        if (b < a && o.side === 'buy' && L[i]! >= Math.max(b, sl) && (best < 0 || L[i]! > L[best]!)) best = i;
        if (b > a && o.side === 'sell' && L[i]! <= Math.min(b, tp) && (best < 0 || L[i]! < L[best]!)) best = i;
      }
      if (best < 0) break;
      const o = orders[best]!;
      const p = L[best]!;
      orders[best] = null;
      fees += q * p * maker;
      if (o.side === 'buy') {
        quote -= q * p * (1 + maker);
        base += q;
        fb++;
        place(best + 1, 'sell', true);
      } else {
        quote += q * p * (1 - maker);
        base -= q;
        fs++;
        if (o.rt) {
          rts++;
          gp += q * (p - L[best - 1]!);
        }
        place(best - 1, 'buy', false);
      }
    }
    if (b < a && b <= sl) stop(sl, 'stopLoss');
    if (b > a && b >= tp) stop(tp, 'takeProfit');
  };
  let peak = quote + base * p0;
  let mdd = 0;
  let prev = p0;
  for (const [o, h, l, c] of rows) {
    const path = c >= o ? [prev, o, l, h, c] : [prev, o, h, l, c];
    for (let k = 0; k + 1 < path.length; k++) seg(path[k]!, path[k + 1]!);
    prev = c;
    const eq = quote + base * c;
    peak = Math.max(peak, eq);
    mdd = Math.max(mdd, (peak - eq) / peak);
  }
  const last = rows[rows.length - 1]![3];
  return {
    ...ref,
    fills: { buy: fb, sell: fs },
    roundTrips: rts,
    gridProfit: gp,
    fees,
    skippedOrders: skipped,
    final: { base, quote, equity: quote + base * last },
    openOrders: {
      buy: orders.filter((o) => o?.side === 'buy').length,
      sell: orders.filter((o) => o?.side === 'sell').length,
    },
    stopped,
    maxDrawdown: mdd,
  };
}

function expectReportsClose(a: ReferenceReport, b: ReferenceReport, tol = 1e-7): void {
  const flatten = (r: ReferenceReport) => ({
    ...r,
    levels: r.levels.join(','),
  });
  const fa = flatten(a);
  const fb = flatten(b);
  const walk = (x: unknown, y: unknown, path: string) => {
    if (typeof x === 'number' && typeof y === 'number') {
      if (Math.abs(x - y) > tol * Math.max(1, Math.abs(x), Math.abs(y))) {
        throw new Error(`${path}: ${x} != ${y}`);
      }
    } else if (x !== null && typeof x === 'object' && y !== null && typeof y === 'object') {
      for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
    } else if (x !== y) {
      throw new Error(`${path}: ${String(x)} != ${String(y)}`);
    }
  };
  walk(fa, fb, 'report');
}

describe('random paths', () => {
  const seeds = Array.from({ length: 400 }, (_, i) => i + 1);

  it('final equity = initial equity + fill cash flows marked to the last price - fees', () => {
    let withFills = 0;
    let withStops = 0;
    let withSkips = 0;
    for (const seed of seeds) {
      const { config, rows } = randomCase(seed);
      const { report, trades } = run(config, rows);
      const last = report.lastPrice;
      let quoteFlow = 0;
      let baseFlow = 0;
      let feeSum = 0;
      let marked = 0;
      let gp = 0;
      let buys = 0;
      let sells = 0;
      for (const t of trades) {
        const sign = t.side === 'buy' ? 1 : -1;
        quoteFlow -= sign * t.quantity * t.price;
        baseFlow += sign * t.quantity;
        marked += sign * t.quantity * (last - t.price);
        feeSum += t.fee;
        if (t.kind === 'limit') {
          if (t.side === 'buy') buys++;
          else sells++;
          const rate = config.fees?.maker ?? 0.001;
          close(t.fee, t.quantity * t.price * rate, 1e-9);
        }
        if (t.roundTrip) gp += t.quantity * (t.price - report.levels[t.level - 1]!);
      }
      const ctx = `seed ${seed}`;
      expect(feeSum, ctx).toBeCloseTo(report.fees, 7);
      expect(report.final.quote, ctx).toBeCloseTo(report.initial.quote + quoteFlow - report.fees, 7);
      expect(report.final.base, ctx).toBeCloseTo(report.initial.base + baseFlow, 9);
      const expected =
        report.initial.equity + report.initial.base * (last - report.startPrice) + marked - report.fees;
      expect(report.final.equity, ctx).toBeCloseTo(expected, 7);
      expect(report.fills, ctx).toEqual({ buy: buys, sell: sells });
      expect(report.gridProfit, ctx).toBeCloseTo(gp, 9);
      expect(report.roundTrips, ctx).toBe(trades.filter((t) => t.roundTrip).length);
      expect(report.maxDrawdown).toBeGreaterThanOrEqual(0);
      expect(report.maxDrawdown).toBeLessThan(1);
      if (report.stopped) expect(report.openOrders).toEqual({ buy: 0, sell: 0 });
      if (report.fills.buy + report.fills.sell > 0) withFills++;
      if (report.stopped) withStops++;
      if (report.skippedOrders > 0) withSkips++;
    }
    // the generator does exercise what it should
    expect(withFills).toBeGreaterThan(200);
    expect(withStops).toBeGreaterThan(30);
    expect(withSkips).toBeGreaterThan(30);
  });

  it('agrees with a naive re-simulation of the walk', () => {
    for (const seed of seeds) {
      const { config, rows } = randomCase(seed);
      const ref = referenceBacktest(config, series(rows));
      try {
        expectReportsClose(ref, naive(config, rows, ref));
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}`, { cause: err });
      }
    }
  });

  it('the report is exactly the spec JSON shape', () => {
    const { report } = run(GRID5, [flat(150)]);
    expect(Object.keys(report)).toEqual([
      'candles',
      'startPrice',
      'lastPrice',
      'quantityPerLevel',
      'levels',
      'fills',
      'roundTrips',
      'gridProfit',
      'fees',
      'skippedOrders',
      'initial',
      'final',
      'openOrders',
      'stopped',
      'maxDrawdown',
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});
