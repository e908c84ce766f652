// Joins the pure grid and order machines to the ports: the same wiring in every mode.
//
// - Order effects: recordIntent -> store (write ahead), placeOrder / cancelOrder / lookupOrder
//   -> exchange port; the port's ExchangeError (kind, message, code) is what the order machine reads.
// - The grid's order.submit / order.cancel requests -> one order actor per order, kept here by
//   client order id; an order actor's output (ORDER.FILLED, ...) goes back to the grid.
// - Own-order stream -> fills stored first (fill before counter-order), then routed to the
//   order actor by client order id.
// - Every event for the grid goes through `send` (commands from the service, order outcomes from
//   here): with `journal`, it is queued for the grid's event journal first (grid-journal.ts), then
//   sent. The grid never waits for the journal; an order's intent is stored (and the order sent)
//   only once the journal holds the events before it.
// - Spans (with a tracer: trace-port.ts; docs/telemetry.md): each fill is a trace of its own,
//   `grid.fill`, with `store.record_fill` and the counter-order it leads to, `order.place`, as
//   children; an order's placement has its steps as children (`store.record_intent`,
//   `exchange.create_order`, `store.record_ack`; `exchange.fetch_order` for a look-up). A START's
//   orders are children of its `grid.start`; a recovery's restarted orders of its span
//   (`traceParent`). The cause of an order is the span whose handling is on the stack when the
//   grid asks for it (XState delivers events synchronously: fill -> order actor -> ORDER.FILLED ->
//   grid -> order.submit). Off, the tracer is the no-op port and the hot path builds nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { createActor, fromPromise, type Actor, type ActorOptions, type Snapshot } from 'xstate';
import type { GridConfig } from '../../config/grid-config.js';
import type { Fill, OrderIntent } from '../../domain/trading.js';
import { gridMachine, type GridEvent } from '../../machines/grid.machine.js';
import { orderClock, orderMachine, type IntentRecord, type OrderAck, type OrderInput } from '../../machines/order.machine.js';
import type { ExchangeEvent, ExchangeOrder, ExchangePort } from '../../adapters/exchange/port.js';
import type { JournalPosition, StorePort } from '../../adapters/store/port.js';
import { storeErrorOf, storeRetryDelayMs } from '../../adapters/store/store-errors.js';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import { ATTR, defaultTracePort, inSpan, noopSpan, type TracePort, type TraceSpan } from '../../adapters/telemetry/trace-port.js';
import { startJournal } from './grid-journal.js';

export type GridActor = Actor<typeof gridMachine>;
type OrderActor = Actor<typeof orderMachine>;

/** A grid and its live orders, persisted (JSON-safe). */
export interface GridRuntimeSnapshot {
  readonly grid: Snapshot<unknown>;
  readonly orders: Readonly<Record<string, Snapshot<unknown>>>;
  /** The journal entry of the last event the grid had received: a recovery replays the entries after it. */
  readonly journal?: JournalPosition;
}

/** An order to start over from its intent: live in the replayed grid, not restored from a snapshot. */
export interface RestartOrder {
  readonly input: OrderInput;
  /** The grid asked to cancel it (STOP): the restarted order is told CANCEL too. */
  readonly cancelRequested: boolean;
}

export interface GridRuntimeOptions {
  readonly config: GridConfig;
  readonly exchange: ExchangePort;
  readonly store: StorePort;
  readonly logger?: Logger;
  /** XState's clock for delayed events and the orders' deadlines (a VirtualClock in backtests). */
  readonly clock?: NonNullable<ActorOptions<typeof gridMachine>['clock']> & { now(): number };
  /** A persisted grid and its orders to continue from. */
  readonly snapshot?: GridRuntimeSnapshot;
  readonly submitTimeoutMs?: number;
  /**
   * Append every event the grid receives (and its creation) to the store's event journal, from
   * which a grid can be rebuilt (grid-journal.ts, grid-rebuild.ts). On in the long-running modes; off by default
   * (backtests).
   */
  readonly journal?: boolean;
  /** Orders asked for by a journal replay (grid-rebuild.ts), started over from their intents (looked up by client id before anything is sent). */
  readonly restartOrders?: readonly RestartOrder[];
  /** Orders of the snapshot that a journal replay asked to cancel: told CANCEL once restored. */
  readonly cancelOrders?: readonly string[];
  /** A recovery's batch answers for the look-ups of orders started over from their intents. */
  readonly recovery?: RecoveryListing;
  /** Where spans are recorded (default: the process's, defaultTracePort()). */
  readonly tracer?: TracePort;
  /** The span of the recovery starting this runtime: parent of the orders it starts over and, while it records, of what the grid does meanwhile. */
  readonly traceParent?: TraceSpan;
  /** Log each new fill of the grid's orders at info (module trades): the long-running modes do; backtests do not. */
  readonly logFills?: boolean;
  /** Told of each new fill of the grid's orders once it is stored (the notifications). */
  readonly onFill?: (fill: Fill) => void;
}

/** Why an order is placed (attribute btcbot.reason of its order.place span). */
type PlaceReason = 'start' | 'counter' | 'restart' | 'recovery' | 'other';

/** The span that caused what the grid does now, and what it is. */
interface Cause {
  readonly span: TraceSpan;
  readonly reason: PlaceReason;
}

/** Attributes of an order's spans. */
function orderAttributes(gridId: string, intent: OrderIntent) {
  return {
    [ATTR.grid]: gridId,
    [ATTR.level]: intent.level,
    [ATTR.side]: intent.side,
    [ATTR.clientOrderId]: intent.clientOrderId,
    [ATTR.symbol]: intent.symbol,
    [ATTR.orderType]: intent.type,
    [ATTR.amount]: intent.amount,
    ...(intent.price === undefined ? {} : { [ATTR.price]: intent.price }),
  };
}

/** How the effects of an order find its placement span (undefined: none, e.g. an order restored resting). */
interface OrderTracing {
  readonly tracer: TracePort;
  placementOf(clientOrderId: string): TraceSpan | undefined;
}

/**
 * What a recovery asks for in one request each: the exchange's open orders (a restarted order's
 * first look-up is answered from them), and the fills made while nobody listened (`caughtUp`
 * settles once they are delivered). A restarted order not listed open waits for the catch-up
 * before it is looked up on its own: the fills may complete it, and then no look-up is needed.
 */
export interface RecoveryListing {
  readonly open: readonly ExchangeOrder[];
  readonly caughtUp: Promise<void>;
}

function toAck(order: ExchangeOrder): OrderAck {
  return { id: order.id, status: order.status, filled: order.filled };
}

/** Stores what the exchange said of an order: its id while it rests or filled (the fills say how much), or its end. */
async function recordAck(store: StorePort, clientOrderId: string, order: ExchangeOrder): Promise<void> {
  const status = order.status === 'closed' ? 'open' : order.status;
  await store.recordOrderUpdate(clientOrderId, { status, ...(order.id ? { exchangeOrderId: order.id } : {}) });
}

/**
 * Creates under way, per exchange port, by client order id. A grid restarted in-process (a
 * supervised restart, on the same exchange session) starts an order over from its intent and
 * looks it up, while the create the stopped runtime sent may still wait in the client's rate
 * limiter or be on the wire: the look-up waits for it, else it could find nothing and send the
 * order a second time.
 */
const createsUnderWayOn = new WeakMap<ExchangePort, Map<string, Promise<unknown>>>();

/**
 * The order machine with its effects bound to this grid's store and exchange. `journaled` settles
 * once the grid's journal holds every event so far: an intent is stored (and the order sent, or
 * cancelled) only after the events that led to it, so a replay of the journal knows every order
 * on the exchange. `replayStoredFills` hands an order whose intent was stored before (by a run
 * that crashed) the fills stored for it: a fill stored before the crash never comes again.
 */
function orderLogicFor(
  gridId: string,
  exchange: ExchangePort,
  store: StorePort,
  journaled: () => Promise<void>,
  replayStoredFills: (clientOrderId: string) => Promise<void>,
  listing: { readonly open: Map<string, ExchangeOrder>; readonly caughtUp: Promise<void> } | undefined,
  tracing: OrderTracing,
) {
  const { tracer } = tracing;
  // A step's span: the child of the order's placement span, else a trace of its own (named by the order's attributes).
  const parentOf = (clientOrderId: string): TraceSpan | null => tracing.placementOf(clientOrderId) ?? null;
  const rootAttributes = (intent: OrderIntent) => (tracer.enabled && tracing.placementOf(intent.clientOrderId) === undefined ? orderAttributes(gridId, intent) : undefined);
  const createsUnderWay = createsUnderWayOn.get(exchange) ?? new Map<string, Promise<unknown>>();
  createsUnderWayOn.set(exchange, createsUnderWay);
  return orderMachine.provide({
    actors: {
      // The span covers the wait for the grid's journal too (the intent is stored after the events that led to it).
      recordIntent: fromPromise<IntentRecord, OrderIntent>(({ input }) =>
        inSpan(tracer, 'store.record_intent', rootAttributes(input), parentOf(input.clientOrderId), async (span) => {
          await journaled();
          let record: IntentRecord;
          try {
            record = (await store.recordIntent(gridId, input)) ? 'new' : 'known';
            if (record === 'known') await replayStoredFills(input.clientOrderId);
          } catch (error) {
            throw storeErrorOf(error); // unreachable: retried after a pause; refused data: the order is not placed
          }
          if (tracer.enabled) span.setAttributes({ [ATTR.intent]: record });
          return record;
        }),
      ),
      placeOrder: fromPromise<OrderAck, OrderIntent>(async ({ input }) => {
        const { symbol, side, amount, clientOrderId } = input;
        const parent = parentOf(clientOrderId);
        const attributes = rootAttributes(input);
        const order = await inSpan(tracer, 'exchange.create_order', attributes, parent, async (span) => {
          const create =
            input.type === 'limit'
              ? exchange.createLimitOrder({ symbol, side, price: input.price!, amount, clientOrderId })
              : exchange.createMarketOrder({ symbol, side, amount, clientOrderId });
          createsUnderWay.set(clientOrderId, create);
          const created = await create.finally(() => {
            if (createsUnderWay.get(clientOrderId) === create) createsUnderWay.delete(clientOrderId);
          });
          if (tracer.enabled) span.setAttributes({ [ATTR.outcome]: created.status });
          return created;
        });
        await inSpan(tracer, 'store.record_ack', attributes, parent, () => recordAck(store, clientOrderId, order));
        return toAck(order);
      }),
      lookupOrder: fromPromise<OrderAck | undefined, OrderIntent>(async ({ input, signal }) => {
        await createsUnderWay.get(input.clientOrderId)?.catch(() => undefined);
        // A recovery's first look-up of an order: answered by the open orders it listed, else
        // after its catch-up of fills (which may have completed the order: then none is needed).
        const listed = listing?.open.get(input.clientOrderId);
        listing?.open.delete(input.clientOrderId);
        if (listed === undefined) await listing?.caughtUp;
        if (signal.aborted) return undefined; // ended meanwhile (its fills came): the answer is not read
        const parent = parentOf(input.clientOrderId);
        const attributes = rootAttributes(input);
        const order =
          listed ??
          (await inSpan(tracer, 'exchange.fetch_order', attributes, parent, async (span) => {
            const found = await exchange.fetchOrderByClientId(input.clientOrderId, input.symbol);
            if (tracer.enabled) span.setAttributes({ [ATTR.outcome]: found?.status ?? 'not_found' });
            return found;
          }));
        if (order) await inSpan(tracer, 'store.record_ack', attributes, parent, () => recordAck(store, input.clientOrderId, order));
        return order && toAck(order);
      }),
      // A cancel is a trace of its own (the grid's STOP, a trigger): the placement span ended when the order rested.
      cancelOrder: fromPromise<OrderAck, OrderIntent>(({ input }) =>
        inSpan(tracer, 'order.cancel', tracer.enabled ? orderAttributes(gridId, input) : undefined, null, async (span) => {
          await journaled();
          const order = await exchange.cancelOrder(input.clientOrderId, input.symbol);
          if (tracer.enabled) span.setAttributes({ [ATTR.outcome]: order.status });
          await recordAck(store, input.clientOrderId, order);
          return toAck(order);
        }),
      ),
    },
  });
}

export interface GridRuntime {
  readonly actor: GridActor;
  /** Live order actors by client order id. */
  readonly orders: ReadonlyMap<string, OrderActor>;
  /** Calls `listener` whenever an order actor moves to another state (an ack, a fill); returns the unsubscribe function. */
  onOrderState(listener: () => void): () => void;
  /** Sends an event to the grid actor: every grid-bound event goes through here (journaled first, with `journal`). */
  send(event: GridEvent): void;
  /** Settles when the journal entries queued so far are written (at once without a journal). */
  journalFlushed(): Promise<void>;
  persist(): GridRuntimeSnapshot;
  /** Delivers fills found outside the stream (a recovery's catch-up), in order, through the same path: stored first, each once. Returns how many were new. */
  deliverFills(fills: readonly Fill[]): Promise<number>;
  /** Stops listening to the exchange and stops the actors (orders on the exchange stay as they are). */
  stop(): void;
}

/** Creates and starts one grid actor with its order actors wired to `exchange` and `store`. */
export function startGridRuntime(options: GridRuntimeOptions): GridRuntime {
  const { config, exchange, store } = options;
  const logger = options.logger ?? silentLogger;
  // Each part's lines carry its module: the grid's own, its orders', its fills' (trades).
  const gridLog = moduleLogger(logger, 'grid');
  const ordersLog = moduleLogger(logger, 'orders');
  const tradesLog = moduleLogger(logger, 'trades');
  const tracer = options.tracer ?? defaultTracePort();
  const traced = tracer.enabled;
  /** The span whose handling is on the stack (a fill's, a START's, a recovery's restart of orders). */
  let cause: Cause | undefined;
  const recovery = options.traceParent;
  /** What caused what the grid does now: the span on the stack, else the recovery while it lasts. */
  const causeNow = (): Cause | undefined => cause ?? (recovery?.isRecording() ? { span: recovery, reason: 'recovery' } : undefined);
  const withCause = <T>(span: TraceSpan, reason: PlaceReason, fn: () => T): T => {
    const before = cause;
    cause = { span, reason };
    try {
      return span.run(fn);
    } finally {
      cause = before;
    }
  };
  /** Each order's order.place span, from the grid's request until the order rests or ends. */
  const placements = new Map<string, TraceSpan>();
  /** The order.place span of each live order, ended or not: its fills link to it (a start's buy -> its fill -> the sells it leads to). */
  const placedBy = new Map<string, TraceSpan>();
  const endPlacement = (clientOrderId: string, outcome: string, error?: unknown): void => {
    const span = placements.get(clientOrderId);
    if (span === undefined) return;
    placements.delete(clientOrderId);
    span.setAttributes({ [ATTR.outcome]: outcome });
    span.end(error);
  };
  const clock = options.clock ? { clock: options.clock } : {};
  const actor = createActor(gridMachine, {
    input: { config, ...(options.submitTimeoutMs === undefined ? {} : { submitTimeoutMs: options.submitTimeoutMs }) },
    systemId: `grid:${config.id}`,
    ...clock,
    ...(options.snapshot ? { snapshot: options.snapshot.grid } : {}),
  });
  const journal = options.journal ? startJournal(config.id, store, moduleLogger(logger, 'store'), options.snapshot?.journal) : undefined;
  // A grid that starts with no saved state is born here: its journal starts with its input.
  if (journal && !options.snapshot) journal.created({ config, ...(options.submitTimeoutMs === undefined ? {} : { submitTimeoutMs: options.submitTimeoutMs }) });
  const journaled = (): Promise<void> => journal?.flushed() ?? Promise.resolve();
  const replayStoredFills = async (clientOrderId: string): Promise<void> => {
    for (const fill of await store.fillsOf([clientOrderId])) orders.get(clientOrderId)?.send({ type: 'FILL', fill });
  };
  const listing = options.recovery && { open: new Map(options.recovery.open.map((order) => [order.clientOrderId, order])), caughtUp: options.recovery.caughtUp };
  const boundOrderLogic = orderLogicFor(config.id, exchange, store, journaled, replayStoredFills, listing, { tracer, placementOf: (id) => placements.get(id) });
  const timeline = options.clock;
  // The orders' deadlines on the runtime's clock, so that they agree with its timers.
  const orderLogic = timeline ? boundOrderLogic.provide(orderClock(() => timeline.now())) : boundOrderLogic;
  /** The one way in for the grid's events: journaled in the order the grid receives them, then sent. */
  const send = (event: GridEvent): void => {
    // A failed or stopped actor drops events: they are not part of its history.
    if (journal && actor.getSnapshot().status === 'active') journal.append(event);
    if (traced && event.type === 'START') {
      // The start's placement: its orders are children of grid.start.
      const span = tracer.start('grid.start', { [ATTR.grid]: config.id, [ATTR.symbol]: config.symbol, [ATTR.price]: event.price }, causeNow()?.span ?? null);
      withCause(span, 'start', () => actor.send(event));
      span.end();
      return;
    }
    actor.send(event);
  };

  const orders = new Map<string, OrderActor>();
  const orderStateListeners = new Set<() => void>();
  const startOrder = (input: OrderInput, snapshot?: Snapshot<unknown>, restart = false): void => {
    const clientOrderId = input.intent.clientOrderId;
    if (traced && snapshot === undefined) {
      const by = restart && recovery !== undefined ? { span: recovery, reason: 'restart' as const } : causeNow();
      const span = tracer.start('order.place', { ...orderAttributes(config.id, input.intent), [ATTR.reason]: by?.reason ?? 'other' }, by?.span ?? null);
      placements.set(clientOrderId, span);
      placedBy.set(clientOrderId, span);
    }
    const order = createActor(orderLogic, { id: clientOrderId, input, ...clock, ...(snapshot ? { snapshot } : {}) });
    orders.set(clientOrderId, order);
    let state: unknown;
    order.subscribe({
      // Each order's way through its states (debug level): what happened to one order, when asked.
      next: ({ value, context }) => {
        if (value === state) return;
        state = value;
        // The placement is over once the order rests (or waits for its cancel); its end ends it too (complete).
        if (traced && (value === 'open' || value === 'partiallyFilled' || value === 'pendingCancel' || value === 'cancelBackoff')) endPlacement(clientOrderId, value);
        ordersLog.debug({ grid: config.id, clientOrderId, state: value, ...(context.lastError === undefined ? {} : { lastError: context.lastError }) }, 'order state');
        for (const listener of orderStateListeners) listener();
      },
      complete: () => {
        orders.delete(clientOrderId);
        placedBy.delete(clientOrderId);
        const { status, output } = order.getSnapshot();
        if (traced) endPlacement(clientOrderId, output?.type.slice('ORDER.'.length).toLowerCase() ?? 'stopped', output?.type === 'ORDER.REJECTED' ? output.reason : undefined);
        // "done" is a final state reached; a stopped actor (shutdown) has nothing to tell.
        if (status !== 'done' || output === undefined) return;
        if (output.type === 'ORDER.REJECTED') {
          const { side, type, price, amount, level } = output.intent;
          ordersLog.warn({ grid: config.id, clientOrderId, side, type, price, amount, level, code: output.code }, `order not placed, skipped: ${output.reason}`);
        }
        const ended = { 'ORDER.REJECTED': 'rejected', 'ORDER.CANCELED': 'canceled', 'ORDER.EXPIRED': 'expired' } as const;
        if (output.type !== 'ORDER.FILLED') {
          store.recordOrderUpdate(clientOrderId, { status: ended[output.type] }).catch((error: unknown) => {
            ordersLog.error({ grid: config.id, clientOrderId, error: String(error) }, 'could not store the end of an order; the exchange still has it');
          });
        }
        send(output);
      },
      error: (error) => {
        orders.delete(clientOrderId);
        placedBy.delete(clientOrderId);
        if (traced) endPlacement(clientOrderId, 'failed', error);
        ordersLog.error({ grid: config.id, clientOrderId, error: String(error) }, 'order actor failed; the order is left as it is on the exchange');
      },
    });
    order.start();
  };
  actor.on('order.submit', ({ input }) => startOrder(input));
  actor.on('order.cancel', ({ clientOrderId }) => orders.get(clientOrderId)?.send({ type: 'CANCEL' }));
  for (const snapshot of Object.values(options.snapshot?.orders ?? {})) {
    const { value, context } = snapshot as Snapshot<unknown> & {
      value: string;
      context: { intent: OrderInput['intent']; submitTimeoutMs: number; lookupRetryMs: number; cancelRequested: boolean };
    };
    const input = { intent: context.intent, submitTimeoutMs: context.submitTimeoutMs, lookupRetryMs: context.lookupRetryMs };
    // Restored as it was: a resting order (no request under way) and an order pausing before a
    // retry (its saved context.deadline). XState does not re-arm `after` timers on restore: RESTORED
    // makes a back-off re-arm its timer for what is left of the deadline (at once if it passed while
    // the bot was down); a resting order ignores it.
    if (['open', 'partiallyFilled', 'recordBackoff', 'lookupBackoff', 'cancelBackoff'].includes(value)) {
      startOrder(input, snapshot);
      orders.get(context.intent.clientOrderId)?.send({ type: 'RESTORED' });
      continue;
    }
    // A request was under way (recording, submitted, inFlight, pendingCancel). XState would re-run
    // its promise (a blind resend): start the order over from its intent instead. The store knows
    // the intent, so the order is looked up by client id before anything is sent; its fills are
    // replayed by the recovery.
    startOrder(input, undefined, true);
    if (context.cancelRequested) orders.get(context.intent.clientOrderId)?.send({ type: 'CANCEL' });
  }

  // Fills are stored, then delivered, strictly in the order the exchange reported them.
  let delivery: Promise<unknown> = Promise.resolve();
  /**
   * Stores the fill, then hands it to its order; false when it was stored before (a replayed stream
   * or a catch-up). While the store is unreachable the fill is stored again after a pause, and the
   * fills behind it wait: a fill is stored before its counter-order is placed, in the exchange's order.
   */
  const deliverFill = async (fill: Fill, source: 'stream' | 'recovery'): Promise<boolean> => {
    // One trace per fill: grid.fill, its storing, and (withCause) the counter-order it leads to;
    // linked to the filled order's placement (and to the recovery that caught it up).
    const span = traced ? tracer.start('grid.fill', fillAttributes(fill, source), null, fillLinks(fill, source)) : noopSpan;
    try {
      const fresh = await inSpan(tracer, 'store.record_fill', undefined, span, () => storeFillPatiently(fill));
      if (traced) span.setAttributes({ [ATTR.fillNew]: fresh });
      if (fresh) span.run(() => handOver(fill, span));
      span.end();
      return fresh;
    } catch (error) {
      span.end(error);
      throw error;
    }
  };
  const fillLinks = (fill: Fill, source: 'stream' | 'recovery'): TraceSpan[] => {
    const links: TraceSpan[] = [];
    const placement = placedBy.get(fill.clientOrderId);
    if (placement !== undefined) links.push(placement);
    if (source === 'recovery' && recovery !== undefined) links.push(recovery);
    return links;
  };
  const fillAttributes = (fill: Fill, source: 'stream' | 'recovery') => ({
    [ATTR.grid]: config.id,
    [ATTR.side]: fill.side,
    [ATTR.clientOrderId]: fill.clientOrderId,
    [ATTR.symbol]: fill.symbol,
    [ATTR.tradeId]: fill.tradeId,
    [ATTR.price]: fill.price,
    [ATTR.amount]: fill.amount,
    [ATTR.fillSource]: source,
  });
  /** A stored fill to its order (the grid hears of it when the order completes). */
  const handOver = (fill: Fill, span: TraceSpan): void => {
    const order = orders.get(fill.clientOrderId);
    if (order === undefined) {
      tradesLog.warn({ grid: config.id, clientOrderId: fill.clientOrderId, tradeId: fill.tradeId }, 'fill for an order this grid does not track');
      return;
    }
    const { level } = order.getSnapshot().context.intent;
    if (traced) span.setAttributes({ [ATTR.level]: level });
    // The orders it leads to: a level's counter-order, or (the fill of the start's market buy, level -1) the grid's resting orders.
    withCause(span, level === -1 ? 'start' : 'counter', () => {
      if (options.logFills) {
        const { clientOrderId, side, price, amount, fee, takerOrMaker } = fill;
        tradesLog.info({ grid: config.id, clientOrderId, side, price, amount, fee, takerOrMaker }, `${side} filled at ${price}`);
      }
      try {
        options.onFill?.(fill);
      } catch {
        // an observer (metrics, notifications) never stops a fill
      }
      order.send({ type: 'FILL', fill });
    });
  };
  let stopped = false;
  const storeFillPatiently = async (fill: Fill): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.recordFill(fill);
      } catch (error) {
        const failure = storeErrorOf(error);
        if (failure.kind === 'rejected' || stopped) throw error;
        const delayMs = storeRetryDelayMs(attempt);
        tradesLog.warn({ grid: config.id, tradeId: fill.tradeId, attempt, retryInMs: delayMs, error: failure.message }, 'the store is unreachable: the fill waits, its counter-order too');
        await sleep(delayMs);
      }
    }
  };
  /** Queues the fill behind the ones before it; resolves with whether it was new (false on a store failure too). */
  const queueFill = (fill: Fill, source: 'stream' | 'recovery'): Promise<boolean> => {
    const delivered = delivery.then(() => deliverFill(fill, source)).catch((error: unknown) => {
      tradesLog.error({ grid: config.id, tradeId: fill.tradeId, error: String(error) }, 'could not store a fill; it will be recovered from the exchange');
      return false;
    });
    delivery = delivered;
    return delivered;
  };
  const onExchangeEvent = (event: ExchangeEvent): void => {
    if (event.type === 'fill') {
      // Only this grid's own orders (client id bb<grid>_): two grids on one symbol each store their own fills (fills are stored once by trade id).
      if (event.fill.symbol === config.symbol && event.fill.clientOrderId.startsWith(`bb${config.id}_`)) void queueFill(event.fill, 'stream');
      return;
    }
    const status = event.order.status;
    if (status !== 'canceled' && status !== 'expired') return;
    orders.get(event.order.clientOrderId)?.send({ type: status === 'canceled' ? 'EXCHANGE_CANCELED' : 'EXCHANGE_EXPIRED' });
  };
  const unsubscribe = exchange.subscribe(onExchangeEvent);

  // Orders a journal replay asked for (grid-rebuild.ts) start over from their intents, as an
  // order with a request under way does above; saved orders it asked to cancel are told so.
  for (const { input, cancelRequested } of options.restartOrders ?? []) {
    startOrder(input, undefined, true);
    if (cancelRequested) orders.get(input.intent.clientOrderId)?.send({ type: 'CANCEL' });
  }
  for (const clientOrderId of options.cancelOrders ?? []) orders.get(clientOrderId)?.send({ type: 'CANCEL' });

  const persist = (): GridRuntimeSnapshot => {
    const persisted: Record<string, Snapshot<unknown>> = {};
    for (const [clientOrderId, order] of orders) persisted[clientOrderId] = order.getPersistedSnapshot();
    const position = journal?.position();
    return { grid: actor.getPersistedSnapshot(), orders: persisted, ...(position === undefined ? {} : { journal: position }) };
  };
  let atStop: GridRuntimeSnapshot | undefined;

  let last = actor.getSnapshot();
  actor.subscribe({
    next: (snapshot) => {
      const { context } = snapshot;
      if (context.plan !== last.context.plan) for (const warning of context.warnings) gridLog.warn({ grid: config.id }, warning);
      if (context.error !== undefined && context.error !== last.context.error) gridLog.error({ grid: config.id }, context.error);
      if (snapshot.value !== last.value && JSON.stringify(snapshot.value) !== JSON.stringify(last.value)) gridLog.info({ grid: config.id, state: snapshot.value }, 'grid state');
      last = snapshot;
    },
    // An unobserved XState error would kill the process: report it, the supervisor decides.
    error: (error) => gridLog.error({ grid: config.id, error: String(error) }, 'grid actor failed'),
  });
  actor.start();

  return {
    actor,
    orders,
    send,
    journalFlushed: journaled,
    persist: () => atStop ?? persist(),
    onOrderState(listener) {
      orderStateListeners.add(listener);
      return () => orderStateListeners.delete(listener);
    },
    async deliverFills(fills) {
      let fresh = 0;
      for (const fill of fills) if (fill.symbol === config.symbol && fill.clientOrderId.startsWith(`bb${config.id}_`) && (await queueFill(fill, 'recovery'))) fresh++;
      return fresh;
    },
    stop() {
      // A save still under way (a shutdown's, a supervised restart's) writes the state as it was
      // here: once the order actors stop they leave `orders`, and a grid saved without them would
      // restart with levels held by orders nothing tracks.
      atStop ??= persist();
      stopped = true;
      journal?.stop();
      unsubscribe();
      for (const order of orders.values()) order.stop();
      actor.stop();
      for (const clientOrderId of [...placements.keys()]) endPlacement(clientOrderId, 'stopped');
      placedBy.clear();
    },
  };
}
