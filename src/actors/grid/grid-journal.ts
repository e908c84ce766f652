// The event journal of a grid (the `events` table): what the grid actor was created with
// (`GRID.CREATED`, its input) and then every event it received, in the order it received them,
// each with what is needed to replay it (START with its price, PAUSE, RESUME, STOP, PRICE_TRIGGER,
// FAULT, and the order outcomes ORDER.FILLED / CANCELED / EXPIRED / REJECTED with their intent and
// figures). The grid machine is deterministic, so replaying the journal gives the grid's context
// (grid-rebuild.ts).
//
// Writing (JournalWriter): `append` only queues (the trading path never waits for the journal);
// the queue is written in order, in batches, one batch at a time. While the store is unreachable a
// batch is retried after a pause (0.5 s doubling to 2 s) and everything behind it waits: no
// gaps. Each entry is numbered within its writer's run, and the store writes an entry once per
// (run, number), so a batch retried after a lost answer is not written twice. A tail not yet
// written when the process dies is lost, which is fine: it is the newest events, and no order
// was sent or cancelled for them (orders wait for the journal). Data the store refuses stops the
// journal of this run (a journal with a hole would replay wrong); a `JOURNAL.BROKEN` entry is
// attempted so that a replay refuses it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalAppend, JournalPosition, StorePort } from '../../adapters/store/port.js';
import { storeErrorOf, storeRetryDelayMs } from '../../adapters/store/store-errors.js';
import type { Logger } from '../../adapters/telemetry/logger.js';
import type { GridEvent, GridInput } from '../../machines/grid.machine.js';

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
