// Candle replay in the BingX simulator: the first open sets the price, each candle's path
// (O->L->H->C up, O->H->L->C down, candles joined close->open) is walked on a timer at `speed`
// candles per second, and resting orders fill in the order the path reaches them.
import { describe, expect, test } from 'vitest';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulatorOptions } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { candlePath } from '../../src/adapters/exchange/sim/bingx-sim-replay.js';
import { allocateCandles, type CandleSeries } from '../../src/adapters/feed/candles.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };

/** Rows of [time, open, high, low, close]. */
function series(rows: Array<[number, number, number, number, number]>): CandleSeries {
  const candles = allocateCandles(rows.length);
  rows.forEach(([time, open, high, low, close], i) => {
    candles.time[i] = time;
    candles.open[i] = open;
    candles.high[i] = high;
    candles.low[i] = low;
    candles.close[i] = close;
    candles.volume[i] = 1;
  });
  return candles;
}

// c0 up:   100 -> 95 -> 103 -> 102
// c1 down: 102 -> 106 -> 90 -> 92
// c2 up:   (92 ->) 93 -> 92.5 -> 120 -> 118
const candles = series([
  [60_000, 100, 103, 95, 102],
  [120_000, 102, 106, 90, 92],
  [180_000, 93, 120, 92.5, 118],
]);

function options(speed: number, price = 50_000): BingxSimulatorOptions {
  return { port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price, replay: { candles, speed } };
}

describe('candle path', () => {
  test('up candles go low first, down candles high first', () => {
    expect(candlePath(candles, 0)).toEqual([100, 95, 103, 102]);
    expect(candlePath(candles, 1)).toEqual([102, 106, 90, 92]);
    expect(candlePath(candles, 2)).toEqual([93, 92.5, 120, 118]);
  });
});

describe('BingX simulator candle replay', () => {
  test('resting orders fill as the path crosses them, in path order; the position is reported', async () => {
    const speed = 10;
    const started = performance.now();
    const sim = await startBingxSimulator(options(speed));
    try {
      // The first open replaces the starting price at once.
      expect(sim.exchange.lastPrice).toBe(100);
      const before = (await (await fetch(`${sim.url}/__sim/price`)).json()) as unknown;
      expect(before).toEqual({ price: 100, replay: { position: 0, candles: 3, time: null, done: false } });

      const orders: Array<[string, 'buy' | 'sell', number]> = [
        ['s119', 'sell', 119],
        ['b91', 'buy', 91],
        ['s105', 'sell', 105],
        ['b92.8', 'buy', 92.8],
        ['s102.5', 'sell', 102.5],
        ['b97', 'buy', 97],
        ['s125', 'sell', 125], // never reached
      ];
      for (const [clientOrderId, side, price] of orders) {
        await sim.exchange.createLimitOrder({ symbol: 'BTC/USDT', side, price, amount: 0.1, clientOrderId });
      }
      expect(sim.exchange.fillLog).toEqual([]);

      await sim.replayFinished;
      expect(performance.now() - started).toBeGreaterThanOrEqual((3 * 1000) / speed - 20);
      expect(sim.exchange.fillLog.map((fill) => [fill.clientOrderId, fill.price])).toEqual([
        ['b97', 97],
        ['s102.5', 102.5],
        ['s105', 105],
        ['b92.8', 92.8],
        ['b91', 91],
        ['s119', 119],
      ]);
      expect(sim.exchange.lastPrice).toBe(118);
      expect(sim.replayPosition()).toEqual({ position: 3, candles: 3, time: 180_000, done: true });
      const after = (await (await fetch(`${sim.url}/__sim/price`)).json()) as unknown;
      expect(after).toEqual({ price: 118, replay: { position: 3, candles: 3, time: 180_000, done: true } });
      expect((await sim.exchange.fetchOpenOrders('BTC/USDT')).map((order) => order.clientOrderId)).toEqual(['s125']);
    } finally {
      await sim.close();
    }
  });

  test('candles are walked one at a time at the given speed', async () => {
    const sim = await startBingxSimulator(options(10));
    try {
      const seen = new Set<number>();
      const timer = setInterval(() => seen.add(sim.replayPosition()!.position), 2);
      await sim.replayFinished;
      clearInterval(timer);
      seen.add(sim.replayPosition()!.position);
      expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await sim.close();
    }
  });

  test('close stops the replay', async () => {
    const sim = await startBingxSimulator(options(1));
    await sim.close();
    await sim.replayFinished;
    expect(sim.replayPosition()).toEqual({ position: 0, candles: 3, time: null, done: false });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(sim.replayPosition()!.position).toBe(0);
    expect(sim.exchange.lastPrice).toBe(100);
  });

  test('without replay the price answer is unchanged and replayFinished is already resolved', async () => {
    const sim = await startBingxSimulator({ ...options(1), replay: undefined });
    try {
      expect(await (await fetch(`${sim.url}/__sim/price`)).json()).toEqual({ price: 50_000 });
      expect(sim.replayPosition()).toBeUndefined();
      await sim.replayFinished;
    } finally {
      await sim.close();
    }
  });
});
