// The paper account of paper and demo mode (src/actors/exchange/paper-account.ts): every change is
// saved before it is answered or told, so an account loaded after a crash holds exactly what its
// callers were told; a store that cannot save fails requests as retryable and tells nothing.
import { describe, expect, test } from 'vitest';
import { PaperAccount } from '../../src/actors/exchange/paper-account.js';
import type { ExchangeEvent, MarketInfo } from '../../src/adapters/exchange/port.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { exchangeErrorOf } from '../support/exchange-error.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const options = { market, fees: { maker: 0.001, taker: 0.001 }, now: Date.now };
const ID = 'paper:BTC/USDT';

/** A store whose saves fail while `down` is set. */
class FlakyStore extends MemoryStore {
  down = false;
  override async savePaperAccount(id: string, state: unknown): Promise<void> {
    if (this.down) throw new Error('connection refused');
    return super.savePaperAccount(id, state);
  }
}

describe('PaperAccount', () => {
  test('an account loaded from the store holds every order and fill its callers were told of, with the same ids', async () => {
    const store = new MemoryStore();
    const account = await PaperAccount.create(ID, store, options, { base: 0, quote: 1_000 }, 50_000);
    const buy = await account.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000, amount: 0.001, clientOrderId: 'bbg_0b1' });
    await account.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 48_000, amount: 0.001, clientOrderId: 'bbg_1b1' });
    while (await account.step(48_500));
    await account.markWalked(1_700_000_000_000, true);

    const loaded = (await PaperAccount.load(ID, store, options))!;
    expect(loaded.walkedThrough).toBe(1_700_000_000_000);
    expect(loaded.lastPrice).toBe(48_500);
    expect(await loaded.fetchOpenOrders('BTC/USDT')).toEqual(await account.fetchOpenOrders('BTC/USDT'));
    expect(await loaded.fetchFills('BTC/USDT')).toEqual(await account.fetchFills('BTC/USDT'));
    expect(await loaded.fetchOrderByClientId('bbg_0b1', 'BTC/USDT')).toMatchObject({ id: buy.id, status: 'closed', filled: 0.001 });
    expect(await loaded.fetchBalance()).toEqual(await account.fetchBalance());
    // Ids go on from where they were: a new order never takes a used id.
    const next = await loaded.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 47_000, amount: 0.001, clientOrderId: 'bbg_2b1' });
    expect(next.id).not.toBe(buy.id);
    expect(next.id.startsWith(buy.id.slice(0, buy.id.indexOf('-') + 1))).toBe(true);
  });

  test('a save that fails fails the request as retryable and tells nothing; the next request saves first, then tells', async () => {
    const store = new FlakyStore();
    const account = await PaperAccount.create(ID, store, options, { base: 0, quote: 1_000 }, 50_000);
    const events: ExchangeEvent[] = [];
    account.subscribe((event) => events.push(event));
    store.down = true;
    const error = await exchangeErrorOf(account.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000, amount: 0.001, clientOrderId: 'bbg_0b1' }));
    expect(error).toMatchObject({ kind: 'retryable', code: 'PAPER_ACCOUNT_UNSAVED' });
    expect(error.message).toContain('could not save its account paper:BTC/USDT');
    // Still down: nothing proceeds on the unsaved change, and a crash now would lose it whole.
    await expect(account.fetchOpenOrders('BTC/USDT')).rejects.toMatchObject({ kind: 'retryable' });
    expect(await PaperAccount.load(ID, store, options).then((loaded) => loaded!.fetchOpenOrders('BTC/USDT'))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events).toEqual([]);
    // Back: the look-up (what an order actor does after an ambiguous create) finds it, saved, and its event is told.
    store.down = false;
    expect(await account.fetchOrderByClientId('bbg_0b1', 'BTC/USDT')).toMatchObject({ status: 'open', price: 49_000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events.map((event) => event.type)).toEqual(['order']);
    expect(await PaperAccount.load(ID, store, options).then((loaded) => loaded!.fetchOpenOrders('BTC/USDT'))).toHaveLength(1);
  });

  test('a fill is told only after the account holding it is saved', async () => {
    const store = new FlakyStore();
    const account = await PaperAccount.create(ID, store, options, { base: 0, quote: 1_000 }, 50_000);
    await account.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000, amount: 0.001, clientOrderId: 'bbg_0b1' });
    const fills: string[] = [];
    account.subscribe((event) => {
      if (event.type === 'fill') fills.push(event.fill.clientOrderId);
    });
    store.down = true;
    await expect(account.step(48_000)).rejects.toMatchObject({ kind: 'retryable' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fills).toEqual([]);
    store.down = false;
    expect(await account.step(48_000)).toBe(false); // the walk goes on: the fill is saved first, then told
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fills).toEqual(['bbg_0b1']);
  });

  test('the saved account keeps every open order and only the last 200 closed orders and fills', async () => {
    const store = new MemoryStore();
    const account = await PaperAccount.create(ID, store, options, { base: 0, quote: 1_000_000 }, 50_000);
    await account.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 10_000, amount: 0.001, clientOrderId: 'resting' });
    for (let i = 0; i < 250; i++) await account.createMarketOrder({ symbol: 'BTC/USDT', side: 'buy', amount: 0.001, clientOrderId: `m${i}` });
    const saved = JSON.parse(store.paperAccounts.get(ID)!) as { exchange: { orders: Array<{ clientOrderId: string }>; fills: unknown[] } };
    expect(saved.exchange.fills).toHaveLength(200);
    expect(saved.exchange.orders).toHaveLength(201);
    expect(saved.exchange.orders.map((order) => order.clientOrderId)).toContain('resting');
    expect(saved.exchange.orders.at(-1)!.clientOrderId).toBe('m249');
  });
});
