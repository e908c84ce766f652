// The store port: what the runtime writes ahead of the exchange. The memory store serves
// backtests; the Postgres store (postgres.js, or embedded PGlite) serves the long-running modes.
import type { FillPageQuery } from '../../domain/grid-control.js';
import type { Fill, OrderIntent } from '../../domain/trading.js';

/** What the exchange said of an order: resting (with its id) or ended without filling whole. Filled comes from the fills. */
export type OrderUpdate = {
  readonly status: 'open' | 'canceled' | 'rejected' | 'expired';
  readonly exchangeOrderId?: string;
};

export interface StorePort {
  /**
   * Stores an order's intent before it is sent. Idempotent on the client order id: true when it was
   * new, false when it was stored before (then it may have been sent: it is looked up first).
   */
  recordIntent(gridId: string, intent: OrderIntent): Promise<boolean>;
  /** Stores a fill before anything reacts to it; false when that trade id was stored already. */
  recordFill(fill: Fill): Promise<boolean>;
  /** Stores an order's acknowledgement or its end. An order the fills completed stays filled. */
  recordOrderUpdate(clientOrderId: string, update: OrderUpdate): Promise<void>;
  /** Keeps the grid's persisted actors and lifecycle state, with the machine version that wrote them. */
  saveGridSnapshot(gridId: string, state: string, snapshot: unknown, machineVersion: number): Promise<void>;
  /** The grid's saved actors, if any. */
  gridSnapshot(gridId: string): Promise<SavedGrid | undefined>;
  /** The stored fills of these orders, oldest first. */
  fillsOf(clientOrderIds: readonly string[]): Promise<Fill[]>;
  /**
   * The grid's stored fills (those of the orders it recorded intents for), newest first: by
   * execution time, then trade id (compared as bytes), descending; at most `limit`, and only those
   * after `before` in that order (see FillPosition).
   */
  gridFills(gridId: string, query: FillPageQuery): Promise<Fill[]>;
  /**
   * From when a restarted grid must ask the exchange for fills: the oldest intent of this grid
   * still not ended (it may have filled while nobody listened); undefined when there is none.
   */
  recoverySince(gridId: string): Promise<number | undefined>;
  /** The grid's orders created at or after `since` (ms) whose exchange order id is known: exchange order id -> client order id. */
  exchangeOrderIds(gridId: string, since: number): Promise<Map<string, string>>;
  /**
   * Appends entries to the grid's event journal, in the order given, after every entry appended
   * before. Idempotent on (run, seq): an append retried after a lost answer is written once.
   */
  appendEvents(gridId: string, entries: readonly JournalAppend[]): Promise<void>;
  /** The grid's event journal, oldest first. */
  journal(gridId: string): Promise<JournalEntry[]>;
  /**
   * The entries written after the one at `position`, oldest first (the tail a saved snapshot does
   * not reflect); undefined when no entry of the grid is at that position.
   */
  journalAfter(gridId: string, position: JournalPosition): Promise<JournalEntry[] | undefined>;
}

/** Where an entry stands in the journal: its writer's run and its number in that run. */
export interface JournalPosition {
  readonly run: string;
  readonly seq: number;
}

/**
 * One entry of a grid's event journal: an event the grid actor received (its type, and the rest
 * of the event as the payload), or the grid actor's creation (`GRID.CREATED`, its input).
 */
export interface JournalEntry {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  /** Absent on entries written before positions existed. */
  readonly position?: JournalPosition;
}

/** An entry as its writer appends it: numbered within the writer's run (one runtime's life). */
export interface JournalAppend extends JournalPosition {
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

export interface SavedGrid {
  readonly state: string;
  readonly snapshot: unknown;
  readonly machineVersion: number | null;
}

/**
 * Where the paper exchange keeps its accounts (paper and demo mode): the whole account as one
 * document, replaced at each save. A save that returned is durable.
 */
export interface PaperAccountStore {
  paperAccount(id: string): Promise<unknown>;
  savePaperAccount(id: string, state: unknown): Promise<void>;
}
