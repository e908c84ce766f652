// A scripted live exchange for session tests: the test decides when each watch resolves (a tick,
// a fill) or when the sockets drop, and what REST answers. Requests the session only passes
// through are not needed and throw.
import type { Fill } from '../../src/domain/trading.js';
import { ExchangeError, type ExchangeOrder, type StreamingExchange, type Tick } from '../../src/adapters/exchange/port.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export class FakeStreamingExchange implements StreamingExchange {
  readonly exchangeId = 'fake';
  canStream = { ticker: true, own: true };
  price = 100;
  /** Every fill the exchange made (REST fetchFills answers from it). */
  readonly fills: Fill[] = [];
  closeCount = 0;
  fetchTickCount = 0;
  fetchFillsCount = 0;
  /** When set, every new watch rejects with it at once (a refused connection, a revoked key). */
  refuseWatches: ExchangeError | undefined;
  private tickWaiters: Array<Waiter<Tick>> = [];
  private fillWaiters: Array<Waiter<Fill[]>> = [];
  private orderWaiters: Array<Waiter<ExchangeOrder[]>> = [];
  private nextTrade = 1;

  get watching(): { ticks: number; fills: number; orders: number } {
    return { ticks: this.tickWaiters.length, fills: this.fillWaiters.length, orders: this.orderWaiters.length };
  }

  /** The ticker stream says `price` (to every pending ticker watch). */
  pushTick(price: number, timestamp = Date.now()): void {
    this.price = price;
    for (const waiter of this.take(this.tickWaiters)) waiter.resolve({ symbol: 'BTC/USDT', price, timestamp });
  }

  /** The exchange fills something; `streamed` says whether the pending own-fill watches hear of it. */
  makeFill(streamed: boolean, timestamp = Date.now()): Fill {
    const id = this.nextTrade++;
    const fill: Fill = {
      tradeId: `T${id}`,
      orderId: `O${id}`,
      clientOrderId: `bbtest_${id}b0`,
      symbol: 'BTC/USDT',
      side: 'buy',
      price: this.price,
      amount: 0.01,
      fee: 0.001,
      takerOrMaker: 'maker',
      timestamp,
    };
    this.fills.push(fill);
    if (streamed) for (const waiter of this.take(this.fillWaiters)) waiter.resolve([fill]);
    return fill;
  }

  /** The network drops every socket: pending watches reject as ccxt's do. */
  dropSockets(): void {
    this.rejectAll(new ExchangeError('retryable', 'connection closed by remote server, closing code 1006', 'NETWORK'));
  }

  async closeStreams(): Promise<void> {
    this.closeCount++;
    this.rejectAll(new ExchangeError('retryable', 'fake closedByUser', 'CLOSED'));
  }

  watchTick(): Promise<Tick> {
    return this.wait(this.tickWaiters);
  }

  watchOwnFills(): Promise<Fill[]> {
    return this.wait(this.fillWaiters);
  }

  watchOwnOrders(): Promise<ExchangeOrder[]> {
    return this.wait(this.orderWaiters);
  }

  async fetchTick(symbol: string): Promise<Tick> {
    this.fetchTickCount++;
    return { symbol, price: this.price, timestamp: Date.now() };
  }

  async fetchFills(_symbol: string, since?: number): Promise<Fill[]> {
    this.fetchFillsCount++;
    return this.fills.filter((fill) => since === undefined || fill.timestamp >= since);
  }

  async loadMarket(symbol: string) {
    return { symbol, base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
  }

  createLimitOrder(): never {
    throw new Error('not used');
  }
  createMarketOrder(): never {
    throw new Error('not used');
  }
  cancelOrder(): never {
    throw new Error('not used');
  }
  fetchOrderByClientId(): never {
    throw new Error('not used');
  }
  fetchOpenOrders(): never {
    throw new Error('not used');
  }
  fetchBalance(): never {
    throw new Error('not used');
  }

  private wait<T>(waiters: Array<Waiter<T>>): Promise<T> {
    if (this.refuseWatches) return Promise.reject(this.refuseWatches);
    return new Promise<T>((resolve, reject) => waiters.push({ resolve, reject }));
  }

  private take<T>(waiters: Array<Waiter<T>>): Array<Waiter<T>> {
    return waiters.splice(0, waiters.length);
  }

  private rejectAll(error: ExchangeError): void {
    for (const waiter of [...this.take(this.tickWaiters), ...this.take(this.fillWaiters), ...this.take(this.orderWaiters)]) waiter.reject(error);
  }
}
