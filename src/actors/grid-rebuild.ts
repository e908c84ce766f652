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
import { createActor } from 'xstate';
import type { JournalAppend, JournalEntry, StorePort } from '../adapters/store/port.js';
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

/** Starts writing the journal of grid `gridId` to `store`. */
export function startJournal(gridId: string, store: StorePort, logger: Logger): JournalWriter {
  const run = randomUUID();
  const queue: JournalAppend[] = [];
  let seq = 0;
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
    queue.push({ run, seq: seq++, type, payload });
    if (writing) return;
    writing = true;
    chain = chain.then(drain);
    writers.set(gridId, chain);
  };

  return {
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

/** An order to start over from its intent: live in the rebuilt grid, its outcome not in the journal. */
export interface RestartOrder {
  readonly input: OrderInput;
  /** The grid asked to cancel it (STOP): the restarted order is told CANCEL too. */
  readonly cancelRequested: boolean;
}

export interface RebuiltGrid {
  /** The rebuilt grid actor's persisted snapshot; no order snapshots (they are in `restartOrders`). */
  readonly snapshot: GridRuntimeSnapshot;
  readonly restartOrders: readonly RestartOrder[];
  /** Journal entries replayed (from the grid's creation on). */
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
export function rebuildFromJournal(journal: readonly JournalEntry[]): RebuiltGrid | undefined {
  if (unreplayable(journal) !== undefined) return undefined;
  const from = journal.findLastIndex((entry) => entry.type === GRID_CREATED);
  const input = journal[from]!.payload['input'] as GridInput;
  const actor = createActor(gridMachine, { input });
  const live = new Map<string, RestartOrder>();
  actor.on('order.submit', ({ input: order }) => live.set(order.intent.clientOrderId, { input: order, cancelRequested: false }));
  actor.on('order.cancel', ({ clientOrderId }) => {
    const order = live.get(clientOrderId);
    if (order) live.set(clientOrderId, { ...order, cancelRequested: true });
  });
  actor.start();
  for (const entry of journal.slice(from + 1)) {
    const event = { ...entry.payload, type: entry.type } as GridEvent;
    // An order ends once: a recovery that re-derived an outcome the journal already had (the saved
    // snapshot was behind the journal) journals it again, and that second one is not replayed.
    if ('intent' in event && !live.has(event.intent.clientOrderId)) continue;
    actor.send(event);
    if ('intent' in event) live.delete(event.intent.clientOrderId);
  }
  const snapshot = actor.getPersistedSnapshot();
  actor.stop();
  return { snapshot: { grid: snapshot, orders: {} }, restartOrders: [...live.values()], events: journal.length - from };
}
