// The event journal of a grid, and the rebuild of a grid from it.
//
// Journal (the `events` table): what the grid actor was created with (`GRID.CREATED`, its input)
// and then every event it received, in the order it received them, each with what is needed to
// replay it (START with its price, PAUSE, RESUME, STOP, PRICE_TRIGGER, FAULT, and the order
// outcomes ORDER.FILLED / CANCELED / EXPIRED / REJECTED with their intent and figures). The grid
// machine is deterministic, so replaying the journal on a new grid actor gives the grid's context.
//
// Writing (JournalWriter): `append` only queues (the trading path never waits for the journal);
// the queue is written in order, in batches, one batch at a time. While the store is unreachable a
// batch is retried after a pause (0.5 s doubling to 10 s) and everything behind it waits: no
// gaps. Each entry is numbered within its writer's run, and the store writes an entry once per
// (run, number), so a batch retried after a lost answer is not written twice. A tail not yet
// written when the process dies is lost, which is fine: it is the newest events, and recovery
// reconciles with the exchange (an order the journal still thinks live is looked up by client id).
// Data the store refuses stops the journal of this run (a journal with a hole would replay wrong);
// a `JOURNAL.BROKEN` entry is attempted so that a rebuild refuses it.
//
// Tail replay (replayJournalTail): every recovery of a saved snapshot. The snapshot names the
// journal entry of the last event it reflects; the entries after it (the events the grid received
// after its last save) are replayed on it the same way, so the grid knows every order it asked for
// before a crash, under the same client ids.
//
// Rebuild (rebuildFromJournal): used by recovery (grid-recovery.ts) when the saved snapshot is of
// another machine version or cannot be read. A new grid actor of this build is created from the
// input of the journal's last `GRID.CREATED`, the events after it are replayed with every effect
// ignored, and the intents it emits are collected: the live orders are those submitted
// (order.submit) and not ended by an outcome event in the journal; one it asked to cancel
// (order.cancel) is started with its cancel requested. The runtime then starts from that grid
// snapshot with each live order started over from its intent: the store knows the intent, so the
// order is looked up by client id on the exchange before anything is sent.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createActor, type Snapshot } from 'xstate';
import type { JournalAppend, JournalEntry, JournalPosition, StorePort } from '../adapters/store/port.js';
import { storeErrorOf, storeRetryDelayMs } from '../adapters/store/store-errors.js';
import type { Logger } from '../adapters/telemetry/logger.js';
import { gridMachine, type GridEvent, type GridInput } from '../machines/grid.machine.js';
import type { OrderInput } from '../machines/order.machine.js';
import type { GridRuntimeSnapshot } from './grid-runtime.js';

/** The journal entry of a grid actor's creation: its input (a replay starts from the last one). */
export const GRID_CREATED = 'GRID.CREATED';
/** Written (if the store takes it) when the journal of a run stopped on refused data: it has a hole. */
export const JOURNAL_BROKEN = 'JOURNAL.BROKEN';

/** Entries per append. */
const BATCH = 200;

export interface JournalWriter {
  /**
   * The position of the newest entry queued (the last one the grid has received), or the one the
   * writer was started after: saved with a snapshot, it says where the journal's unsaved tail begins.
   */
  position(): JournalPosition | undefined;
  /** Queues the grid's creation (its input). */
  created(input: GridInput): void;
  /** Queues an event the grid actor is about to receive. Never waits. */
  append(event: GridEvent): void;
  /** Settles when everything queued so far is written (or given up). */
  flushed(): Promise<void>;
  /** No more retries: what is queued is written if the store answers at once, else dropped (a lagging tail). */
  stop(): void;
}

/**
 * The journal writers of each grid in this process, per store: a new runtime of a grid (a
 * supervised restart) writes only after the previous one's writes have settled, so two runs'
 * entries never interleave.
 */
const lastWriter = new WeakMap<StorePort, Map<string, Promise<void>>>();

/** Starts writing the journal of grid `gridId` to `store`; `after`: the position of the journal's last entry so far (a recovered grid's). */
export function startJournal(gridId: string, store: StorePort, logger: Logger, after?: JournalPosition): JournalWriter {
  const run = randomUUID();
  const queue: JournalAppend[] = [];
  let seq = 0;
  let last = after;
  let stopped = false;
  let broken = false;
  let writing = false;
  const writers = lastWriter.get(store) ?? new Map<string, Promise<void>>();
  lastWriter.set(store, writers);
  let chain: Promise<void> = writers.get(gridId) ?? Promise.resolve();

  const drop = (why: string): void => {
    if (queue.length > 0) logger.warn({ grid: gridId, entries: queue.length }, `event journal: ${why}; the newest entries are not written`);
    queue.length = 0;
  };
  const markBroken = async (reason: string): Promise<void> => {
    broken = true;
    queue.length = 0;
    logger.error({ grid: gridId, error: reason }, 'event journal: the store refused an entry; this run journals no more (a rebuild from the journal would miss events)');
    await store.appendEvents(gridId, [{ run, seq: seq++, type: JOURNAL_BROKEN, payload: { reason } }]).catch(() => undefined);
  };
  /** Writes the queue, oldest first, one batch at a time. */
  const drain = async (): Promise<void> => {
    let attempt = 0;
    while (queue.length > 0 && !broken) {
      const batch = queue.slice(0, BATCH);
      try {
        await store.appendEvents(gridId, batch);
        queue.splice(0, batch.length);
        attempt = 0;
      } catch (error) {
        const failure = storeErrorOf(error);
        if (failure.kind === 'rejected') await markBroken(failure.message);
        else if (stopped) drop('the store is unreachable and the grid stopped');
        else {
          attempt++;
          const delayMs = storeRetryDelayMs(attempt);
          logger.warn({ grid: gridId, entries: queue.length, attempt, retryInMs: delayMs, error: failure.message }, 'event journal: the store is unreachable; the entries wait, in order');
          await sleep(delayMs);
        }
      }
    }
    writing = false;
  };
  const push = (type: string, payload: Record<string, unknown>): void => {
    if (broken) return;
    last = { run, seq };
    queue.push({ run, seq: seq++, type, payload });
    if (writing) return;
    writing = true;
    chain = chain.then(drain);
    writers.set(gridId, chain);
  };

  return {
    position: () => last,
    created: (input) => push(GRID_CREATED, { input }),
    append: (event) => {
      const { type, ...payload } = event;
      push(type, payload);
    },
    async flushed() {
      while (writing) await chain;
    },
    stop() {
      stopped = true;
    },
  };
}

/** An order to start over from its intent: live in the replayed grid, not restored from a snapshot. */
export interface RestartOrder {
  readonly input: OrderInput;
  /** The grid asked to cancel it (STOP): the restarted order is told CANCEL too. */
  readonly cancelRequested: boolean;
}

/** A grid brought up to date from its journal: a rebuild from its creation, or a saved snapshot and the journal's tail after it. */
export interface ReplayedGrid {
  /** The grid actor's persisted snapshot, the saved orders still live, and the journal position it reflects. */
  readonly snapshot: GridRuntimeSnapshot;
  /** Orders the replay asked for: started over from their intents (each looked up by client id before anything is sent). */
  readonly restartOrders: readonly RestartOrder[];
  /** Saved orders the replay asked to cancel (a STOP in the tail): told CANCEL once restored. */
  readonly cancelOrders: readonly string[];
  /** Journal entries replayed. */
  readonly events: number;
}

/** Why a journal cannot be replayed, or undefined when it can. */
export function unreplayable(journal: readonly JournalEntry[]): string | undefined {
  if (journal.length === 0) return 'its event journal is empty (the state was written before the journal existed)';
  const created = journal.findLastIndex((entry) => entry.type === GRID_CREATED);
  if (created < 0) return 'its event journal does not go back to the grid\'s creation (the grid ran before the journal existed)';
  if (journal.slice(created).some((entry) => entry.type === JOURNAL_BROKEN)) return 'its event journal has a hole (the store refused an entry)';
  return undefined;
}

/**
 * Rebuilds the grid from its journal on this build's grid machine: the actor created with the
 * input of the last GRID.CREATED, the events after it replayed in order, effects ignored.
 * Undefined when the journal cannot be replayed (see `unreplayable`).
 */
export function rebuildFromJournal(journal: readonly JournalEntry[]): ReplayedGrid | undefined {
  if (unreplayable(journal) !== undefined) return undefined;
  const from = journal.findLastIndex((entry) => entry.type === GRID_CREATED);
  const input = journal[from]!.payload['input'] as GridInput;
  return replay(createActor(gridMachine, { input }), {}, journal.slice(from + 1), journal[from]!.position);
}

/**
 * Brings a saved snapshot up to date with the journal's tail (the entries after the snapshot's
 * position): the events the grid received after its last save, replayed in order, effects
 * ignored. The grid then knows every order it asked for before the crash — an order is stored
 * (and sent) only once the journal holds the events that led to it — with the same client ids,
 * since the machine is deterministic. Undefined when the tail cannot be replayed (a hole).
 */
export function replayJournalTail(saved: GridRuntimeSnapshot, tail: readonly JournalEntry[]): ReplayedGrid | undefined {
  if (tail.some((entry) => entry.type === JOURNAL_BROKEN || entry.type === GRID_CREATED)) return undefined;
  return replay(createActor(gridMachine, { snapshot: saved.grid, input: undefined as unknown as GridInput }), saved.orders, tail, saved.journal);
}

/**
 * Replays `entries` on `actor` (a new grid, or one restored from a snapshot with its live
 * `restored` orders) and collects what the grid asked for: orders submitted and not ended in the
 * journal, and cancels. An order ends once: a recovery that re-derived an outcome the journal
 * already had (the snapshot was behind the journal) journals it again, and that second one is
 * not replayed.
 */
function replay(
  actor: ReturnType<typeof createActor<typeof gridMachine>>,
  restored: Readonly<Record<string, Snapshot<unknown>>>,
  entries: readonly JournalEntry[],
  from: JournalPosition | undefined,
): ReplayedGrid {
  const savedOrders = new Map(Object.entries(restored));
  const requested = new Map<string, RestartOrder>();
  const cancels = new Set<string>();
  const isLive = (clientOrderId: string): boolean => savedOrders.has(clientOrderId) || requested.has(clientOrderId);
  actor.on('order.submit', ({ input }) => requested.set(input.intent.clientOrderId, { input, cancelRequested: false }));
  actor.on('order.cancel', ({ clientOrderId }) => {
    const order = requested.get(clientOrderId);
    if (order) requested.set(clientOrderId, { ...order, cancelRequested: true });
    else if (savedOrders.has(clientOrderId)) cancels.add(clientOrderId);
  });
  actor.start();
  let position = from;
  for (const entry of entries) {
    position = entry.position ?? position;
    const event = { ...entry.payload, type: entry.type } as GridEvent;
    if ('intent' in event && !isLive(event.intent.clientOrderId)) continue;
    actor.send(event);
    if (!('intent' in event)) continue;
    savedOrders.delete(event.intent.clientOrderId);
    requested.delete(event.intent.clientOrderId);
    cancels.delete(event.intent.clientOrderId);
  }
  const grid = actor.getPersistedSnapshot();
  actor.stop();
  return {
    snapshot: { grid, orders: Object.fromEntries(savedOrders), ...(position === undefined ? {} : { journal: position }) },
    restartOrders: [...requested.values()],
    cancelOrders: [...cancels],
    events: entries.length,
  };
}
