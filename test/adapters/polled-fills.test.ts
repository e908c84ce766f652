// withPolledFills: own fills found by REST polling reach subscribers once each, also mixed with a
// stream, and drive the grid exactly as streamed fills do.
import { setImmediate as settle } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { startGridRuntime } from '../../src/actors/grid-runtime.js';
import { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import { withPolledFills } from '../../src/adapters/exchange/polled-fills.js';
import type { ExchangeEvent, ExchangePort } from '../../src/adapters/exchange/port.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';

const SYMBOL = 'BTC/USDT';
const market = { symbol: SYMBOL, base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 0 };

function paper(now = () => 1_000): PaperExchange {
  const exchange = new PaperExchange({ market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, now });
  exchange.setPrice(100);
  return exchange;
}

/** The same exchange without its event stream: what the live adapter is until its WebSocket lands. */
function withoutStream(exchange: PaperExchange): ExchangePort {
  return new Proxy(exchange, { get: (target, key) => (key === 'subscribe' ? () => () => {} : Reflect.get(target, key, target)) });
}

function collect(port: ExchangePort): { fills: string[]; stop: () => void } {
  const fills: string[] = [];
  const stop = port.subscribe((event: ExchangeEvent) => {
    if (event.type === 'fill') fills.push(event.fill.tradeId);
  });
  return { fills, stop };
}

describe('withPolledFills', () => {
  test('a fill found by polling is delivered once, however often it is polled', async () => {
    const exchange = paper();
    const polled = withPolledFills(withoutStream(exchange), { symbols: [SYMBOL], intervalMs: 60_000, since: 0 });
    const { fills, stop } = collect(polled);
    await polled.createLimitOrder({ symbol: SYMBOL, side: 'buy', price: 99, amount: 1, clientOrderId: 'a' });
    while (exchange.step(98));
    await polled.pollNow();
    await polled.pollNow();
    expect(fills).toEqual(['T1']);
    stop();
  });

  test('a fill that comes both on the stream and by polling is delivered once', async () => {
    const exchange = paper();
    const polled = withPolledFills(exchange, { symbols: [SYMBOL], intervalMs: 60_000, since: 0 });
    const { fills, stop } = collect(polled);
    await polled.createLimitOrder({ symbol: SYMBOL, side: 'sell', price: 101, amount: 0.5, clientOrderId: 'b' });
    while (exchange.step(102));
    await settle(); // the stream's delivery
    await polled.pollNow();
    expect(fills).toEqual(['T1']);
    stop();
  });

  test('fills before `since` are not reported', async () => {
    let time = 1_000;
    const exchange = paper(() => time);
    await exchange.createLimitOrder({ symbol: SYMBOL, side: 'buy', price: 99, amount: 1, clientOrderId: 'old' });
    while (exchange.step(98));
    time = 5_000;
    const polled = withPolledFills(withoutStream(exchange), { symbols: [SYMBOL], intervalMs: 60_000, since: 2_000 });
    const { fills, stop } = collect(polled);
    await polled.createLimitOrder({ symbol: SYMBOL, side: 'buy', price: 97, amount: 1, clientOrderId: 'new' });
    while (exchange.step(96));
    await polled.pollNow();
    expect(fills).toEqual(['T2']);
    stop();
  });

  test('a failed poll is reported and the next one catches up', async () => {
    const exchange = paper();
    let failNext = true;
    const flaky = new Proxy(withoutStream(exchange), {
      get: (target, key) =>
        key === 'fetchFills'
          ? async (symbol: string, since?: number) => {
              if (failNext) {
                failNext = false;
                throw new Error('timeout');
              }
              return target.fetchFills(symbol, since);
            }
          : Reflect.get(target, key, target),
    });
    const errors: unknown[] = [];
    const polled = withPolledFills(flaky, { symbols: [SYMBOL], intervalMs: 60_000, since: 0, onError: (error) => errors.push(error) });
    const { fills, stop } = collect(polled);
    await polled.createLimitOrder({ symbol: SYMBOL, side: 'buy', price: 99, amount: 1, clientOrderId: 'c' });
    while (exchange.step(98));
    await polled.pollNow();
    expect([errors.length, fills]).toEqual([1, []]);
    await polled.pollNow();
    expect(fills).toEqual(['T1']);
    stop();
  });

  test('polls on its interval while someone listens, and stops when nobody does', async () => {
    const exchange = paper();
    let polls = 0;
    const counting = new Proxy(withoutStream(exchange), {
      get: (target, key) =>
        key === 'fetchFills' ? (symbol: string, since?: number) => (polls++, target.fetchFills(symbol, since)) : Reflect.get(target, key, target),
    });
    const polled = withPolledFills(counting, { symbols: [SYMBOL], intervalMs: 10, since: 0 });
    const { stop } = collect(polled);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop();
    const atStop = polls;
    expect(atStop).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(polls).toBe(atStop);
  });

  test('polled fills drive the grid: the counter-order is placed', async () => {
    const exchange = paper();
    const polled = withPolledFills(withoutStream(exchange), { symbols: [SYMBOL], intervalMs: 60_000, since: 0 });
    const config = parseGridConfig({ symbol: SYMBOL, lower: 90, upper: 110, levels: 5, quantityPerLevel: 1, market: { minNotional: 0 }, fees: { maker: 0.001, taker: 0.001 } });
    const runtime = startGridRuntime({ config, exchange: polled, store: new MemoryStore() });
    runtime.actor.send({ type: 'START', price: 100 });
    await settle();
    await polled.pollNow(); // the start's market buy
    await settle();
    expect(runtime.actor.getSnapshot().matches({ active: 'running' })).toBe(true);
    while (exchange.step(95)); // the buy at 95 fills
    await polled.pollNow();
    await settle();
    const open = await exchange.fetchOpenOrders(SYMBOL);
    expect(open.map((o) => `${o.side}@${o.price}`).sort()).toEqual(['buy@90', 'sell@100', 'sell@105', 'sell@110']);
    expect(runtime.actor.getSnapshot().context.stats.buyFills).toBe(1);
    runtime.stop();
  });
});
