// The I/O boundaries of a simulated bot process, and its death at one of them.
//
// Every call the process makes to the store or the exchange, and every own-order stream event it
// receives, goes through the gate and is numbered (1, 2, ... over the whole run, every process
// counted in turn). A crash point names one boundary: `before` the call is never made (the event
// never heard), `after` it was made (the event heard) but the process dies before it sees the
// answer. From then on that process is dead: its pending and later calls never settle, and its
// events are dropped, as for a process that is gone. A `stop` point is a graceful stop (SIGTERM)
// right after the call is made: the process stops its actors, and what it has under way still
// reaches the store and the exchange, until it is quiet and exits.
//
// Timing is part of the scenario: a request can take effect some macrotask turns after it was
// asked for (`latency`: a write slower than a read, a database pool running queries out of order),
// and the clock moves on at every boundary (`onBoundary`), so that what happens at different
// boundaries has different times.
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { LiveSession } from '../../src/actors/trading/grid-service.js';
import type { ExchangeEvent } from '../../src/adapters/exchange/port.js';
import type { JournalAppend, StorePort } from '../../src/adapters/store/port.js';
import type { MemoryStore } from '../../src/adapters/store/memory-store.js';

export type CrashWhen = 'before' | 'after' | 'stop';

/** A crash point: the `call`-th boundary of the run (from 1). */
export interface Boundary {
  readonly call: number;
  readonly when: CrashWhen;
}

/** One process of the bot: alive until it crashes; `pending` counts its calls not yet answered. */
export class BotProcess {
  alive = true;
  /** Told to stop gracefully (SIGTERM): its calls under way still go through. */
  stopping = false;
  pending = 0;
  private readonly onDeath: Array<() => void> = [];

  whenDead(cleanup: () => void): void {
    this.onDeath.push(cleanup);
  }

  die(): void {
    this.alive = false;
    for (const cleanup of this.onDeath.splice(0)) cleanup();
  }
}

export interface GateTiming {
  /** Macrotask turns between the `request`-th request (from 0, labelled `label`) being asked for and taking effect. */
  latency(label: string, request: number): number;
  /** Called at every boundary, before it happens (the simulation's clock moves on). */
  onBoundary(): void;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** What crosses the database boundary: a copy, as Postgres' JSONB would give (no object is shared between processes). */
const asStored = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export class CrashGate {
  /** Each boundary's label, in order (boundary k is labels[k - 1]). */
  readonly labels: string[] = [];
  private readonly crashes: ReadonlySet<string>;
  /** Requests asked for so far (a request's latency is chosen by its number). */
  private requests = 0;

  constructor(
    crashes: readonly Boundary[],
    private readonly timing: GateTiming,
  ) {
    this.crashes = new Set(crashes.map(({ call, when }) => `${call} ${when}`));
  }

  /**
   * A request of `bot`, made through the gate: it takes effect `latency` turns after it was asked
   * for (a boundary then), and the process may die before the effect or before it sees the answer.
   */
  request<T>(bot: BotProcess, label: string, call: () => Promise<T>): Promise<T> {
    if (!bot.alive) return never();
    const turns = this.timing.latency(label, this.requests++);
    bot.pending++;
    return new Promise<T>((resolve, reject) => {
      const takeEffect = async (): Promise<void> => {
        for (let turn = 0; turn < turns; turn++) await nextMacrotask();
        if (!bot.alive) return;
        const boundary = this.next(label);
        if (this.crashes.has(`${boundary} before`)) return bot.die();
        const answer = call();
        if (this.crashes.has(`${boundary} stop`)) bot.stopping = true;
        if (this.crashes.has(`${boundary} after`)) {
          answer.catch(() => undefined);
          return bot.die();
        }
        answer.then(
          (value) => {
            bot.pending--;
            if (bot.alive) resolve(value);
          },
          (error: unknown) => {
            bot.pending--;
            if (bot.alive) reject(error);
          },
        );
      };
      void takeEffect();
    });
  }

  /** An event reaching `bot`: it may die before it hears it, or right after. */
  event(bot: BotProcess, label: string, hear: () => void): void {
    if (!bot.alive) return;
    const boundary = this.next(label);
    if (this.crashes.has(`${boundary} before`)) return bot.die();
    hear();
    if (this.crashes.has(`${boundary} stop`)) bot.stopping = true;
    if (this.crashes.has(`${boundary} after`)) bot.die();
  }

  /**
   * `store` as `bot` sees it: every call a boundary, every value crossing it a copy. A port of its
   * own per process, so that no per-store memory of a run (the journal's writer chain) outlives it.
   */
  storeOf(bot: BotProcess, store: MemoryStore): StorePort {
    const via = <T>(label: string, call: () => Promise<T>): Promise<T> => this.request(bot, `store.${label}`, async () => asStored(await call()));
    const types = (entries: readonly JournalAppend[]): string => entries.map((entry) => entry.type).join(',');
    return {
      recordIntent: (gridId, intent) => via(`recordIntent ${intent.clientOrderId}`, () => store.recordIntent(gridId, asStored(intent))),
      recordFill: (fill) => via(`recordFill ${fill.tradeId} ${fill.clientOrderId}`, () => store.recordFill(asStored(fill))),
      recordOrderUpdate: (clientOrderId, update) => via(`recordOrderUpdate ${clientOrderId} ${update.status}`, () => store.recordOrderUpdate(clientOrderId, asStored(update))),
      saveGridSnapshot: (gridId, state, snapshot, version) => via('saveGridSnapshot', () => store.saveGridSnapshot(gridId, state, asStored(snapshot), version)),
      gridSnapshot: (gridId) => via('gridSnapshot', () => store.gridSnapshot(gridId)),
      fillsOf: (clientOrderIds) => via('fillsOf', () => store.fillsOf(clientOrderIds)),
      gridFills: (gridId, query) => via('gridFills', () => store.gridFills(gridId, query)),
      recoverySince: (gridId) => via('recoverySince', () => store.recoverySince(gridId)),
      exchangeOrderIds: (gridId, since) => via('exchangeOrderIds', () => store.exchangeOrderIds(gridId, since)),
      appendEvents: (gridId, entries) => via(`appendEvents ${types(entries)}`, () => store.appendEvents(gridId, asStored(entries))),
      journal: (gridId) => via('journal', () => store.journal(gridId)),
      journalAfter: (gridId, position) => via('journalAfter', () => store.journalAfter(gridId, position)),
    };
  }

  /** `session` as `bot` sees it: every request a boundary, every own-order event too (once, whoever listens). */
  sessionOf(bot: BotProcess, session: LiveSession): LiveSession {
    const via = <T>(label: string, call: () => Promise<T>): Promise<T> => this.request(bot, `exchange.${label}`, call);
    const listeners = new Set<(event: ExchangeEvent) => void>();
    let upstream: (() => void) | undefined;
    bot.whenDead(() => upstream?.());
    const labelOf = (event: ExchangeEvent): string =>
      event.type === 'fill' ? `stream fill ${event.fill.tradeId} ${event.fill.clientOrderId}` : `stream order ${event.order.clientOrderId} ${event.order.status}`;
    return {
      loadMarket: (symbol) => via('loadMarket', () => session.loadMarket(symbol)),
      createLimitOrder: (request) => via(`createLimitOrder ${request.clientOrderId}`, () => session.createLimitOrder(request)),
      createMarketOrder: (request) => via(`createMarketOrder ${request.clientOrderId}`, () => session.createMarketOrder(request)),
      cancelOrder: (clientOrderId, symbol) => via(`cancelOrder ${clientOrderId}`, () => session.cancelOrder(clientOrderId, symbol)),
      fetchOrderByClientId: (clientOrderId, symbol) => via(`fetchOrderByClientId ${clientOrderId}`, () => session.fetchOrderByClientId(clientOrderId, symbol)),
      fetchOpenOrders: (symbol) => via('fetchOpenOrders', () => session.fetchOpenOrders(symbol)),
      fetchFills: (symbol, since, clientIds) => via('fetchFills', () => session.fetchFills(symbol, since, clientIds)),
      fetchBalance: () => via('fetchBalance', () => session.fetchBalance()),
      firstTick: (symbol, signal) => via('firstTick', () => session.firstTick(symbol, signal)),
      subscribe: (listener) => {
        upstream ??= session.subscribe((event) => this.event(bot, labelOf(event), () => listeners.forEach((hear) => hear(event))));
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      onTick: (listener) => session.onTick(listener),
      status: () => session.status(),
    };
  }

  private next(label: string): number {
    this.timing.onBoundary();
    this.labels.push(label);
    return this.labels.length;
  }
}
