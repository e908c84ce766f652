// Replaying a grid's event journal (grid-journal.ts) on this build's grid machine.
//
// Tail replay (replayJournalTail): every recovery of a saved snapshot. The snapshot names the
// journal entry of the last event it reflects; the entries after it (the events the grid received
// after its last save) are replayed on it, so the grid knows every order it asked for before a
// crash, under the same client ids.
//
// Rebuild (rebuildFromJournal): used by recovery (grid-recovery.ts) when the saved snapshot is of
// another machine version or cannot be read. A new grid actor of this build is created from the
// input of the journal's last `GRID.CREATED`, the events after it are replayed with every effect
// ignored, and the intents it emits are collected: the live orders are those submitted
// (order.submit) and not ended by an outcome event in the journal; one it asked to cancel
// (order.cancel) is started with its cancel requested. The runtime then starts from that grid
// snapshot with each live order started over from its intent: the store knows the intent, so the
// order is looked up by client id on the exchange before anything is sent.
import { createActor, type Snapshot } from 'xstate';
import type { JournalEntry, JournalPosition } from '../../adapters/store/port.js';
import { gridMachine, type GridEvent, type GridInput } from '../../machines/grid.machine.js';
import { GRID_CREATED, JOURNAL_BROKEN } from '../grid/grid-journal.js';
import type { GridRuntimeSnapshot, RestartOrder } from '../grid/grid-runtime.js';

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
