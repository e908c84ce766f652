// The grid lifecycle: IDLE -> ACTIVE (placing, running) <-> PAUSED, STOPPING -> IDLE, ERROR.
//
// The grid decides; order actors (one per order, run by the runtime) talk to the exchange. The
// grid asks for them with emitted events (order.submit, order.cancel) and hears back from them
// through ORDER.* events (an order actor's output).
// It sees only lifecycle commands, order outcomes and price triggers, never raw ticks: the
// adapters walk prices and match orders, and tell the grid when a stop-loss or take-profit
// price was reached (PRICE_TRIGGER).
//
// The one rule (docs/grid-rules.md, "Counter-orders"): a buy filled at L_i is answered by a sell of
// the same quantity at L_{i+1}, a sell at L_i by a buy at L_{i-1}.
import { and, assertEvent, assign, enqueueActions, not, setup } from 'xstate';
import type { GridConfig } from '../config/grid-config.js';
import type { OrderIntent, Side } from '../domain/trading.js';
import { counterOrderOf, planStart, roundTripProfit, stopSellQuantity, type StartPlan } from './grid-math.js';
import type { OrderInput, OrderOutcomeEvent } from './order.machine.js';

/** A limit order the grid has out (asked for and not yet final), in its level's slot. */
export interface GridOrderRef {
  readonly clientOrderId: string;
  readonly side: Side;
  /** A sell placed as the counter of a buy: its fill closes a round trip. */
  readonly roundTrip: boolean;
}

/** A counter-order decided while the grid could not place it: paused, in error, or its level still taken. */
export interface DeferredOrder {
  readonly side: Side;
  readonly level: number;
  readonly roundTrip: boolean;
}

export interface GridStats {
  readonly buyFills: number;
  readonly sellFills: number;
  readonly roundTrips: number;
  /** Sum of q * (L_{i+1} - L_i) over round trips, before fees. */
  readonly gridProfit: number;
  /** Every fee the grid paid: market orders and limit fills. */
  readonly fees: number;
  /** Orders not placed because the exchange refused them (mostly: funds not free). */
  readonly skippedOrders: number;
}

/** Why the grid stopped: a trigger, the operator's STOP, or the process's shutdown (shutdown.cancelOrders; the next start places the grid again). */
export type StopReason = 'stopLoss' | 'takeProfit' | 'command' | 'shutdown';

export interface GridInput {
  readonly config: GridConfig;
  /** Passed to each order actor: how long a create may go unanswered (ms). */
  readonly submitTimeoutMs?: number;
}

export interface GridContext {
  readonly config: GridConfig;
  readonly submitTimeoutMs: number;
  readonly plan: StartPlan | undefined;
  /** One slot per level: the limit order out at that level, or null (never two on one level). */
  readonly slots: readonly (GridOrderRef | null)[];
  /** Orders placed so far per level: the cycle part of the next client order id. */
  readonly cycles: readonly number[];
  /** The run's grid orders were placed (after the start buy). */
  readonly gridPlaced: boolean;
  /** Market orders placed so far (start buys and stop sells). */
  readonly marketOrders: number;
  /** Client id of the market order the grid waits for, if any. */
  readonly pendingMarketOrder: { readonly clientOrderId: string; readonly side: Side } | undefined;
  /** Base the grid holds: the starting balance plus what it bought minus what it sold. */
  readonly position: number;
  /**
   * Quote the grid holds by its own books: the starting balance, minus what its buys cost, plus
   * what its sells brought (at their average fill prices), minus every fee. Its equity is
   * quote + position x price (grid-figures.ts). Absent from snapshots saved before it existed.
   */
  readonly quote: number;
  readonly stats: GridStats;
  readonly deferred: readonly DeferredOrder[];
  readonly stopReason: StopReason | undefined;
  readonly sellOnStop: boolean;
  readonly error: string | undefined;
  readonly warnings: readonly string[];
}

export type GridCommandEvent =
  | { type: 'START'; price: number }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP'; sellBase?: boolean; shutdown?: boolean }
  | { type: 'PRICE_TRIGGER'; trigger: 'stopLoss' | 'takeProfit' }
  | { type: 'FAULT'; reason: string };

export type GridEvent = GridCommandEvent | OrderOutcomeEvent;

/** The order outcomes (an order actor's output), the events that book an order's end. */
const ORDER_OUTCOMES = ['ORDER.FILLED', 'ORDER.CANCELED', 'ORDER.EXPIRED', 'ORDER.REJECTED'] as const;

const emptyStats: GridStats = { buyFills: 0, sellFills: 0, roundTrips: 0, gridProfit: 0, fees: 0, skippedOrders: 0 };

function startProblem(config: GridConfig, price: number): string | undefined {
  try {
    planStart(config, price);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The version of the grid and order machines' persisted snapshots: bump it whenever a change
 * makes an older snapshot unreadable (a renamed state, a reshaped context), so a stored snapshot
 * of another version is refused instead of misread.
 */
export const GRID_MACHINE_VERSION = 1;

/** Client order ids: `bb<grid>_<level><b|s><cycle>` and `bb<grid>_m<n>`; [A-Za-z0-9_], at most 30 characters. */
export function limitOrderId(gridId: string, level: number, side: Side, cycle: number): string {
  return `bb${gridId}_${level}${side === 'buy' ? 'b' : 's'}${cycle}`;
}

export function marketOrderId(gridId: string, sequence: number): string {
  return `bb${gridId}_m${sequence}`;
}

interface OrderPlacement {
  /** Context changes: the new order refs, cycles, counters. */
  readonly patch: Partial<GridContext>;
  /** Order actors to spawn, in placement order. */
  readonly intents: readonly OrderIntent[];
}

/**
 * Decides the limit orders for `wanted`. A level that already holds an order is never given a
 * second one: that order waits in `deferred` and is placed once the level frees. (Fills can reach
 * the grid out of price order when the exchange answers late: a buy at L(i-1) may be reported
 * before the buy at L(i) the price passed first, and its counter-sell at L(i) must wait for that
 * buy's fill instead of being lost.) A level outside the grid is skipped and counted.
 */
function limitOrderPlacement(context: GridContext, wanted: readonly DeferredOrder[]): OrderPlacement {
  const plan = context.plan!;
  const slots = context.slots.slice();
  const cycles = context.cycles.slice();
  const intents: OrderIntent[] = [];
  const waiting: DeferredOrder[] = [];
  let skipped = 0;
  for (const order of wanted) {
    if (order.level < 0 || order.level >= plan.levels.length) {
      skipped++;
      continue;
    }
    if (slots[order.level] !== null) {
      waiting.push(order);
      continue;
    }
    const cycle = cycles[order.level]! + 1;
    cycles[order.level] = cycle;
    const clientOrderId = limitOrderId(context.config.id, order.level, order.side, cycle);
    slots[order.level] = { clientOrderId, side: order.side, roundTrip: order.roundTrip };
    intents.push({
      clientOrderId,
      symbol: context.config.symbol,
      side: order.side,
      type: 'limit',
      price: plan.levels[order.level]!,
      amount: plan.quantity,
      level: order.level,
    });
  }
  const stats = skipped > 0 ? { ...context.stats, skippedOrders: context.stats.skippedOrders + skipped } : context.stats;
  return { patch: { slots, cycles, stats, deferred: waiting }, intents };
}

function marketOrderPlacement(context: GridContext, side: Side, amount: number): OrderPlacement {
  const sequence = context.marketOrders + 1;
  const clientOrderId = marketOrderId(context.config.id, sequence);
  return {
    patch: { marketOrders: sequence, pendingMarketOrder: { clientOrderId, side } },
    intents: [{ clientOrderId, symbol: context.config.symbol, side, type: 'market', amount, level: -1 }],
  };
}

/** `slots` with the order `clientOrderId` gone from `level` (a market order, level -1, holds no slot). */
function withoutOrder(slots: readonly (GridOrderRef | null)[], level: number, clientOrderId: string): readonly (GridOrderRef | null)[] {
  if (slots[level]?.clientOrderId !== clientOrderId) return slots;
  const next = slots.slice();
  next[level] = null;
  return next;
}

/** What the stop sells: whole amount steps of the position, priced at the trigger when a trigger stops the grid. */
function stopSellOf(context: GridContext): number {
  const { stopReason, config } = context;
  const price = stopReason === 'stopLoss' || stopReason === 'takeProfit' ? config[stopReason] : undefined;
  return stopSellQuantity(config.market, context.position, price);
}

/** The position after a fill; selling the last of it leaves float residue (1e-15), which is zero. */
function afterFill(position: number, side: Side, filled: number): number {
  const next = side === 'buy' ? position + filled : position - filled;
  return side === 'sell' && Math.abs(next) <= filled * 1e-9 ? 0 : next;
}

/** What the grid asks of the runtime. */
export type GridEmitted = { type: 'order.submit'; input: OrderInput } | { type: 'order.cancel'; clientOrderId: string };

/** The part of XState's `enqueue` that a placement uses. */
interface PlacementEnqueue {
  assign(patch: Partial<GridContext>): void;
  emit(event: GridEmitted): void;
}

/** Applies a placement: context first, then one order actor per intent (each stores its intent before sending). */
function applyPlacement(enqueue: PlacementEnqueue, context: GridContext, placement: OrderPlacement): void {
  enqueue.assign(placement.patch);
  for (const intent of placement.intents) enqueue.emit({ type: 'order.submit', input: { intent, submitTimeoutMs: context.submitTimeoutMs } });
}

export const gridMachine = setup({
  types: {
    context: {} as GridContext,
    events: {} as GridEvent,
    input: {} as GridInput,
    emitted: {} as GridEmitted,
  },
  guards: {
    canStart: ({ context, event }) => {
      assertEvent(event, 'START');
      return startProblem(context.config, event.price) === undefined;
    },
    hasPlan: ({ context }) => context.plan !== undefined,
    gridPlaced: ({ context }) => context.gridPlaced,
    needsMarketBuy: ({ context }) => (context.plan?.marketBuyQuantity ?? 0) > 0,
    isPendingMarketOrder: ({ context, event }) => 'intent' in event && event.intent.clientOrderId === context.pendingMarketOrder?.clientOrderId,
    awaitsStartBuy: ({ context }) => context.plan !== undefined && context.pendingMarketOrder?.side === 'buy' && !context.gridPlaced,
    isLimitOrder: ({ event }) => 'intent' in event && event.intent.type === 'limit',
    wasStopping: ({ context }) => context.stopReason !== undefined,
    noOrdersOut: ({ context }) => context.pendingMarketOrder === undefined && context.slots.every((slot) => slot === null),
    sellsOnStop: ({ context }) => context.sellOnStop && stopSellOf(context) > 0,
  },
  actions: {
    rejectStart: assign(({ context, event }) => {
      assertEvent(event, 'START');
      return { plan: undefined, error: `cannot start: ${startProblem(context.config, event.price)}` };
    }),
    planRun: assign(({ context, event }) => {
      assertEvent(event, 'START');
      const plan = planStart(context.config, event.price);
      return {
        plan,
        slots: plan.levels.map(() => null),
        // Cycles carry over from earlier runs, so a client order id is never used twice.
        cycles: plan.levels.map((_, i) => context.cycles[i] ?? 0),
        gridPlaced: false,
        pendingMarketOrder: undefined,
        position: plan.balance.base,
        quote: plan.balance.quote,
        stats: emptyStats,
        deferred: [],
        stopReason: undefined,
        sellOnStop: false,
        error: undefined,
        warnings: plan.warnings,
      };
    }),
    placeStartBuy: enqueueActions(({ context, enqueue }) => {
      applyPlacement(enqueue, context, marketOrderPlacement(context, 'buy', context.plan!.marketBuyQuantity));
    }),
    placeInitialOrders: enqueueActions(({ context, enqueue }) => {
      const plan = context.plan!;
      // Nearest levels first, sells before buys: when funds are short, the far levels go without.
      const sells = plan.sellLevels.map((level): DeferredOrder => ({ side: 'sell', level, roundTrip: false }));
      const buys = plan.buyLevels.map((level): DeferredOrder => ({ side: 'buy', level, roundTrip: false }));
      const placement = limitOrderPlacement(context, [...sells, ...buys]);
      applyPlacement(enqueue, context, { ...placement, patch: { ...placement.patch, gridPlaced: true } });
    }),
    /** Books an order's end: what it filled (also the part of a canceled one) into position and stats, its level freed. */
    bookOrder: assign(({ context, event }) => {
      assertEvent(event, ORDER_OUTCOMES);
      const { clientOrderId, side, level, type } = event.intent;
      const filled = event.type === 'ORDER.REJECTED' ? 0 : event.filled;
      const fee = event.type === 'ORDER.REJECTED' ? 0 : event.fee;
      const cost = event.type === 'ORDER.REJECTED' ? 0 : filled * event.averagePrice;
      const stats = context.stats;
      const limitFill = type === 'limit' && event.type === 'ORDER.FILLED';
      const ref = type === 'limit' ? context.slots[level] : undefined;
      const closesRoundTrip = limitFill && side === 'sell' && ref?.clientOrderId === clientOrderId && ref.roundTrip;
      return {
        slots: type === 'limit' ? withoutOrder(context.slots, level, clientOrderId) : context.slots,
        pendingMarketOrder: clientOrderId === context.pendingMarketOrder?.clientOrderId ? undefined : context.pendingMarketOrder,
        position: afterFill(context.position, side, filled),
        quote: context.quote + (side === 'sell' ? cost : -cost) - fee,
        stats: {
          ...stats,
          buyFills: stats.buyFills + (limitFill && side === 'buy' ? 1 : 0),
          sellFills: stats.sellFills + (limitFill && side === 'sell' ? 1 : 0),
          roundTrips: stats.roundTrips + (closesRoundTrip ? 1 : 0),
          gridProfit: stats.gridProfit + (closesRoundTrip ? roundTripProfit(context.plan!.levels, level, filled) : 0),
          fees: stats.fees + fee,
        },
      };
    }),
    placeCounterOrder: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ORDER.FILLED');
      const counter = counterOrderOf(event.intent.side, event.intent.level);
      // This fill's counter first: a late-reported fill happened before the ones whose counters wait.
      applyPlacement(enqueue, context, limitOrderPlacement(context, [{ ...counter, roundTrip: event.intent.side === 'buy' }, ...context.deferred]));
    }),
    deferCounterOrder: assign(({ context, event }) => {
      assertEvent(event, 'ORDER.FILLED');
      const counter = counterOrderOf(event.intent.side, event.intent.level);
      return { deferred: [...context.deferred, { ...counter, roundTrip: event.intent.side === 'buy' }] };
    }),
    placeDeferredOrders: enqueueActions(({ context, enqueue }) => {
      if (context.deferred.length > 0) applyPlacement(enqueue, context, limitOrderPlacement(context, context.deferred));
    }),
    countSkipped: assign(({ context }) => ({ stats: { ...context.stats, skippedOrders: context.stats.skippedOrders + 1 } })),
    rememberStop: assign(({ event }) => {
      assertEvent(event, ['PRICE_TRIGGER', 'STOP']);
      return event.type === 'PRICE_TRIGGER' ? { stopReason: event.trigger, sellOnStop: true } : { stopReason: event.shutdown === true ? ('shutdown' as const) : ('command' as const), sellOnStop: event.sellBase === true };
    }),
    cancelAllOrders: enqueueActions(({ context, enqueue }) => {
      for (const slot of context.slots) if (slot !== null) enqueue.emit({ type: 'order.cancel', clientOrderId: slot.clientOrderId });
    }),
    placeStopSell: enqueueActions(({ context, enqueue }) => {
      applyPlacement(enqueue, context, marketOrderPlacement(context, 'sell', stopSellOf(context)));
    }),
    recordFault: assign(({ event }) => {
      assertEvent(event, 'FAULT');
      return { error: event.reason };
    }),
    /** A market order failed (refused, expired or canceled): a start buy that failed leaves no run to resume. */
    recordMarketFailure: assign(({ context, event }) => {
      assertEvent(event, ['ORDER.REJECTED', 'ORDER.EXPIRED', 'ORDER.CANCELED']);
      const { side, clientOrderId } = event.intent;
      const what = event.type === 'ORDER.REJECTED' ? `was rejected: ${event.reason}` : event.type === 'ORDER.EXPIRED' ? 'expired' : 'was canceled';
      const startBuyFailed = side === 'buy' && !context.gridPlaced;
      return {
        error: `market ${side} ${clientOrderId} ${what}`,
        pendingMarketOrder: undefined,
        plan: startBuyFailed ? undefined : context.plan,
      };
    }),
    /** A START refused while in error: say why, keep the run (RESUME can still finish it). */
    explainRefusedStart: assign(({ context, event }) => {
      assertEvent(event, 'START');
      return { error: `cannot start: ${startProblem(context.config, event.price)}` };
    }),
    clearError: assign({ error: undefined }),
  },
}).createMachine({
  id: 'grid',
  context: ({ input }) => ({
    config: input.config,
    submitTimeoutMs: input.submitTimeoutMs ?? 10_000,
    plan: undefined,
    slots: [],
    cycles: [],
    gridPlaced: false,
    marketOrders: 0,
    pendingMarketOrder: undefined,
    position: 0,
    quote: 0,
    stats: emptyStats,
    deferred: [],
    stopReason: undefined,
    sellOnStop: false,
    error: undefined,
    warnings: [],
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: [
          // A valid start: plan the run (levels, size, wallet) and go.
          { guard: 'canStart', target: 'active', actions: 'planRun' },
          // The start price breaks a rule (trigger on the wrong side, min notional, funds): nothing is placed.
          { target: 'error', actions: 'rejectStart' },
        ],
      },
    },
    active: {
      initial: 'placing',
      states: {
        placing: {
          always: [
            // Sell levels need base: buy it first, with one market order.
            { guard: 'needsMarketBuy', target: 'buyingBase', actions: 'placeStartBuy' },
            // No sell level (start price at or above the top): place the grid at once.
            { target: 'running', actions: 'placeInitialOrders' },
          ],
        },
        buyingBase: {
          on: {
            // Base bought: place every grid order.
            'ORDER.FILLED': { guard: 'isPendingMarketOrder', target: 'running', actions: ['bookOrder', 'placeInitialOrders'] },
            // The start's buy was refused or expired: nothing else is placed (a partial fill is booked).
            'ORDER.REJECTED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: 'recordMarketFailure' },
            'ORDER.EXPIRED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: ['bookOrder', 'recordMarketFailure'] },
            'ORDER.CANCELED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: ['bookOrder', 'recordMarketFailure'] },
          },
        },
        running: {
          on: {
            // The grid's one rule: answer every fill with its counter-order.
            'ORDER.FILLED': [{ guard: 'isLimitOrder', actions: ['bookOrder', 'placeCounterOrder'] }, { actions: 'bookOrder' }],
            // Funds not free (or the order broke a filter): count it, leave the level empty (an order waiting for it takes it).
            'ORDER.REJECTED': { actions: ['bookOrder', 'countSkipped', 'placeDeferredOrders'] },
            // Canceled or expired on the exchange side: book any partial fill, the level is empty now (an order waiting for it takes it).
            'ORDER.CANCELED': { actions: ['bookOrder', 'placeDeferredOrders'] },
            'ORDER.EXPIRED': { actions: ['bookOrder', 'placeDeferredOrders'] },
            // Hold fire: orders keep resting, fills are booked, counter-orders wait.
            PAUSE: { target: '#grid.paused' },
          },
        },
      },
      on: {
        // Stop-loss or take-profit reached: cancel everything and sell the base.
        PRICE_TRIGGER: { target: 'stopping', actions: 'rememberStop' },
        // Stop by command: cancel everything; sell the base only if asked.
        STOP: { target: 'stopping', actions: 'rememberStop' },
        // A supervisor gave up on something the grid depends on: leave orders resting.
        FAULT: { target: 'error', actions: 'recordFault' },
      },
    },
    paused: {
      on: {
        // A resting order filled while paused: book it, keep the counter-order for later.
        'ORDER.FILLED': [{ guard: 'isLimitOrder', actions: ['bookOrder', 'deferCounterOrder'] }, { actions: 'bookOrder' }],
        'ORDER.REJECTED': { actions: ['bookOrder', 'countSkipped'] },
        'ORDER.CANCELED': { actions: 'bookOrder' },
        'ORDER.EXPIRED': { actions: 'bookOrder' },
        // Back to work: place what was held back (an order for a level still taken waits for it).
        RESUME: { target: 'active.running', actions: 'placeDeferredOrders' },
        PRICE_TRIGGER: { target: 'stopping', actions: 'rememberStop' },
        STOP: { target: 'stopping', actions: 'rememberStop' },
        FAULT: { target: 'error', actions: 'recordFault' },
      },
    },
    stopping: {
      initial: 'cancelling',
      entry: 'cancelAllOrders',
      states: {
        cancelling: {
          always: [
            // Every order is gone (a start buy still out included): on to selling.
            { guard: 'noOrdersOut', target: 'selling' },
          ],
          on: {
            // A fill that raced the cancel still counts (no counter-order: we are stopping).
            'ORDER.FILLED': { actions: 'bookOrder' },
            'ORDER.CANCELED': { actions: 'bookOrder' },
            'ORDER.EXPIRED': { actions: 'bookOrder' },
            'ORDER.REJECTED': { actions: 'bookOrder' },
          },
        },
        selling: {
          always: [
            // Base to sell (a stop-loss, take-profit, or STOP with sellBase): sell it at market.
            { guard: 'sellsOnStop', target: 'awaitingSell', actions: 'placeStopSell' },
            // Nothing to sell (no base, dust below one amount step or below min notional at the trigger): done.
            { target: '#grid.idle' },
          ],
        },
        awaitingSell: {
          on: {
            // Sold: the grid is flat and stopped.
            'ORDER.FILLED': { guard: 'isPendingMarketOrder', target: '#grid.idle', actions: 'bookOrder' },
            // The exchange refused the stop's sell (or it expired): a human must look; RESUME retries the stop.
            'ORDER.REJECTED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: 'recordMarketFailure' },
            'ORDER.EXPIRED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: ['bookOrder', 'recordMarketFailure'] },
            'ORDER.CANCELED': { guard: 'isPendingMarketOrder', target: '#grid.error', actions: ['bookOrder', 'recordMarketFailure'] },
          },
        },
      },
      on: {
        FAULT: { target: 'error', actions: 'recordFault' },
      },
    },
    error: {
      on: {
        // Orders keep resting in ERROR; their fills are booked and their counters held.
        'ORDER.FILLED': [{ guard: 'isLimitOrder', actions: ['bookOrder', 'deferCounterOrder'] }, { actions: 'bookOrder' }],
        'ORDER.REJECTED': [
          // The market order it waited for failed: a start buy leaves no run to resume.
          { guard: 'isPendingMarketOrder', actions: 'recordMarketFailure' },
          { actions: ['bookOrder', 'countSkipped'] },
        ],
        'ORDER.CANCELED': [
          { guard: 'isPendingMarketOrder', actions: ['bookOrder', 'recordMarketFailure'] },
          { actions: 'bookOrder' },
        ],
        'ORDER.EXPIRED': [
          { guard: 'isPendingMarketOrder', actions: ['bookOrder', 'recordMarketFailure'] },
          { actions: 'bookOrder' },
        ],
        // Recovered (operator or supervisor): carry on where the grid was.
        RESUME: [
          // It was stopping: finish the stop (cancel what is left, sell the base).
          { guard: 'wasStopping', target: 'stopping', actions: 'clearError' },
          // The start buy is still out: wait for it.
          { guard: 'awaitsStartBuy', target: 'active.buyingBase', actions: 'clearError' },
          // The base was bought but the grid never placed: place it now.
          { guard: and(['hasPlan', not('gridPlaced')]), target: 'active.running', actions: ['clearError', 'placeInitialOrders'] },
          // It was trading: place the counter-orders held back.
          { guard: 'hasPlan', target: 'active.running', actions: ['clearError', 'placeDeferredOrders'] },
        ],
        STOP: { target: 'stopping', actions: ['clearError', 'rememberStop'] },
        START: [
          // A fresh start (no order of ours is out).
          { guard: and(['canStart', 'noOrdersOut']), target: 'active', actions: 'planRun' },
          // Refused: say why, keep whatever run there is.
          { guard: 'noOrdersOut', actions: 'explainRefusedStart' },
        ],
      },
    },
  },
});
