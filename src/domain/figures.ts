// A grid's figures as /health and /metrics show them, and the hooks through which a trading mode
// reports what happens (fills, reconnects, store writes) to whoever counts it (metrics).
import type { Side } from './trading.js';

/**
 * One grid from its own books, read when asked (a scrape, a /health request). Figures that are not
 * known are NaN: all of them while the grid is RECOVERING (they could be stale), equity and pnl
 * before the first price.
 */
export interface GridFigures {
  readonly id: string;
  readonly symbol: string;
  /** IDLE, ACTIVE, PAUSED, STOPPING or ERROR (the grid statechart), or RECOVERING while a (re)start reconciles. */
  readonly state: string;
  /** Orders the grid has out (limit orders, acknowledged or not yet). */
  readonly pendingOrders: number;
  /** Lots bought whose counter-sell has not filled (grid-figures.ts, openPositions). */
  readonly openPositions: number;
  /** Round trips' profit before fees, in quote. */
  readonly gridProfit: number;
  /** Every fee paid, in quote. */
  readonly fees: number;
  /** quote + base position x last price, in quote. */
  readonly equity: number;
  /** equity now minus equity at the grid's start (at its start price), in quote. */
  readonly pnl: number;
  readonly fills: { readonly buy: number; readonly sell: number };
  readonly roundTrips: number;
  /** The last price seen of the grid's symbol; NaN before the first. */
  readonly lastPrice: number;
  /** The grid's level prices, lowest first (empty before its first start, or while unknown). */
  readonly levels: readonly number[];
}

/** A recorder of how long something took: a call's or a write's name and its duration. */
export type DurationObserver = (name: string, seconds: number) => void;

/** How an exchange REST call ended: its duration and, when it failed, the exchange port's error kind (retryable, rejected, notFound, auth, unknown). */
export interface RequestResult {
  readonly exchange: string;
  readonly call: string;
  readonly seconds: number;
  readonly error?: string;
}

/** Told when an exchange REST call begins; returns what is told when it ends (once). See timedRequests. */
export type RequestObserver = (exchange: string, call: string) => (result: RequestResult) => void;

/** What a trading mode tells its observers (the metrics implement it all; every hook is optional). */
export interface TradingObservers {
  /** Reads the running grids' figures at each scrape until the returned function is called. */
  trackGrids?(source: () => readonly GridFigures[]): () => void;
  /** A new fill of a grid's order (each execution once). */
  recordTrade?(grid: string, side: Side): void;
  /** The exchange's stream came back after it was lost. */
  recordReconnect?(exchange: string): void;
  /** One store write (its operation) and how long it took. */
  observeStoreWrite?: DurationObserver;
  /** Each exchange REST call: for whoever makes the exchange adapter, to pass to timedRequests. */
  observeRequest?: RequestObserver;
}
