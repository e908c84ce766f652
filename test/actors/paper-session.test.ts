// The exchange session of paper and demo mode (src/actors/exchange/paper-session.ts): it opens
// the paper account at the first price, walks the price targets (holding after the first one
// until the grids trade), tells every price as a tick, resumes a replay after the last candle
// walked, waits out a database that cannot save, and hands the accounts from one session to
// the next only once the first has stopped.
import { afterEach, describe, expect, test } from 'vitest';
import { PaperSession, type AccountHandoff } from '../../src/actors/exchange/paper-session.js';
import type { MarketInfo, Tick } from '../../src/adapters/exchange/port.js';
import type { PriceTarget } from '../../src/adapters/feed/price-feeds.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { until } from '../support/until.js';

const grid = parseGridConfig({ id: 'ps', symbol: 'BTC/USDT', lower: 40_000, upper: 60_000, levels: 5, quantityPerLevel: 0.01, balance: { quote: 2_000 } });
const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };

/** Price targets handed out one by one by the test (`push`), ending with `end()`. */
function scriptedPrices() {
  const queue: PriceTarget[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const afters: Array<number | undefined> = [];
  return {
    afters,
    push: (...targets: PriceTarget[]) => {
      queue.push(...targets);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
    prices: (after: number | undefined, signal: AbortSignal) => {
      afters.push(after);
      signal.addEventListener('abort', () => wake?.());
      return (async function* () {
        while (!signal.aborted) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          if (ended) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      })();
    },
  };
}

const sessions: PaperSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.stop()));
});

function openSession(store: MemoryStore, feed: ReturnType<typeof scriptedPrices>, handoff: AccountHandoff, extra: { hold?: () => Promise<void>; onEnded?: () => void } = {}) {
  const session = new PaperSession({
    grids: [grid],
    store,
    market: async () => market,
    prices: feed.prices,
    handoff,
    ...(extra.hold === undefined ? {} : { holdAfterFirstPrice: extra.hold }),
    ...(extra.onEnded === undefined ? {} : { onPricesEnded: extra.onEnded }),
  });
  sessions.push(session);
  session.start();
  return session;
}

describe('PaperSession', () => {
  test('opens the account at the first price with the grid balance, holds until the grids trade, then walks and tells each price', async () => {
    const store = new MemoryStore();
    const feed = scriptedPrices();
    let trade!: () => void;
    const session = openSession(store, feed, { previous: Promise.resolve() }, { hold: () => new Promise<void>((resolve) => (trade = resolve)) });
    const ticks: Tick[] = [];
    session.onTick((tick) => ticks.push(tick));
    feed.push({ price: 50_000, time: 1 }, { price: 49_000, time: 1, candleEnd: true });
    expect(await session.firstTick('BTC/USDT')).toMatchObject({ symbol: 'BTC/USDT', price: 50_000 });
    expect(await session.fetchBalance()).toMatchObject({ USDT: { free: 2_000, total: 2_000 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ticks.map((tick) => tick.price)).toEqual([50_000]); // held
    await session.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_500, amount: 0.01, clientOrderId: 'bbps_1b1' });
    trade();
    await until(() => ticks.length === 3, 'the walk on');
    // Stopped at the fill (told as a tick there), then on to the target.
    expect(ticks.map((tick) => tick.price)).toEqual([50_000, 49_500, 49_000]);
    expect(await session.fetchOrderByClientId('bbps_1b1', 'BTC/USDT')).toMatchObject({ status: 'closed' });
    expect(JSON.parse(store.paperAccounts.get('paper:BTC/USDT')!)).toMatchObject({ walkedThrough: 1 });
    expect(session.health()).toMatchObject({ healthy: true, state: 'replaying' });
  });

  test('a new session resumes after the last candle walked, on the same account, once the one before has stopped', async () => {
    const store = new MemoryStore();
    const handoff: AccountHandoff = { previous: Promise.resolve() };
    const first = scriptedPrices();
    const one = openSession(store, first, handoff);
    first.push({ price: 50_000, time: 1, candleEnd: true }, { price: 50_100, time: 2, candleEnd: true });
    await one.createLimitOrder({ symbol: 'BTC/USDT', side: 'sell', price: 55_000, amount: 0.001, clientOrderId: 'bbps_3s1' }).catch(() => undefined);
    await until(() => (JSON.parse(store.paperAccounts.get('paper:BTC/USDT') ?? '{}') as { walkedThrough?: number }).walkedThrough === 2, 'two candles walked');
    const stopping = one.stop();
    const second = scriptedPrices();
    const two = openSession(store, second, handoff);
    await stopping;
    second.push({ price: 50_200, time: 3, candleEnd: true });
    await until(() => second.afters.length === 1, 'the second walk');
    expect(second.afters).toEqual([2]);
    expect(await two.fetchOpenOrders('BTC/USDT')).toEqual(await one.fetchOpenOrders('BTC/USDT'));
  });

  test('the end of the prices is told; a store that cannot save makes it unhealthy until it saves again', async () => {
    const store = new MemoryStore();
    const feed = scriptedPrices();
    let ended = false;
    const session = openSession(store, feed, { previous: Promise.resolve() }, { onEnded: () => (ended = true) });
    feed.push({ price: 50_000, time: 1, candleEnd: true });
    await session.firstTick('BTC/USDT');
    const save = store.savePaperAccount.bind(store);
    let down = true;
    store.savePaperAccount = async (id, state) => {
      if (down) throw new Error('connection refused');
      return save(id, state);
    };
    feed.push({ price: 50_100, time: 2, candleEnd: true });
    await until(() => session.health().healthy === false, 'unhealthy');
    expect(session.health()).toMatchObject({ state: 'unsaved', reason: expect.stringContaining('waits for the database') });
    down = false;
    feed.end();
    await until(() => ended, 'the end told', 5_000);
    expect(session.health()).toMatchObject({ healthy: true, state: 'ended' });
  });
});
