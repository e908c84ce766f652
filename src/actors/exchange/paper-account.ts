// A paper exchange account that outlives the process (paper and demo mode): a PaperExchange whose
// every change is saved to the store before anyone hears of it. The paper exchange is these
// modes' exchange, and an exchange does not forget: after a restart, a SIGKILL or an image update
// the same account continues, with its balances, open orders, recent fills and trade ids.
//
// Write-ahead, as the exchange side of it: a request that changes the account (an order created or
// cancelled, a price move that fills) is answered, and its events (fills, order updates) are
// delivered, only once the account is saved. A crash before the save loses the change as if the
// request had never reached the exchange: the grid's order actors look the order up by its client
// id and send it again, so nothing is placed twice and no fill is told that the account forgot.
// A save that fails (the database is down) fails the request as retryable, and every later
// request first saves again: nothing unsaved is ever shown.
//
// Requests are served one at a time, in order (a real account's matching engine is serial too).
import type { Fill } from '../../domain/trading.js';
import { ExchangeError, type AssetBalance, type ExchangeEvent, type ExchangeOrder, type ExchangePort, type LimitOrderRequest, type MarketInfo, type MarketOrderRequest } from '../../adapters/exchange/port.js';
import { PaperExchange, type PaperExchangeOptions, type PaperExchangeState } from '../../adapters/exchange/paper-exchange.js';
import type { PaperAccountStore } from '../../adapters/store/port.js';

/** What is saved of an account. */
export interface SavedPaperAccount {
  readonly version: 1;
  /** This account's order and trade id prefix (its creation time): a new account never reuses a stored trade id. */
  readonly idPrefix: string;
  readonly exchange: PaperExchangeState;
  /** Paper mode: the time of the last candle walked to its close (the replay resumes after it). */
  readonly walkedThrough?: number;
}

/** Closed orders and fills kept in the saved account (every open order is kept): enough for look-ups and a restart's catch-up. */
const KEPT_HISTORY = 200;

export interface PaperAccountOptions {
  readonly market: MarketInfo;
  readonly fees: { readonly maker: number; readonly taker: number };
  readonly now: () => number;
}

export class PaperAccount implements ExchangePort {
  private queue: Promise<unknown> = Promise.resolve();
  /** Events of changes not saved yet. */
  private held: ExchangeEvent[] = [];
  private unsaved = false;
  private readonly listeners = new Set<(event: ExchangeEvent) => void>();
  private walkedThroughTime: number | undefined;
  /** When the account last served a request (the walk waits for the grid's requests to end before it moves on). */
  private lastRequestAt = 0;
  private requestsUnderWay = 0;

  private constructor(
    /** The store key: one account per symbol. */
    readonly id: string,
    private readonly exchange: PaperExchange,
    private readonly store: PaperAccountStore,
    private readonly idPrefix: string,
    private readonly now: () => number,
    walkedThrough: number | undefined,
  ) {
    this.walkedThroughTime = walkedThrough;
    exchange.subscribe((event) => this.held.push(event));
  }

  /** The account as saved, or undefined when it has never been saved. */
  static async load(id: string, store: PaperAccountStore, options: PaperAccountOptions): Promise<PaperAccount | undefined> {
    const saved = (await store.paperAccount(id)) as SavedPaperAccount | undefined;
    if (saved === undefined) return undefined;
    if (saved.version !== 1) throw new Error(`paper account ${id}: saved by a newer btcbot (version ${String(saved.version)}): run that version, or remove the account to start a new one`);
    // JSON has no NaN: an account saved before its first price has price null.
    const exchangeState = { ...saved.exchange, price: saved.exchange.price ?? Number.NaN };
    const exchange = PaperExchange.restore(exchangeOptions(options, saved.idPrefix, { base: 0, quote: 0 }), exchangeState);
    return new PaperAccount(id, exchange, store, saved.idPrefix, options.now, saved.walkedThrough);
  }

  /** A new account holding `balance`, at `price`; saved before it is returned. */
  static async create(id: string, store: PaperAccountStore, options: PaperAccountOptions, balance: { base: number; quote: number }, price: number): Promise<PaperAccount> {
    const idPrefix = `${options.now().toString(36)}-`;
    const exchange = new PaperExchange(exchangeOptions(options, idPrefix, balance));
    exchange.setPrice(price);
    const account = new PaperAccount(id, exchange, store, idPrefix, options.now, undefined);
    account.unsaved = true;
    await account.serially(() => undefined);
    return account;
  }

  get lastPrice(): number {
    return this.exchange.lastPrice;
  }

  get walkedThrough(): number | undefined {
    return this.walkedThroughTime;
  }

  /** Wallet value at `price` (quote + base * price). */
  equityAt(price: number): number {
    return this.exchange.equityAt(price);
  }

  /**
   * One step of the price towards `target` (PaperExchange.step): true when orders filled on the way
   * (saved, their fills told); call again until false.
   */
  step(target: number): Promise<boolean> {
    return this.serially(() => {
      if (!Number.isFinite(this.exchange.lastPrice)) {
        this.exchange.setPrice(target);
        return false;
      }
      const filled = this.exchange.step(target);
      if (filled) this.unsaved = true;
      return filled;
    });
  }

  /** Paper mode: the candle at `time` is walked to its close; saved with the next change, or now when `save`. */
  markWalked(time: number, save: boolean): Promise<void> {
    return this.serially(() => {
      this.walkedThroughTime = time;
      if (save) this.unsaved = true;
    });
  }

  /** Resolves once no request has been under way for `quietMs` (at most `capMs`): the grid has answered the last fill. */
  async quiet(quietMs: number, capMs: number): Promise<void> {
    const deadline = performance.now() + capMs;
    for (;;) {
      const idleFor = this.requestsUnderWay > 0 ? 0 : performance.now() - this.lastRequestAt;
      if (idleFor >= quietMs || performance.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, quietMs - idleFor)));
    }
  }

  // ---- the exchange port: each request in turn, answered once the account is saved ----------

  loadMarket(symbol: string): Promise<MarketInfo> {
    return this.request(() => this.exchange.loadMarket(symbol));
  }

  createLimitOrder(request: LimitOrderRequest): Promise<ExchangeOrder> {
    return this.request(() => this.exchange.createLimitOrder(request), true);
  }

  createMarketOrder(request: MarketOrderRequest): Promise<ExchangeOrder> {
    return this.request(() => this.exchange.createMarketOrder(request), true);
  }

  cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    return this.request(() => this.exchange.cancelOrder(clientOrderId, symbol), true);
  }

  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | undefined> {
    return this.request(() => this.exchange.fetchOrderByClientId(clientOrderId, symbol));
  }

  fetchOpenOrders(symbol: string): Promise<ExchangeOrder[]> {
    return this.request(() => this.exchange.fetchOpenOrders(symbol));
  }

  fetchFills(symbol: string, since?: number): Promise<Fill[]> {
    return this.request(() => this.exchange.fetchFills(symbol, since));
  }

  fetchBalance(): Promise<Record<string, AssetBalance>> {
    return this.request(() => this.exchange.fetchBalance());
  }

  subscribe(listener: (event: ExchangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** A request of the grid: counted for quiet(); `changes` marks the account to be saved when it succeeds. */
  private async request<T>(operation: () => Promise<T>, changes = false): Promise<T> {
    this.requestsUnderWay++;
    try {
      return await this.serially(async () => {
        const result = await operation();
        if (changes) this.unsaved = true;
        return result;
      });
    } finally {
      this.requestsUnderWay--;
      this.lastRequestAt = performance.now();
    }
  }

  /** Runs `operation` after every earlier one; saves what is unsaved (before and after it), then tells the held events. */
  private serially<T>(operation: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.saveIfNeeded(); // a save that failed earlier: nothing proceeds on unsaved state
      const result = await operation();
      await this.saveIfNeeded();
      this.tell();
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async saveIfNeeded(): Promise<void> {
    if (!this.unsaved) return;
    const state: SavedPaperAccount = {
      version: 1,
      idPrefix: this.idPrefix,
      exchange: compact(this.exchange.snapshot()),
      ...(this.walkedThroughTime === undefined ? {} : { walkedThrough: this.walkedThroughTime }),
    };
    try {
      await this.store.savePaperAccount(this.id, state);
    } catch (error) {
      throw new ExchangeError('retryable', `the paper exchange could not save its account ${this.id} (${error instanceof Error ? error.message : String(error)}); retried when the database is back`, 'PAPER_ACCOUNT_UNSAVED');
    }
    this.unsaved = false;
  }

  /** Delivers the saved changes' events, after the caller's answer (never inside its call), in order. */
  private tell(): void {
    if (this.held.length === 0) return;
    const events = this.held;
    this.held = [];
    queueMicrotask(() => {
      for (const event of events) for (const listener of this.listeners) listener(event);
    });
  }
}

function exchangeOptions(options: PaperAccountOptions, idPrefix: string, balance: { base: number; quote: number }): PaperExchangeOptions {
  return { market: options.market, fees: options.fees, balance, now: options.now, idPrefix };
}

/** The saved form keeps every open order and only the recent history: a save's size does not grow with the account's age. */
function compact(state: PaperExchangeState): PaperExchangeState {
  const open = state.orders.filter((order) => order.status === 'open');
  const closed = state.orders.filter((order) => order.status !== 'open').slice(-KEPT_HISTORY);
  return { ...state, orders: [...closed, ...open].sort((a, b) => a.timestamp - b.timestamp), fills: state.fills.slice(-KEPT_HISTORY) };
}
