// Recovery of a grid after a crash or an update: start-up is the recovery path (crash-only).
// The exchange's state wins over ours; nothing is placed before the books agree with it.
//
// 1. load:      the grid's saved actors, and the journal's tail after them replayed (the events
//               the grid received after its last save: every order it asked for before the crash
//               is then known, with its client id). A snapshot of another machine version (or
//               one that cannot be read) is not restored: the grid is rebuilt from its whole
//               event journal on this build's machine (grid-rebuild.ts). Without a journal that
//               goes back to the grid's creation the grid is refused;
// 2. restart:   the grid as replayed; resting orders as saved; an order with a request under way,
//               and every order the replay asked for, is started over from its intent, so it is
//               looked up by client id before anything is sent, and given its stored fills (see
//               grid-runtime.ts);
// 3. replay:    the stored fills of those orders (each order takes a trade id once);
// 4. catch up:  the exchange's fills since the oldest order still open in the store, in one
//               request, stored first and then delivered, each once; their counter-orders follow
//               from the grid's rule;
// 5. reconcile: a resting order still not done and no longer open on the exchange is looked up:
//               cancelled or expired there, the order machine is told;
// 6. report:    open orders of this grid's id prefix that nothing knows of are logged, never touched
//               (asked for again if the start's list has any: an order may have ended meanwhile).
import type { ExchangeOrder, ExchangePort } from '../../adapters/exchange/port.js';
import type { StorePort } from '../../adapters/store/port.js';
import { silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import { ConfigError } from '../../config/config-error.js';
import type { GridConfig } from '../../config/grid-config.js';
import { GRID_MACHINE_VERSION } from '../../machines/grid.machine.js';
import { rebuildFromJournal, replayJournalTail, unreplayable, type ReplayedGrid } from './grid-rebuild.js';
import type { GridRuntime, GridRuntimeSnapshot, RestartOrder } from '../grid/grid-runtime.js';

/** What to restart a grid from: its saved actors brought up to date with the journal's tail, or the grid rebuilt from its journal. */
export interface SavedRuntime {
  readonly snapshot: GridRuntimeSnapshot;
  /** Orders the journal replay asked for, to start over from their intents. */
  readonly restartOrders: readonly RestartOrder[];
  /** Saved orders the journal replay asked to cancel. */
  readonly cancelOrders: readonly string[];
  /** The grid was rebuilt from its whole journal (its saved snapshot could not be used). */
  readonly rebuilt: boolean;
  /** Journal entries replayed onto the snapshot (or from the grid's creation). */
  readonly replayedEvents: number;
}

/** A persisted runtime this build can restore: a grid actor snapshot and order snapshots. */
function isReadable(snapshot: unknown): snapshot is GridRuntimeSnapshot {
  if (typeof snapshot !== 'object' || snapshot === null) return false;
  const { grid, orders } = snapshot as Partial<Record<'grid' | 'orders', unknown>>;
  const isActorSnapshot = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && 'status' in value && 'value' in value && typeof (value as { context?: unknown }).context === 'object';
  return isActorSnapshot(grid) && typeof orders === 'object' && orders !== null && Object.values(orders).every(isActorSnapshot);
}

/**
 * The saved actors to restart the grid from, or undefined for a grid that never ran. A snapshot of
 * another machine version, or one that cannot be read, is rebuilt from the grid's event journal
 * (logged at warn); without a journal that goes back to the grid's creation it is refused.
 */
export async function savedGrid(config: GridConfig, store: StorePort, logger: Logger = silentLogger): Promise<SavedRuntime | undefined> {
  const saved = await store.gridSnapshot(config.id);
  if (saved?.snapshot === null || saved?.snapshot === undefined) return undefined;
  const sameVersion = saved.machineVersion === GRID_MACHINE_VERSION;
  if (sameVersion && isReadable(saved.snapshot)) return withJournalTail(config, saved.snapshot, store, logger);

  const journal = await store.journal(config.id);
  const rebuilt = rebuildFromJournal(journal);
  if (rebuilt === undefined) {
    const why = unreplayable(journal)!;
    throw new ConfigError(
      sameVersion
        ? `grid ${config.id}: its saved state cannot be read, and ${why}; give the grid a new id (its orders on the exchange are not adopted)`
        : `grid ${config.id}: its saved state was written by machine version ${saved.machineVersion}, this build reads version ${GRID_MACHINE_VERSION}, and ${why}; ` +
            'run the build that wrote it until the grid is stopped, or give the grid a new id',
    );
  }
  const was = sameVersion ? 'saved state cannot be read' : `saved state is machine version ${saved.machineVersion}, this build is ${GRID_MACHINE_VERSION}`;
  logger.warn(
    { grid: config.id, machineVersion: saved.machineVersion, buildVersion: GRID_MACHINE_VERSION, events: rebuilt.events, liveOrders: rebuilt.restartOrders.length },
    `grid ${config.id}: ${was}: rebuilt from the journal (${rebuilt.events} events)`,
  );
  return savedRuntimeOf(rebuilt, true);
}

/**
 * The saved snapshot with the journal's tail replayed: the events the grid received after its
 * last save (a crash between an order's intent and the next save, say). A snapshot without a
 * position (written before positions existed), or a tail that cannot be replayed, is taken as
 * saved, with a warning for the latter: the reconcile then reports what it does not know.
 */
async function withJournalTail(config: GridConfig, snapshot: GridRuntimeSnapshot, store: StorePort, logger: Logger): Promise<SavedRuntime> {
  const asSaved: SavedRuntime = { snapshot, restartOrders: [], cancelOrders: [], rebuilt: false, replayedEvents: 0 };
  if (snapshot.journal === undefined) return asSaved;
  const tail = await store.journalAfter(config.id, snapshot.journal);
  const replayed = tail === undefined ? undefined : replayJournalTail(snapshot, tail);
  if (replayed === undefined) {
    logger.warn({ grid: config.id, position: snapshot.journal }, `grid ${config.id}: the journal after its saved state cannot be replayed; restarting from the saved state alone`);
    return asSaved;
  }
  return savedRuntimeOf(replayed, false);
}

function savedRuntimeOf({ snapshot, restartOrders, cancelOrders, events }: ReplayedGrid, rebuilt: boolean): SavedRuntime {
  return { snapshot, restartOrders, cancelOrders, rebuilt, replayedEvents: events };
}

export interface RecoveryReport {
  readonly orders: number;
  readonly replayedFills: number;
  readonly lookedUp: number;
  readonly endedOnExchange: number;
  /** Fills the exchange made that the store did not have (made while nobody listened). */
  readonly caughtUpFills: number;
  readonly unknownOrders: readonly string[];
}

/** Steps 3 to 6 for a runtime restarted from its saved actors (steps 1 and 2). */
export async function reconcileWithExchange(
  config: GridConfig,
  runtime: GridRuntime,
  store: StorePort,
  exchange: ExchangePort,
  openOnExchange: readonly ExchangeOrder[],
  logger: Logger,
): Promise<RecoveryReport> {
  const since = await store.recoverySince(config.id);
  const known = [...runtime.orders.keys()];
  const stored = await store.fillsOf(known);
  for (const fill of stored) runtime.orders.get(fill.clientOrderId)?.send({ type: 'FILL', fill });

  // The fills made while nobody listened, in one request: an order they complete needs no look-up.
  // The store names the orders' exchange ids, so no trade needs its order looked up to be attributed.
  const fetched = since === undefined ? [] : await exchange.fetchFills(config.symbol, since, await store.exchangeOrderIds(config.id, since));
  const caughtUpFills = await runtime.deliverFills(fetched);

  // What the books restored as resting, is still not done and was not open on the exchange ended
  // there some other way. (Orders placed since the start's list are not in it: they are not asked about.)
  const open = new Set(openOnExchange.map((order) => order.clientOrderId));
  let lookedUp = 0;
  let endedOnExchange = 0;
  for (const clientOrderId of known) {
    const order = runtime.orders.get(clientOrderId);
    const value = order?.getSnapshot().value;
    if (order === undefined || (value !== 'open' && value !== 'partiallyFilled') || open.has(clientOrderId)) continue;
    lookedUp++;
    const found = await exchange.fetchOrderByClientId(clientOrderId, config.symbol);
    if (found?.status === 'canceled' || found?.status === 'expired') {
      endedOnExchange++;
      order.send({ type: found.status === 'canceled' ? 'EXCHANGE_CANCELED' : 'EXCHANGE_EXPIRED' });
    }
  }

  const prefix = `bb${config.id}_`;
  const unknownIn = (orders: readonly ExchangeOrder[]): ExchangeOrder[] => {
    const slots = new Set(runtime.actor.getSnapshot().context.slots.flatMap((slot) => (slot ? [slot.clientOrderId] : [])));
    return orders.filter((order) => order.clientOrderId.startsWith(prefix) && !runtime.orders.has(order.clientOrderId) && !slots.has(order.clientOrderId));
  };
  // The list was taken when the start began: an order that ended during the recovery is in it but
  // no longer in the books. Only orders still open now, and still unknown, are reported.
  const suspects = unknownIn(openOnExchange);
  const unknownOrders = (suspects.length === 0 ? [] : unknownIn(await exchange.fetchOpenOrders(config.symbol))).map(
    (order) => `${order.clientOrderId} ${order.side} ${order.amount} @ ${order.price}`,
  );
  if (unknownOrders.length > 0) logger.warn({ grid: config.id, orders: unknownOrders }, 'open orders with this grid\'s id that its books do not know: left as they are');
  return { orders: known.length, replayedFills: stored.length, lookedUp, endedOnExchange, caughtUpFills, unknownOrders };
}
