// The running grids as the control API sees them (docs/control-api.md): what each grid is doing
// (GridView), its stored fills page by page, and the operator's commands. Implemented over the
// live supervision tree (src/actors/trading/grid-control.ts), served by src/adapters/http.
import type { Fill, Side } from './trading.js';

/**
 * A grid's lifecycle state: the top state of its statechart (IDLE, ACTIVE, PAUSED, STOPPING,
 * ERROR), or RECOVERING while it starts (start-up is the recovery path: until its books agree
 * with the exchange, it takes no command and shows no figures).
 */
export type GridLifecycle = 'IDLE' | 'ACTIVE' | 'PAUSED' | 'STOPPING' | 'ERROR' | 'RECOVERING';

export type GridCommandName = 'pause' | 'resume' | 'stop' | 'start';

/**
 * An operator's command; `stop` cancels every order of the grid, and sells its base with sellBase;
 * `start` starts a stopped grid again at the current price (a stopped grid stays stopped across restarts).
 */
export type GridCommand = { readonly type: 'pause' } | { readonly type: 'resume' } | { readonly type: 'stop'; readonly sellBase: boolean } | { readonly type: 'start' };

/** One price level of the grid and the order resting (or on its way) there. */
export interface LevelView {
  readonly level: number;
  readonly price: number;
  /** The grid's order at this level; `state` is its order actor's state (open, submitted, partiallyFilled, pendingCancel...). */
  readonly order: { readonly clientOrderId: string; readonly side: Side; readonly state: string } | null;
}

export interface GridStatsView {
  readonly buyFills: number;
  readonly sellFills: number;
  readonly fills: number;
  readonly roundTrips: number;
  /** Sum of the round trips' profit, before fees (quote). */
  readonly gridProfit: number;
  /** Every fee paid (quote). */
  readonly fees: number;
  /** gridProfit - fees (quote). */
  readonly netProfit: number;
  readonly skippedOrders: number;
  /** Base held by the grid. */
  readonly position: number;
  readonly startPrice: number | null;
  readonly lastPrice: number | null;
  readonly openOrders: number;
}

export interface GridView {
  readonly id: string;
  readonly symbol: string;
  readonly state: GridLifecycle;
  /** The grid statechart's value, e.g. {"active":"running"}; null while RECOVERING. */
  readonly statechart: unknown;
  /** Why it is ERROR or RECOVERING, for a human. */
  readonly reason?: string;
  /** What stopped it last: a stop-loss, a take-profit, or a command; null if nothing did. */
  readonly stopReason: 'stopLoss' | 'takeProfit' | 'command' | 'shutdown' | null;
  /** The commands it takes in its state now. */
  readonly accepts: Readonly<Record<GridCommandName, boolean>>;
  /** Every level, lowest price first; empty while RECOVERING or before the grid has a plan. */
  readonly levels: readonly LevelView[];
  /** Counter-orders decided but waiting: their level still held, or the grid paused. */
  readonly waitingOrders: readonly { readonly side: Side; readonly level: number; readonly price: number }[];
  /** null while RECOVERING (the saved figures could be stale). */
  readonly stats: GridStatsView | null;
}

/**
 * Where a page of fills starts: the fills executed before `timestamp` (ms), or with `tradeId`, the
 * fills after that one in the newest-first order (executed earlier, or at the same ms with a
 * lower trade id).
 */
export interface FillPosition {
  readonly timestamp: number;
  readonly tradeId?: string;
}

export interface FillPageQuery {
  readonly limit: number;
  readonly before?: FillPosition;
}

export interface FillPage {
  /** Newest first. */
  readonly fills: readonly Fill[];
  /** Where the next (older) page starts; absent on the last page. */
  readonly next?: FillPosition;
}

export type CommandOutcome =
  /** Sent to the grid; `grid` is its state after it. `journaled`: the command is in the grid's event journal (a restart keeps it). */
  | { readonly outcome: 'accepted'; readonly grid: GridView; readonly journaled: boolean }
  /** The grid does not take it in its state: `reason` says why. */
  | { readonly outcome: 'refused'; readonly reason: string; readonly grid: GridView }
  | { readonly outcome: 'unknownGrid' };

export interface GridControl {
  /** Every configured grid, in configuration order. */
  list(): GridView[];
  get(id: string): GridView | undefined;
  /** A page of the grid's stored fills, newest first; undefined for an unknown grid. */
  fills(id: string, query: FillPageQuery): Promise<FillPage | undefined>;
  command(id: string, command: GridCommand): Promise<CommandOutcome>;
}
