// The exchange's REST calls timed at the adapter (timedRequests) and read by /health's exchange_api
// component (RecentRequests): every request method timed once, the rest passed through; latency the
// median of the recent answers; unhealthy when calls keep failing for 30 s, a call hanging past 5 s
// counting as failing.
import { describe, expect, test } from 'vitest';
import { ExchangeError, type ExchangeRequests } from '../../src/adapters/exchange/port.js';
import { RecentRequests, TIMED_CALLS, timedRequests, type RequestResult } from '../../src/adapters/exchange/timed-requests.js';
import { timedWrites, STORE_WRITES } from '../../src/adapters/store/timed-store.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';

/** An exchange whose calls answer as the test says; it counts its own calls and has a private helper, a getter and a stream. */
class FakeExchange {
  readonly exchangeId = 'fakex';
  private readonly secret = 'only-inside';
  calls = 0;
  failNext: ExchangeError | Error | undefined;
  get canStream() {
    return { ticker: true, own: this.secret === 'only-inside' };
  }
  private async answer<T>(value: T): Promise<T> {
    this.calls++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    return value;
  }
  loadMarket = (symbol: string) => this.answer({ symbol, base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 });
  createLimitOrder = () => this.answer({} as never);
  createMarketOrder = () => this.answer({} as never);
  cancelOrder = () => this.answer({} as never);
  fetchOrderByClientId = () => this.answer(undefined);
  fetchOpenOrders = () => this.answer([]);
  fetchFills = () => this.answer([]);
  fetchBalance = () => this.answer({});
  async fetchTick(symbol: string) {
    return this.answer({ symbol, price: 50_000, timestamp: 1 });
  }
  async watchTick(symbol: string) {
    return { symbol, price: 1, timestamp: 1 };
  }
}

describe('timedRequests', () => {
  test('times every request method, once per call, with its outcome; getters, private state and streams pass through', async () => {
    const fake = new FakeExchange();
    const results: RequestResult[] = [];
    const begun: string[] = [];
    const exchange = timedRequests(fake as FakeExchange & ExchangeRequests, (exchangeId, call) => {
      begun.push(`${exchangeId}/${call}`);
      return (result) => results.push(result);
    });
    await exchange.fetchTick('BTC/USDT');
    await exchange.fetchOpenOrders('BTC/USDT');
    fake.failNext = new ExchangeError('retryable', 'ECONNRESET');
    await expect(exchange.fetchBalance()).rejects.toThrow('ECONNRESET');
    fake.failNext = new ExchangeError('rejected', 'insufficient funds');
    await expect(exchange.createLimitOrder({} as never)).rejects.toThrow('insufficient funds');
    fake.failNext = new TypeError('a bug');
    await expect(exchange.cancelOrder('x', 'BTC/USDT')).rejects.toThrow('a bug');
    expect(begun).toEqual(['fakex/fetchTick', 'fakex/fetchOpenOrders', 'fakex/fetchBalance', 'fakex/createLimitOrder', 'fakex/cancelOrder']);
    expect(results.map(({ call, error }) => ({ call, error }))).toEqual([
      { call: 'fetchTick', error: undefined },
      { call: 'fetchOpenOrders', error: undefined },
      { call: 'fetchBalance', error: 'retryable' },
      { call: 'createLimitOrder', error: 'rejected' },
      { call: 'cancelOrder', error: 'unknown' },
    ]);
    for (const result of results) {
      expect(result.exchange).toBe('fakex');
      expect(result.seconds).toBeGreaterThanOrEqual(0.004);
      expect(result.seconds).toBeLessThan(1);
    }
    expect(fake.calls).toBe(5);
    // Not timed: streams, getters, identity.
    expect(await exchange.watchTick('BTC/USDT')).toMatchObject({ price: 1 });
    expect(exchange.canStream).toEqual({ ticker: true, own: true });
    expect(exchange.exchangeId).toBe('fakex');
    expect(results).toHaveLength(5);
    expect(TIMED_CALLS).toContain('fetchFills');
  });

  test('an observer that throws breaks no call, and the others are still told', async () => {
    const told: string[] = [];
    const exchange = timedRequests(
      new FakeExchange() as FakeExchange & ExchangeRequests,
      () => {
        throw new Error('observer bug at the start');
      },
      () => () => {
        throw new Error('observer bug at the end');
      },
      (_, call) => () => told.push(call),
    );
    await expect(exchange.fetchFills('BTC/USDT')).resolves.toEqual([]);
    expect(told).toEqual(['fetchFills']);
  });
});

describe('RecentRequests (exchange_api)', () => {
  const result = (seconds: number, error?: RequestResult['error']): RequestResult => ({ exchange: 'x', call: 'fetchTick', seconds, ...(error === undefined ? {} : { error }) });

  test('latency: the median of the last answered calls; none yet is null', () => {
    const requests = new RecentRequests({ window: 3 });
    expect(requests.health()).toEqual({ status: 'healthy', latency_ms: null });
    for (const seconds of [0.9, 0.01, 0.03, 0.02]) requests.observe('x', 'fetchTick')(result(seconds));
    expect(requests.health()).toEqual({ status: 'healthy', latency_ms: 20 }); // 10, 30, 20 (the 900 ms one left the window)
    requests.observe('x', 'fetchTick')(result(0.04));
    expect(requests.health().latency_ms).toBe(30); // 30, 20, 40
    // A refusal is an answer (the API works): its duration counts, it is no failure.
    requests.observe('x', 'createLimitOrder')(result(0.05, 'rejected'));
    expect(requests.health()).toEqual({ status: 'healthy', latency_ms: 40 });
  });

  test('unhealthy once calls have failed for 30 s with no success between; healthy again at the next success', () => {
    let now = 0;
    const requests = new RecentRequests({ now: () => now });
    const call = (error?: RequestResult['error']) => requests.observe('x', 'fetchTick')(result(0.01, error));
    call();
    call('retryable');
    now += 20_000;
    call('retryable');
    expect(requests.health().status).toBe('healthy'); // failing for 20 s
    now += 10_000;
    call('retryable');
    expect(requests.health()).toEqual({ status: 'unhealthy', latency_ms: 10, reason: "the exchange's REST API has been failing for 30 s (fetchTick: retryable)" });
    call();
    expect(requests.health()).toEqual({ status: 'healthy', latency_ms: 10 });
    // One failure alone, however old, is not "failing for a while".
    call('auth');
    now += 60_000;
    expect(requests.health().status).toBe('healthy');
  });

  test('a call unanswered for 5 s is failing from then on: unhealthy 30 s later, read at once while it still hangs', () => {
    let now = 0;
    const requests = new RecentRequests({ now: () => now });
    requests.observe('x', 'fetchTick')(result(0.02));
    const end = requests.observe('x', 'createLimitOrder');
    now += 4_000;
    expect(requests.health().status).toBe('healthy');
    now += 31_000; // 35 s after it began: failing for 30 s
    expect(requests.health()).toEqual({ status: 'unhealthy', latency_ms: 20, reason: "the exchange's REST API has been failing for 30 s (a createLimitOrder call has had no answer for 35 s)" });
    // Another call answered meanwhile: the API works; the hanging call counts as failing only from then on.
    requests.observe('x', 'fetchTick')(result(0.02));
    expect(requests.health().status).toBe('healthy');
    end(result(36));
    expect(requests.health().status).toBe('healthy');
  });
});

describe('timedWrites', () => {
  test('times every store write (failed ones too); reads pass through untimed', async () => {
    const store = new MemoryStore();
    const timed: string[] = [];
    const seconds: number[] = [];
    const wrapped = timedWrites(store, (operation, took) => {
      timed.push(operation);
      seconds.push(took);
    });
    const intent = { clientOrderId: 'bbt_1b1', symbol: 'BTC/USDT', side: 'buy' as const, type: 'limit' as const, price: 100, amount: 1, level: 1 };
    expect(await wrapped.recordIntent('t', intent)).toBe(true);
    await wrapped.recordOrderUpdate('bbt_1b1', { status: 'open', exchangeOrderId: '1' });
    await wrapped.saveGridSnapshot('t', '"active"', {}, 1);
    expect(await wrapped.gridSnapshot('t')).toMatchObject({ state: '"active"' });
    expect(timed).toEqual(['recordIntent', 'recordOrderUpdate', 'saveGridSnapshot']);
    for (const took of seconds) expect(took).toBeGreaterThanOrEqual(0);
    store.recordFill = () => Promise.reject(new Error('connection lost'));
    const failing = timedWrites(store, (operation) => timed.push(operation));
    await expect(failing.recordFill({} as never)).rejects.toThrow('connection lost');
    expect(timed.at(-1)).toBe('recordFill');
    expect(STORE_WRITES).toEqual(['recordIntent', 'recordFill', 'recordOrderUpdate', 'saveGridSnapshot', 'appendEvents']);
  });
});
