// The paper exchange: an in-process exchange for backtest, paper and demo modes.
//
// It matches resting limit orders along a continuous price path (the candle walk of
// docs/grid-rules.md): the caller moves the price with `step(target)`, which stops at the first
// price where an order fills, so the actors can place the counter-order before the walk goes on.
// Wallet, locked funds and fees follow docs/grid-rules.md: fees in quote, limit fills pay maker,
// market orders taker; an open buy locks q*p*(1+maker) quote, an open sell locks q base; an order
// whose funds are not free is rejected with "insufficient funds", as a real exchange would.
//
// The market's filters apply as they do live, where the ccxt adapter quantises an order before
// the exchange sees it and the exchange then checks it: the amount is truncated to the amount step
// (ccxt's amountToPrecision: 0.029119999999999997 at 0.00001 is 0.02911; one that truncates to 0
// is refused, INVALID_ORDER), the price rounded to the nearest price step (priceToPrecision), and
// an order worth less than minNotional is refused (MIN_NOTIONAL; a limit order at its price, a
// market order at the market price). The order then holds, and fills, the quantised numbers, so
// an intent that was not a multiple shows up here as it would live.
//
// Own-order events are delivered asynchronously (microtasks, FIFO), never inside the call that
// caused them, so a listener never re-enters the exchange mid-operation; the order stays
// deterministic.
import type { Fill, Side } from '../../domain/trading.js';
import { fits, reachesMinNotional, roundToStep, truncateToStep } from '../../domain/steps.js';
import {
  type AssetBalance,
  ExchangeError,
  type ExchangeEvent,
  type ExchangeOrder,
  type ExchangePort,
  type LimitOrderRequest,
  type MarketInfo,
  type MarketOrderRequest,
} from './port.js';

export interface PaperExchangeOptions {
  readonly market: MarketInfo;
  readonly fees: { readonly maker: number; readonly taker: number };
  readonly balance: { readonly base: number; readonly quote: number };
  /** Current time in ms (the virtual clock in a backtest). */
  readonly now: () => number;
  /** Keep every fill for fetchFills (off in long backtests to save memory). */
  readonly keepFills?: boolean;
  /**
   * Partial fills (the simulator's fault injection): asked once per resting order, when the price
   * first reaches it, with the order's amount; a base amount in (0, amount) fills only that part,
   * and the rest waits until the price passes through the order's price or comes back to it.
   * Anything else (or no hook) fills the order whole.
   */
  readonly splitFill?: (amount: number) => number | undefined;
  /**
   * Put before every order id (P1...) and trade id (T1...): an account kept in a store across
   * restarts gives each life of the account its own ids (fills are stored by trade id).
   */
  readonly idPrefix?: string;
}

interface RestingOrder {
  id: string;
  clientOrderId: string;
  side: Side;
  type: 'limit' | 'market';
  price: number;
  amount: number;
  filled: number;
  status: ExchangeOrder['status'];
  timestamp: number;
  /** Funds held for this order: quote for a buy, base for a sell. */
  locked: number;
}

/** Everything needed to continue a paper exchange later (JSON-safe). */
export interface PaperExchangeState {
  price: number;
  base: { total: number; locked: number };
  quote: { total: number; locked: number };
  orders: RestingOrder[];
  nextOrderId: number;
  nextTradeId: number;
  feesPaid: number;
  fills: Fill[];
}

const REJECTED_FUNDS = 'INSUFFICIENT_FUNDS';

export class PaperExchange implements ExchangePort {
  private readonly market: MarketInfo;
  private readonly fees: { maker: number; taker: number };
  private readonly now: () => number;
  private readonly keepFills: boolean;
  private readonly splitFill: ((amount: number) => number | undefined) | undefined;
  private readonly idPrefix: string;
  private price = Number.NaN;
  private readonly base = { total: 0, locked: 0 };
  private readonly quote = { total: 0, locked: 0 };
  /** Resting buys by price ascending (best bid last) and sells by price descending (best ask last). */
  private readonly bids: RestingOrder[] = [];
  private readonly asks: RestingOrder[] = [];
  /** Every order ever accepted, by client id (also the closed ones, for lookups). */
  private readonly byClientId = new Map<string, RestingOrder>();
  private nextOrderId = 1;
  private nextTradeId = 1;
  private feesPaidTotal = 0;
  private readonly fills: Fill[] = [];
  private readonly listeners = new Set<(event: ExchangeEvent) => void>();
  private readonly outbox: ExchangeEvent[] = [];
  private flushScheduled = false;

  constructor(options: PaperExchangeOptions) {
    this.market = options.market;
    this.fees = { ...options.fees };
    this.now = options.now;
    this.keepFills = options.keepFills ?? true;
    this.splitFill = options.splitFill;
    this.idPrefix = options.idPrefix ?? '';
    this.base.total = options.balance.base;
    this.quote.total = options.balance.quote;
  }

  // ---- price path -------------------------------------------------------------------------

  /** The last traded price of the simulated market (NaN before the first setPrice). */
  get lastPrice(): number {
    return this.price;
  }

  /** Jumps the market to `price` without filling anything (the start, or a restore). */
  setPrice(price: number): void {
    this.price = price;
  }

  /**
   * Moves the price continuously towards `target`. Stops at the first price where resting
   * orders fill, fills every order at exactly that price (but for a split, see splitFill), and
   * returns true; returns false once `target` is reached with nothing (more) to fill. Call it
   * again until it returns false.
   */
  step(target: number): boolean {
    if (target < this.price) {
      const best = this.bids[this.bids.length - 1];
      if (best === undefined || best.price < target) {
        this.price = target;
        return false;
      }
      this.price = best.price;
      this.fillAtPrice(this.bids);
      return true;
    }
    if (target > this.price) {
      const best = this.asks[this.asks.length - 1];
      if (best === undefined || best.price > target) {
        this.price = target;
        return false;
      }
      this.price = best.price;
      this.fillAtPrice(this.asks);
      return true;
    }
    return false;
  }

  /** True when moving the price to `target` would fill something (step would return true). */
  wouldFill(target: number): boolean {
    if (target < this.price) {
      const best = this.bids[this.bids.length - 1];
      return best !== undefined && best.price >= target;
    }
    if (target > this.price) {
      const best = this.asks[this.asks.length - 1];
      return best !== undefined && best.price <= target;
    }
    return false;
  }

  /** Wallet value at `price`: quote + base * price, locked funds included. */
  equityAt(price: number): number {
    return this.quote.total + this.base.total * price;
  }

  /** Highest resting buy and lowest resting sell (undefined when none): the band where nothing fills. */
  get bestBid(): number | undefined {
    return this.bids[this.bids.length - 1]?.price;
  }

  get bestAsk(): number | undefined {
    return this.asks[this.asks.length - 1]?.price;
  }

  // ---- the port ---------------------------------------------------------------------------

  async loadMarket(symbol: string): Promise<MarketInfo> {
    this.checkSymbol(symbol);
    return this.market;
  }

  async createLimitOrder(request: LimitOrderRequest): Promise<ExchangeOrder> {
    const amount = this.checkNewOrder(request.symbol, request.clientOrderId, request.amount);
    const price = request.price > 0 ? roundToStep(request.price, this.market.priceStep) : Number.NaN;
    if (!(price > 0)) throw new ExchangeError('rejected', `invalid price ${request.price}`, 'INVALID_ORDER');
    this.checkMinNotional(request.clientOrderId, amount, price);
    const marketable = request.side === 'buy' ? price >= this.price : price <= this.price;
    if (marketable) {
      // Crosses the book: a real exchange fills it at once as a taker, at the market price.
      return this.executeMarket(request.clientOrderId, request.side, amount, 'limit', price);
    }
    const locked = request.side === 'buy' ? amount * price * (1 + this.fees.maker) : amount;
    this.reserve(request.side, locked);
    const order: RestingOrder = {
      id: `${this.idPrefix}P${this.nextOrderId++}`,
      clientOrderId: request.clientOrderId,
      side: request.side,
      type: 'limit',
      price,
      amount,
      filled: 0,
      status: 'open',
      timestamp: this.now(),
      locked,
    };
    this.byClientId.set(order.clientOrderId, order);
    insertSorted(request.side === 'buy' ? this.bids : this.asks, order, request.side === 'buy' ? 1 : -1);
    this.publish({ type: 'order', order: view(order, this.market.symbol) });
    return view(order, this.market.symbol);
  }

  async createMarketOrder(request: MarketOrderRequest): Promise<ExchangeOrder> {
    const amount = this.checkNewOrder(request.symbol, request.clientOrderId, request.amount);
    this.checkMinNotional(request.clientOrderId, amount, this.price);
    return this.executeMarket(request.clientOrderId, request.side, amount, 'market', undefined);
  }

  async cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    this.checkSymbol(symbol);
    const order = this.byClientId.get(clientOrderId);
    if (order === undefined) throw new ExchangeError('notFound', `order ${clientOrderId} not found`, 'ORDER_NOT_FOUND');
    if (order.status !== 'open') throw new ExchangeError('notFound', `order ${clientOrderId} is ${order.status}, not open`, 'ORDER_NOT_OPEN');
    const book = order.side === 'buy' ? this.bids : this.asks;
    book.splice(book.indexOf(order), 1);
    this.release(order);
    order.status = 'canceled';
    this.publish({ type: 'order', order: view(order, this.market.symbol) });
    return view(order, this.market.symbol);
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | undefined> {
    this.checkSymbol(symbol);
    const order = this.byClientId.get(clientOrderId);
    return order && view(order, this.market.symbol);
  }

  async fetchOpenOrders(symbol: string): Promise<ExchangeOrder[]> {
    this.checkSymbol(symbol);
    return [...this.bids, ...this.asks].map((order) => view(order, this.market.symbol));
  }

  async fetchFills(symbol: string, since = 0): Promise<Fill[]> {
    this.checkSymbol(symbol);
    return this.fills.filter((fill) => fill.timestamp >= since);
  }

  async fetchBalance(): Promise<Record<string, AssetBalance>> {
    return {
      [this.market.base]: balanceOf(this.base),
      [this.market.quote]: balanceOf(this.quote),
    };
  }

  subscribe(listener: (event: ExchangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- inspection for backtests and tests -----------------------------------------------

  /** Wallet totals (free + locked). */
  get wallet(): { base: number; quote: number } {
    return { base: this.base.total, quote: this.quote.total };
  }

  get feesPaid(): number {
    return this.feesPaidTotal;
  }

  get openOrderCount(): { buy: number; sell: number } {
    return { buy: this.bids.length, sell: this.asks.length };
  }

  /** Every order ever accepted (open and closed), oldest first. */
  allOrders(): ExchangeOrder[] {
    return [...this.byClientId.values()].map((order) => view(order, this.market.symbol));
  }

  /** Every fill kept (with keepFills), oldest first. */
  get fillLog(): readonly Fill[] {
    return this.fills;
  }

  snapshot(): PaperExchangeState {
    return structuredClone({
      price: this.price,
      base: this.base,
      quote: this.quote,
      orders: [...this.byClientId.values()],
      nextOrderId: this.nextOrderId,
      nextTradeId: this.nextTradeId,
      feesPaid: this.feesPaidTotal,
      fills: this.fills,
    });
  }

  static restore(options: PaperExchangeOptions, state: PaperExchangeState): PaperExchange {
    const exchange = new PaperExchange(options);
    const copy = structuredClone(state);
    exchange.price = copy.price;
    Object.assign(exchange.base, copy.base);
    Object.assign(exchange.quote, copy.quote);
    for (const order of copy.orders) {
      exchange.byClientId.set(order.clientOrderId, order);
      if (order.status === 'open') insertSorted(order.side === 'buy' ? exchange.bids : exchange.asks, order, order.side === 'buy' ? 1 : -1);
    }
    exchange.nextOrderId = copy.nextOrderId;
    exchange.nextTradeId = copy.nextTradeId;
    exchange.feesPaidTotal = copy.feesPaid;
    exchange.fills.push(...copy.fills);
    return exchange;
  }

  // ---- internals --------------------------------------------------------------------------

  private checkSymbol(symbol: string): void {
    if (symbol !== this.market.symbol) {
      throw new ExchangeError('rejected', `unknown symbol ${symbol}: this paper exchange trades ${this.market.symbol}`, 'BAD_SYMBOL');
    }
  }

  /** Checks what every new order must pass; returns its amount truncated to the amount step. */
  private checkNewOrder(symbol: string, clientOrderId: string, amount: number): number {
    this.checkSymbol(symbol);
    if (this.byClientId.has(clientOrderId)) {
      throw new ExchangeError('rejected', `duplicate client order id ${clientOrderId}`, 'DUPLICATE_CLIENT_ORDER_ID');
    }
    if (!(amount > 0) || !Number.isFinite(amount)) throw new ExchangeError('rejected', `invalid amount ${amount}`, 'INVALID_ORDER');
    if (!Number.isFinite(this.price)) throw new ExchangeError('retryable', 'no market price yet', 'NO_PRICE');
    const quantised = truncateToStep(amount, this.market.amountStep);
    if (!(quantised > 0)) {
      throw new ExchangeError('rejected', `amount ${amount} is below the amount step ${this.market.amountStep}`, 'INVALID_ORDER');
    }
    return quantised;
  }

  private checkMinNotional(clientOrderId: string, amount: number, price: number): void {
    if (!reachesMinNotional(amount, price, this.market.minNotional)) {
      throw new ExchangeError(
        'rejected',
        `${clientOrderId}: order value ${amount * price} ${this.market.quote} is below the minimum ${this.market.minNotional}`,
        'MIN_NOTIONAL',
      );
    }
  }

  private reserve(side: Side, amount: number): void {
    const asset = side === 'buy' ? this.quote : this.base;
    const free = asset.total - asset.locked;
    if (!fits(amount, free)) {
      const currency = side === 'buy' ? this.market.quote : this.market.base;
      throw new ExchangeError('rejected', `insufficient funds: needs ${amount} ${currency}, ${free} free`, REJECTED_FUNDS);
    }
    asset.locked += amount;
  }

  private release(order: RestingOrder): void {
    const asset = order.side === 'buy' ? this.quote : this.base;
    // Locks are running sums: with the side's book empty, clear the float residue they leave.
    const bookEmpty = (order.side === 'buy' ? this.bids : this.asks).length === 0;
    asset.locked = bookEmpty ? 0 : Math.max(0, asset.locked - order.locked);
    order.locked = 0;
  }

  /**
   * Fills the orders of `book` resting at the current price, oldest first (the book's end). An
   * order split by `splitFill` takes this price's liquidity: it and the orders behind it rest on.
   */
  private fillAtPrice(book: RestingOrder[]): void {
    while (book.length > 0 && book[book.length - 1]!.price === this.price) {
      const order = book[book.length - 1]!;
      const part = this.splitFill !== undefined && order.filled === 0 ? this.splitFill(order.amount) : undefined;
      if (part !== undefined && part > 0 && part < order.amount) {
        this.fillPart(order, part);
        return;
      }
      book.pop();
      this.fillResting(order);
    }
  }

  /** Fills what is left of a resting limit order at its own price (a touch fill, maker fee). */
  private fillResting(order: RestingOrder): void {
    this.release(order);
    this.settle(order, order.price, order.amount - order.filled, 'maker', order.amount);
  }

  /** Fills `part` of a resting limit order that stays in the book, freeing the funds that part held. */
  private fillPart(order: RestingOrder, part: number): void {
    const asset = order.side === 'buy' ? this.quote : this.base;
    const freed = order.side === 'buy' ? part * order.price * (1 + this.fees.maker) : part;
    asset.locked = Math.max(0, asset.locked - freed);
    order.locked -= freed;
    this.settle(order, order.price, part, 'maker', part);
  }

  private executeMarket(clientOrderId: string, side: Side, amount: number, type: 'limit' | 'market', limitPrice: number | undefined): ExchangeOrder {
    const price = this.price;
    const asset = side === 'buy' ? this.quote : this.base;
    const needed = side === 'buy' ? amount * price * (1 + this.fees.taker) : amount;
    const free = asset.total - asset.locked;
    if (!fits(needed, free)) {
      const currency = side === 'buy' ? this.market.quote : this.market.base;
      throw new ExchangeError('rejected', `insufficient funds: needs ${needed} ${currency}, ${free} free`, REJECTED_FUNDS);
    }
    const order: RestingOrder = {
      id: `${this.idPrefix}P${this.nextOrderId++}`,
      clientOrderId,
      side,
      type,
      price: limitPrice ?? price,
      amount,
      filled: 0,
      status: 'open',
      timestamp: this.now(),
      locked: 0,
    };
    this.byClientId.set(clientOrderId, order);
    this.settle(order, price, amount, 'taker', amount);
    return view(order, this.market.symbol);
  }

  /** Books one fill of `amount` that brings the order to `filledAfter`: wallet, fees, order status, fill log and events. */
  private settle(order: RestingOrder, price: number, amount: number, role: 'maker' | 'taker', filledAfter: number): void {
    const notional = amount * price;
    const fee = notional * (role === 'maker' ? this.fees.maker : this.fees.taker);
    if (order.side === 'buy') {
      this.quote.total -= notional + fee;
      this.base.total += amount;
    } else {
      this.base.total -= amount;
      // Selling the last of the base can leave float residue (1e-15) where the wallet holds nothing.
      if (Math.abs(this.base.total) <= amount * 1e-9) this.base.total = 0;
      this.quote.total += notional - fee;
    }
    this.feesPaidTotal += fee;
    order.filled = filledAfter;
    order.status = filledAfter < order.amount ? 'open' : 'closed';
    const fill: Fill = {
      tradeId: `${this.idPrefix}T${this.nextTradeId++}`,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      symbol: this.market.symbol,
      side: order.side,
      price,
      amount,
      fee,
      takerOrMaker: role,
      timestamp: this.now(),
    };
    if (this.keepFills) this.fills.push(fill);
    this.publish({ type: 'fill', fill });
    this.publish({ type: 'order', order: view(order, this.market.symbol) });
  }

  private publish(event: ExchangeEvent): void {
    if (this.listeners.size === 0) return;
    this.outbox.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    // Events published while flushing are appended and delivered in this same pass.
    for (let i = 0; i < this.outbox.length; i++) {
      for (const listener of this.listeners) listener(this.outbox[i]!);
    }
    this.outbox.length = 0;
  }
}

function balanceOf(asset: { total: number; locked: number }): AssetBalance {
  return { free: asset.total - asset.locked, used: asset.locked, total: asset.total };
}

function view(order: RestingOrder, symbol: string): ExchangeOrder {
  return {
    id: order.id,
    clientOrderId: order.clientOrderId,
    symbol,
    side: order.side,
    type: order.type,
    price: order.price,
    amount: order.amount,
    filled: order.filled,
    status: order.status,
    timestamp: order.timestamp,
  };
}

/**
 * Keeps `book` sorted so that its last element is the best price (direction 1: ascending), and
 * among equal prices the oldest order last: price-time priority, the oldest fills first.
 */
function insertSorted(book: RestingOrder[], order: RestingOrder, direction: 1 | -1): void {
  let lo = 0;
  let hi = book.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((book[mid]!.price - order.price) * direction < 0) lo = mid + 1;
    else hi = mid;
  }
  book.splice(lo, 0, order);
}
