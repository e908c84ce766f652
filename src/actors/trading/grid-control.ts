// The control API's view of the live supervision tree (GridControl, src/domain/grid-control.ts):
// each grid's state, levels and figures read from its actors when asked (nothing cached), its
// fills from the store, and the operator's commands sent to its grid actor.
//
// A command goes through runtime.send like every event of the grid: it is appended to the
// grid's event journal before the actor gets it, so a restart (a crash, an update) replays it and
// a paused grid comes back paused. It is sent only when the grid's statechart takes it in its
// state now (snapshot.can: the transition table, guards included); otherwise it is refused with
// the reason, and nothing is journaled. A grid still starting or recovering takes no command.
// The answer waits for the journal write (a few ms), at most JOURNAL_WAIT_MS: a store that is down
// holds the entry in the journal's queue, and the answer says it is not written yet.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StorePort } from '../../adapters/store/port.js';
import type { GridConfig } from '../../config/grid-config.js';
import type { CommandOutcome, FillPage, FillPageQuery, GridCommand, GridCommandName, GridControl, GridLifecycle, GridView } from '../../domain/grid-control.js';
import type { GiveUpReason } from '../../domain/supervision.js';
import type { GridEvent } from '../../machines/grid.machine.js';
import type { GridRuntime } from '../grid/grid-runtime.js';
import { lifecycleState } from '../supervision/health.js';
import type { ControlledGrid, GridService } from './grid-service.js';

/** How long a command's answer waits for its journal entry to be written. */
const JOURNAL_WAIT_MS = 3_000;

export interface LiveGridControlOptions {
  /** The grids of the tree, in configuration order. */
  readonly configs: readonly GridConfig[];
  /** The grid's current incarnation (a restart makes a new one). */
  readonly service: (id: string) => GridService | undefined;
  readonly store: StorePort;
  /** Why the tree gave up, once it did: every grid is ERROR then. */
  readonly gaveUp: () => GiveUpReason | undefined;
  readonly journalWaitMs?: number;
}

const COMMANDS: readonly GridCommandName[] = ['pause', 'resume', 'stop', 'start'];

/** The grid event of `command`; a start is at `price`, the last price seen. */
function eventOf(command: GridCommand, price: number): GridEvent {
  if (command.type === 'pause') return { type: 'PAUSE' };
  if (command.type === 'resume') return { type: 'RESUME' };
  if (command.type === 'start') return { type: 'START', price };
  return { type: 'STOP', sellBase: command.sellBase };
}

/** The commands the grid takes in its state now (a start only once stopped: a grid not started yet starts by itself). */
function acceptedBy(runtime: GridRuntime | undefined, price: number): Record<GridCommandName, boolean> {
  const snapshot = runtime?.actor.getSnapshot();
  const takes = (command: GridCommand): boolean => snapshot !== undefined && snapshot.status === 'active' && snapshot.can(eventOf(command, price));
  const stopped = snapshot?.context.stopReason !== undefined && Number.isFinite(price);
  return { pause: takes({ type: 'pause' }), resume: takes({ type: 'resume' }), stop: takes({ type: 'stop', sellBase: false }), start: stopped && takes({ type: 'start' }) };
}

const NONE: Record<GridCommandName, boolean> = { pause: false, resume: false, stop: false, start: false };

/** The grid as it is now, from its actors. */
function viewOf(config: GridConfig, service: GridService | undefined, gaveUp: GiveUpReason | undefined): GridView {
  const base = { id: config.id, symbol: config.symbol };
  if (gaveUp !== undefined) {
    const reason = `supervision gave up (${gaveUp.message}); its orders stay resting on the exchange: restart btcbot`;
    return { ...base, state: 'ERROR', statechart: null, reason, stopReason: null, accepts: NONE, levels: [], waitingOrders: [], stats: null };
  }
  const grid = service?.controlled();
  if (grid === undefined) {
    const reason = service?.health().reason ?? 'not started yet';
    return { ...base, state: 'RECOVERING', statechart: null, reason, stopReason: null, accepts: NONE, levels: [], waitingOrders: [], stats: null };
  }
  return tradingView(config, grid);
}

function tradingView(config: GridConfig, { runtime, startPrice, lastPrice }: ControlledGrid): GridView {
  const { value, context } = runtime.actor.getSnapshot();
  const prices = context.plan?.levels ?? [];
  const levels = prices.map((price, level) => {
    const slot = context.slots[level] ?? null;
    const order = slot && { clientOrderId: slot.clientOrderId, side: slot.side, state: String(runtime.orders.get(slot.clientOrderId)?.getSnapshot().value ?? 'unknown') };
    return { level, price, order };
  });
  const { stats } = context;
  const state = lifecycleState(value) as GridLifecycle;
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    id: config.id,
    symbol: config.symbol,
    state,
    statechart: value,
    ...(state === 'ERROR' && context.error !== undefined ? { reason: context.error } : {}),
    stopReason: context.stopReason ?? null,
    accepts: acceptedBy(runtime, lastPrice),
    levels,
    waitingOrders: context.deferred.map(({ side, level }) => ({ side, level, price: prices[level]! })),
    stats: {
      buyFills: stats.buyFills,
      sellFills: stats.sellFills,
      fills: stats.buyFills + stats.sellFills,
      roundTrips: stats.roundTrips,
      gridProfit: stats.gridProfit,
      fees: stats.fees,
      netProfit: stats.gridProfit - stats.fees,
      skippedOrders: stats.skippedOrders,
      position: context.position,
      startPrice: finite(context.plan?.startPrice ?? startPrice),
      lastPrice: finite(lastPrice),
      openOrders: context.slots.filter((slot) => slot !== null).length,
    },
  };
}

/** Why the grid does not take `command` now, in words an operator can act on. */
function refusal(view: GridView, command: GridCommandName): string {
  const where = view.statechart === null ? view.state : `${view.state} (${JSON.stringify(view.statechart)})`;
  const why = (() => {
    if (view.state === 'RECOVERING') return `it is ${view.reason ?? 'starting'}; commands are taken once it trades`;
    if (view.state === 'ERROR' && view.statechart === null) return view.reason ?? 'its actors are stopped';
    if (view.state === 'PAUSED' && command === 'pause') return 'it is already paused';
    if (view.state === 'ACTIVE' && command === 'resume') return 'it is not paused: nothing to resume';
    if (view.state === 'ACTIVE' && command === 'pause') return 'it is still placing its start orders; pause it once they rest';
    if (view.state === 'STOPPING') return 'it is stopping: cancelling its orders (and selling its base if asked)';
    if (view.state === 'IDLE') return command === 'start' ? 'it cannot start at the last price (see its stopReason and the logs)' : 'it is stopped; start it again with POST .../start';
    if (view.state === 'ERROR' && command === 'resume') return `it has nothing to resume (${view.reason ?? 'no run'}); stop it or restart btcbot`;
    return `its statechart does not take ${command} there`;
  })();
  const takes = COMMANDS.filter((name) => view.accepts[name]);
  return `grid ${view.id} is ${where}: ${why}. It takes ${takes.length === 0 ? 'no command' : takes.join(', ')} now`;
}

/** The GridControl of a live supervision tree. */
export function liveGridControl(options: LiveGridControlOptions): GridControl {
  const configs = new Map(options.configs.map((config) => [config.id, config]));
  const view = (config: GridConfig): GridView => viewOf(config, options.service(config.id), options.gaveUp());
  return {
    list: () => options.configs.map(view),
    get: (id) => {
      const config = configs.get(id);
      return config && view(config);
    },
    async fills(id: string, { limit, before }: FillPageQuery): Promise<FillPage | undefined> {
      if (!configs.has(id)) return undefined;
      // One more than asked: whether there is a next page.
      const rows = await options.store.gridFills(id, { limit: limit + 1, ...(before === undefined ? {} : { before }) });
      const fills = rows.slice(0, limit);
      const last = fills.at(-1);
      return rows.length > limit && last !== undefined ? { fills, next: { timestamp: last.timestamp, tradeId: last.tradeId } } : { fills };
    },
    async command(id: string, command: GridCommand): Promise<CommandOutcome> {
      const config = configs.get(id);
      if (config === undefined) return { outcome: 'unknownGrid' };
      const before = view(config);
      const grid = options.gaveUp() === undefined ? options.service(id)?.controlled() : undefined;
      if (grid === undefined || !before.accepts[command.type]) return { outcome: 'refused', reason: refusal(before, command.type), grid: before };
      grid.runtime.send(eventOf(command, grid.lastPrice));
      const journaled = await journalWritten(grid.runtime, options.journalWaitMs ?? JOURNAL_WAIT_MS);
      return { outcome: 'accepted', grid: view(config), journaled };
    },
  };
}

/** True once the grid's journal holds what was sent to it, false if that takes longer than `waitMs`. */
async function journalWritten(runtime: GridRuntime, waitMs: number): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([runtime.journalFlushed().then(() => true), sleep(waitMs, false, { signal: timeout.signal, ref: false })]);
  } finally {
    timeout.abort();
  }
}
