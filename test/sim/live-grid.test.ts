// The bot's real code path, end to end on loopback: a grid actor and its order actors, through the
// ccxt adapter and UNMODIFIED ccxt (bingx), against the BingX simulator, learning of fills from the
// exchange session: the WebSocket execution stream, or REST polling when the stream is off. The
// simulator's own order log is the judge: no client order id twice, every fill booked.
import { afterEach, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { until } from '../support/until.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const fees = { maker: 0.001, taker: 0.001 };

let sim: BingxSimulator | undefined;
let runtime: GridRuntime | undefined;
let session: ExchangeSession | undefined;
afterEach(async () => {
  runtime?.stop();
  await session?.stop();
  await sim?.close();
  runtime = undefined;
  session = undefined;
  sim = undefined;
});

describe('a grid trading through unmodified ccxt against the BingX simulator', () => {
  test.each([
    ['the WebSocket streams', true],
    ['REST polling alone (exchange.streams: false)', false],
  ])('places the grid, answers each fill with its counter-order, never places an order twice: fills from %s', async (_, streams) => {
    sim = await startBingxSimulator({ port: 0, market, fees, balance: { base: 0, quote: 10_000 }, price: 50_000 });
    const ccxt = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'sim-key', secret: 'sim-secret', exchangeUrl: sim.url });
    const exchange = (session = new ExchangeSession({
      exchange: ccxt,
      streams,
      symbols: ['BTC/USDT'],
      own: true,
      since: 0,
      pollIntervalMs: 100,
    }));
    session.start();
    const config = parseGridConfig({ symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01, fees });
    runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), submitTimeoutMs: 5_000 });
    const grid = runtime.actor;
    grid.send({ type: 'START', price: 50_000 });

    // Start: a market buy of 2 x 0.01 for the two sells, then 2 buys and 2 sells rest.
    await until(() => sim!.exchange.openOrderCount.buy === 2 && sim!.exchange.openOrderCount.sell === 2, 'the grid to rest');
    expect(grid.getSnapshot().matches({ active: 'running' })).toBe(true);

    // Down through 49000: the buy fills, its counter sell at 50000 is placed.
    sim.step(48_500);
    await until(() => grid.getSnapshot().context.stats.buyFills === 1 && sim!.exchange.openOrderCount.sell === 3, 'the counter sell');
    // Back up through 50000: that sell fills (a round trip), its counter buy at 49000 is placed.
    sim.step(50_500);
    await until(() => grid.getSnapshot().context.stats.roundTrips === 1 && sim!.exchange.openOrderCount.buy === 2, 'the round trip');

    const simOrders = (await (await fetch(`${sim.url}/__sim/orders`)).json()) as Array<{ clientOrderId: string; status: string; side: string; price: number }>;
    const simFills = (await (await fetch(`${sim.url}/__sim/fills`)).json()) as Array<{ clientOrderId: string }>;
    const ids = simOrders.map((order) => order.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length); // no order placed twice
    const stats = grid.getSnapshot().context.stats;
    expect(simFills).toHaveLength(1 + stats.buyFills + stats.sellFills); // the start buy + every limit fill, all booked
    expect(stats.gridProfit).toBeCloseTo(0.01 * 1000, 9);
    // The simulator's book, the bot's view of it through ccxt, and the grid's slots agree.
    const expected = ['buy@48000', 'buy@49000', 'sell@51000', 'sell@52000'];
    const resting = simOrders.filter((order) => order.status === 'open').map((o) => `${o.side}@${o.price}`);
    const seenByBot = (await exchange.fetchOpenOrders('BTC/USDT')).map((o) => `${o.side}@${o.price}`);
    const { slots, plan } = grid.getSnapshot().context;
    const gridView = slots.flatMap((slot, level) => (slot ? [`${slot.side}@${plan!.levels[level]}`] : []));
    expect([resting.sort(), seenByBot.sort(), gridView.sort()]).toEqual([expected, expected, expected]);
  });
});
