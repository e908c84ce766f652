// The exchange port: one interface for the paper exchange (backtest, paper, demo) and the ccxt
// adapter (live). Actors see only what an exchange tells a client: acks, order updates and fills.
import type { Fill, MarketFilters, Side } from '../../domain/trading.js';

export type ExchangeOrderStatus = 'open' | 'closed' | 'canceled' | 'rejected' | 'expired';

/** An order as the exchange knows it. */
export interface ExchangeOrder {
  readonly id: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: 'limit' | 'market';
  readonly price: number | undefined;
  readonly amount: number;
  readonly filled: number;
  readonly status: ExchangeOrderStatus;
  readonly timestamp: number;
}

export interface AssetBalance {
  readonly free: number;
  readonly used: number;
  readonly total: number;
}

export interface MarketInfo extends MarketFilters {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
}

export interface LimitOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly amount: number;
  readonly clientOrderId: string;
}

export interface MarketOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly amount: number;
  readonly clientOrderId: string;
}

/** Own-order stream: fills and order status changes, in the order the exchange made them. */
export type ExchangeEvent = { readonly type: 'fill'; readonly fill: Fill } | { readonly type: 'order'; readonly order: ExchangeOrder };

/**
 * How a failed call should be treated:
 * - retryable: network, timeout, busy, rate limit (an ambiguous create must be looked up first);
 * - rejected: the exchange refused the request (insufficient funds, invalid order);
 * - notFound: no such order; auth: bad or missing keys; unknown: anything else.
 */
export type ExchangeErrorKind = 'retryable' | 'rejected' | 'notFound' | 'auth' | 'unknown';

export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A price seen on the exchange's ticker: for display, start prices and stop triggers. */
export interface Tick {
  readonly symbol: string;
  /** Last traded price. */
  readonly price: number;
  readonly timestamp: number;
}

/** The exchange's request side: everything but the own-order stream. */
export interface ExchangeRequests {
  loadMarket(symbol: string): Promise<MarketInfo>;
  createLimitOrder(request: LimitOrderRequest): Promise<ExchangeOrder>;
  createMarketOrder(request: MarketOrderRequest): Promise<ExchangeOrder>;
  cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder>;
  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | undefined>;
  fetchOpenOrders(symbol: string): Promise<ExchangeOrder[]>;
  /**
   * Own fills, oldest first; with `since` (ms), only those at or after that time. `clientIds`:
   * exchange order ids the caller knows, with their client order ids (an exchange whose trades
   * lack the client id need not look those orders up).
   */
  fetchFills(symbol: string, since?: number, clientIds?: ReadonlyMap<string, string>): Promise<Fill[]>;
  fetchBalance(): Promise<Record<string, AssetBalance>>;
}

export interface ExchangePort extends ExchangeRequests {
  /** Subscribes to the own-order stream; returns the unsubscribe function. */
  subscribe(listener: (event: ExchangeEvent) => void): () => void;
}

/**
 * A live exchange's WebSocket side (ccxt pro), run by the exchange session: each watch resolves
 * with the stream's next update and rejects with a retryable ExchangeError when its socket drops.
 */
export interface StreamingExchange extends ExchangeRequests {
  readonly exchangeId: string;
  /** Which watches the exchange has; without them the session polls REST only. */
  readonly canStream: { readonly ticker: boolean; readonly own: boolean };
  fetchTick(symbol: string): Promise<Tick>;
  watchTick(symbol: string): Promise<Tick>;
  watchOwnOrders(symbol: string): Promise<ExchangeOrder[]>;
  watchOwnFills(symbol: string): Promise<Fill[]>;
  /** Drops every socket: pending watches reject, the next watch reconnects. */
  closeStreams(): Promise<void>;
}
