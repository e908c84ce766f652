// One grid on the exchange, as a supervised child: start() launches it, fresh or recovered; a
// crash of its actors is reported to the supervisor (subscribe.error), which restarts it by making
// a new GridService, and a new one always goes through recovery: start-up is the recovery path,
// also in-process.
//
// A grid with saved state is recovered (grid-recovery.ts): restarted from its saved actors (or
// rebuilt from its event journal when they are of another machine version), reconciled with the
// exchange, then trading; no START, no leftover-order or funds check. Every event the grid gets
// goes through runtime.send, which appends it to the grid's event journal first.
//
// Before a new grid places anything, the exchange is asked, in this order:
// 1. open orders: orders with this grid's client id prefix (`bb<grid>_`) left by a run whose state
//    is not in this database stop the start (they cannot be adopted); the message says what to do;
// 2. the price: the first tick (stream or REST), awaited from the start alongside 1 (a grid with
//    saved state reconciles without waiting for it);
// 3. the balance: the free quote must cover the start buy and the resting buys.
// A retryable failure of these requests (network, busy, rate limit) is retried with backoff; any
// other stops the start with the exchange's message. Then the grid starts at that price. Every
// tick is checked against the stop-loss and take-profit; the first one reached stops the grid
// (PRICE_TRIGGER), as in a backtest.
import { setTimeout as sleep } from 'node:timers/promises';
import { type AssetBalance, ExchangeError, type ExchangeOrder, type ExchangePort, type MarketInfo, type Tick } from '../../adapters/exchange/port.js';
import type { StorePort } from '../../adapters/store/port.js';
import { moduleLogger, type Logger } from '../../adapters/telemetry/logger.js';
import { ATTR, defaultTracePort, inSpan, type TracePort, type TraceSpan } from '../../adapters/telemetry/trace-port.js';
import { ConfigError } from '../../config/config-error.js';
import type { GridFigures, TradingObservers } from '../../domain/figures.js';
import type { GridConfig } from '../../config/grid-config.js';
import { gridFigures, unknownFigures } from '../../machines/grid-figures.js';
import { planStart, reachedTrigger } from '../../machines/grid-math.js';
import { GRID_MACHINE_VERSION } from '../../machines/grid.machine.js';
import type { SessionStatus } from '../exchange/exchange-session.js';
import { lifecycleState, type PartHealth } from '../supervision/health.js';
import type { RestartOrder } from '../grid/grid-runtime.js';
import { reconcileWithExchange, savedGrid } from '../recovery/grid-recovery.js';
import { startGridRuntime, type GridRuntime } from '../grid/grid-runtime.js';
import type { ChildRef } from '../supervision/supervisor.js';
import type { Notifier } from '../../domain/notifications.js';

/** What a live grid needs of the session: requests, own-order stream, ticks, its health. */
export interface LiveSession extends ExchangePort {
  firstTick(symbol: string, signal?: AbortSignal): Promise<Tick>;
  onTick(listener: (tick: Tick) => void): () => void;
  status(): SessionStatus;
}

/** One grid's state at the end of a live run, from its own books. */
export interface LiveGridReport {
  readonly state: unknown;
  readonly startPrice: number;
  readonly lastPrice: number;
  readonly fills: { readonly buy: number; readonly sell: number };
  readonly roundTrips: number;
  readonly gridProfit: number;
  readonly fees: number;
  readonly skippedOrders: number;
  /** The grid's resting orders: client order id -> side@price. */
  readonly openOrders: Readonly<Record<string, string>>;
  /** Counter-orders decided but waiting (side@price): their level still held (fills reported out of order), or the grid paused. */
  readonly waitingOrders: readonly string[];
  readonly stopped: 'stopLoss' | 'takeProfit' | null;
}

export interface GridServiceOptions {
  /** The grid, with the exchange's market filters. */
  readonly config: GridConfig;
  readonly session: LiveSession;
  readonly store: StorePort;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly submitTimeoutMs?: number;
  /** Makes the grid's actors (startGridRuntime; tests wrap it). */
  readonly startRuntime?: typeof startGridRuntime;
  /** Told of the runtime once the grid trades. */
  readonly onStarted?: (grid: GridConfig, runtime: GridRuntime) => void;
  /** Told of the grid's fills, its price trigger and its entering ERROR. */
  readonly notifier?: Notifier;
  /** Where spans are recorded (default: the process's, defaultTracePort()). */
  readonly tracer?: TracePort;
  /** How long a snapshot save waits, gathering the changes after the first (ms, default 100; 0 saves at each change: the crash simulation's fixed boundaries). */
  readonly snapshotDelayMs?: number;
  /** Told of each new fill of the grid's orders (btcbot_trades_total). */
  readonly observe?: Pick<TradingObservers, 'recordTrade'>;
}

/** A launched grid as the control API reads and drives it. */
export interface ControlledGrid {
  readonly runtime: GridRuntime;
  readonly startPrice: number;
  readonly lastPrice: number;
}

type Observer = { error?: (error: unknown) => void; complete?: () => void };

export class GridService implements ChildRef {
  /** Settles when the grid trades (resolved) or its launch failed (rejected). */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private readonly observers = new Set<Observer>();
  private readonly cleanups: Array<() => void> = [];
  private runtime: GridRuntime | undefined;
  private startPrice = Number.NaN;
  private lastPrice = Number.NaN;
  private stopped = false;
  private failed = false;
  /** The runtime is up but not yet reconciled with the exchange. */
  private recovering = false;
  /** The launch is done: the grid trades (or rests, stopped), and takes commands. */
  private launched = false;
  private saving: SnapshotSaving | undefined;

  constructor(private readonly options: GridServiceOptions) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // the supervisor hears of it through subscribe
  }

  start(): void {
    // Every launch is a recovery (a new grid's too: start-up is the recovery path): one trace each.
    const { config } = this.options;
    const span = (this.options.tracer ?? defaultTracePort()).start('grid.recovery', { [ATTR.grid]: config.id, [ATTR.symbol]: config.symbol }, null);
    span.run(() => this.launch(span)).then(
      () => {
        span.end();
        this.resolveReady();
      },
      (error: unknown) => {
        span.end(error);
        this.rejectReady(error);
        this.fail(error);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    this.release();
  }

  subscribe(observer: Observer): { unsubscribe(): void } {
    this.observers.add(observer);
    return { unsubscribe: () => this.observers.delete(observer) };
  }

  /**
   * Cancels the grid's orders (STOP: the grid cancels every order it has out) and waits until
   * they are gone or `timeoutMs` has passed; true when the grid came to rest in time.
   */
  async cancelOrders(timeoutMs: number): Promise<boolean> {
    const runtime = this.runtime;
    if (runtime === undefined) return true;
    const settled = (): boolean => {
      const snapshot = runtime.actor.getSnapshot();
      return snapshot.status !== 'active' || snapshot.matches('idle') || snapshot.matches('error');
    };
    if (!runtime.actor.getSnapshot().matches('active') && !runtime.actor.getSnapshot().matches('paused')) return true;
    runtime.send({ type: 'STOP', shutdown: true });
    const deadline = Date.now() + timeoutMs;
    while (!settled() && Date.now() < deadline) await sleep(50);
    return settled();
  }

  /** What /health shows of the grid: its lifecycle state; ERROR is unhealthy, and so is a grid not trading yet. */
  health(): PartHealth {
    const runtime = this.runtime;
    if (this.failed) return { healthy: false, state: 'crashed', reason: 'its actors failed: the supervisor restarts it from its saved state' };
    // Start-up is the recovery path: until the books agree with the exchange, no figure is shown (it could be stale).
    if (runtime === undefined || this.recovering) return { healthy: false, state: 'RECOVERING', reason: 'starting: reconciling with the exchange before it trades' };
    const { value, context } = runtime.actor.getSnapshot();
    const state = lifecycleState(value);
    // The order actors by state (open, submitted, inFlight, recordBackoff: waiting for the store...).
    const orders: Record<string, number> = {};
    for (const order of runtime.orders.values()) {
      const state = String(order.getSnapshot().value);
      orders[state] = (orders[state] ?? 0) + 1;
    }
    const detail = {
      openOrders: context.slots.filter((slot) => slot !== null).length,
      orders,
      fills: context.stats.buyFills + context.stats.sellFills,
      roundTrips: context.stats.roundTrips,
      lastPrice: this.lastPrice,
    };
    if (state === 'ERROR') return { healthy: false, state, reason: context.error ?? 'the grid is in ERROR', detail };
    return { healthy: true, state, detail };
  }

  /** The grid's figures from its books (/health's grids, the metrics); none while it recovers (RECOVERING), as health() says. */
  figures(): GridFigures {
    const { config } = this.options;
    const runtime = this.runtime;
    if (this.failed || runtime === undefined || this.recovering) return unknownFigures(config.id, config.symbol, 'RECOVERING');
    const { value, context } = runtime.actor.getSnapshot();
    return gridFigures(config.id, lifecycleState(value), context, this.lastPrice);
  }

  /** Resolves when the grid's last writes are done: its snapshot save and its journal entries (after stop: the exit loses nothing then). */
  async settled(): Promise<void> {
    await Promise.all([this.saving?.idle(), this.runtime?.journalFlushed()]);
  }

  /**
   * The grid's runtime and prices for the control API (grid-control.ts), once its launch is done:
   * undefined while it starts or recovers, after its actors failed, and once stopped.
   */
  controlled(): ControlledGrid | undefined {
    if (this.runtime === undefined || !this.launched || this.recovering || this.failed || this.stopped) return undefined;
    return { runtime: this.runtime, startPrice: this.startPrice, lastPrice: this.lastPrice };
  }

  /** The grid's report, once it trades. */
  report(): LiveGridReport | undefined {
    return this.runtime && reportOf(this.runtime, this.startPrice, this.lastPrice);
  }

  private fail(error: unknown): void {
    if (this.failed || this.stopped) return;
    this.failed = true;
    this.release();
    for (const observer of [...this.observers]) observer.error?.(error);
  }

  /** Stops listening and stops the grid's actors (its orders stay as they are on the exchange). */
  private release(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.runtime?.stop();
  }

  private async launch(span: TraceSpan): Promise<void> {
    const { config, session, store, signal } = this.options;
    const logger = moduleLogger(this.options.logger, 'grid');
    const tracer = this.options.tracer ?? defaultTracePort();
    const recordTrade = this.options.observe?.recordTrade?.bind(this.options.observe);
    const patiently = <T>(what: string, request: () => Promise<T>): Promise<T> => retryRetryable(request, `${config.id}: ${what}`, logger, signal);
    // The saved state, the open orders and the first price are asked for at once (a restart's
    // time to trading is theirs added up otherwise); the checks on the first two come before the
    // wait for the price, so a refused start says so at once.
    const firstTick = session.firstTick(config.symbol, signal);
    firstTick.catch(() => undefined); // awaited below, unless the checks refuse the start first
    const [saved, openOrders] = await inSpan(tracer, 'recovery.load', undefined, span, () =>
      Promise.all([savedGrid(config, store, logger), patiently('open orders', () => session.fetchOpenOrders(config.symbol))]),
    );
    span.setAttributes({ [ATTR.recoveryKind]: saved === undefined ? 'new' : saved.rebuilt ? 'rebuilt' : 'saved', 'btcbot.recovery.replayed_events': saved?.replayedEvents ?? 0 });
    if (saved === undefined) refuseLeftoverOrders(config, openOrders);
    else if (saved.rebuilt) refuseDivergentRebuild(config, saved.restartOrders, openOrders);
    // A new grid starts at the first price; a recovered one reconciles without waiting for it.
    const startTick = saved === undefined ? await firstTick : undefined;
    if (startTick !== undefined) requireFunds(config, startTick.price, await patiently('balance', () => session.fetchBalance()));
    // Stopped (or the process signalled) while starting: no actor starts, nothing is sent.
    if (this.stopped || signal.aborted) return;
    const recoveryStarted = performance.now();
    // Settled once the recovery's catch-up is done (or failed): restarted orders' look-ups wait for it.
    let caughtUp!: () => void;
    const recovery = { open: openOrders, caughtUp: new Promise<void>((resolve) => (caughtUp = resolve)) };
    const runtime = (this.options.startRuntime ?? startGridRuntime)({
      config,
      exchange: session,
      store,
      logger,
      journal: true,
      logFills: true,
      onFill: ({ side, price, amount, clientOrderId }) => {
        recordTrade?.(config.id, side);
        this.options.notifier?.notify({ kind: 'fill', grid: config.id, side, price, amount, clientOrderId });
      },
      tracer,
      traceParent: span,
      ...(saved === undefined ? {} : { snapshot: saved.snapshot, restartOrders: saved.restartOrders, cancelOrders: saved.cancelOrders, recovery }),
      ...(this.options.submitTimeoutMs === undefined ? {} : { submitTimeoutMs: this.options.submitTimeoutMs }),
    });
    this.recovering = saved !== undefined;
    this.runtime = runtime;
    this.startPrice = runtime.actor.getSnapshot().context.plan?.startPrice ?? startTick?.price ?? Number.NaN;
    this.lastPrice = startTick?.price ?? Number.NaN;
    void firstTick.then(
      (tick) => {
        if (Number.isNaN(this.lastPrice)) this.lastPrice = tick.price;
      },
      () => undefined,
    );
    // A crash of the grid's actors: the supervisor restarts the grid (through recovery). Entering ERROR is told once per entry.
    let inError = runtime.actor.getSnapshot().matches('error');
    const crash = runtime.actor.subscribe({
      next: (snapshot) => {
        const nowInError = snapshot.matches('error');
        if (nowInError && !inError) this.options.notifier?.notify({ kind: 'gridError', grid: config.id, reason: snapshot.context.error ?? 'the grid is in ERROR' });
        inError = nowInError;
      },
      error: (error) => this.fail(error),
    });
    this.cleanups.push(() => crash.unsubscribe());
    let triggerSent = false;
    this.cleanups.push(
      session.onTick((tick) => {
        if (tick.symbol !== config.symbol) return;
        this.lastPrice = tick.price;
        const trigger = reachedTrigger(config, tick.price);
        if (trigger === undefined || triggerSent) return;
        triggerSent = true;
        logger.warn({ grid: config.id, trigger, price: tick.price }, 'price trigger reached: the grid stops');
        this.options.notifier?.notify({ kind: 'priceTrigger', grid: config.id, trigger, price: tick.price });
        runtime.send({ type: 'PRICE_TRIGGER', trigger });
      }),
    );
    this.saving = persistChanges(config, runtime, store, logger, this.options.snapshotDelayMs ?? SNAPSHOT_DELAY_MS);
    this.cleanups.push(() => this.saving?.stop());
    if (saved !== undefined) {
      // A grid rebuilt from its journal is saved as this build's snapshot at once.
      if (saved.rebuilt) await saveGrid(config, runtime, store);
      const report = await inSpan(tracer, 'recovery.reconcile', undefined, span, () => patiently('reconcile', () => reconcileWithExchange(config, runtime, store, session, openOrders, logger))).finally(caughtUp);
      span.setAttributes({ 'btcbot.recovery.orders': report.orders, 'btcbot.recovery.caught_up_fills': report.caughtUpFills, 'btcbot.recovery.unknown_orders': report.unknownOrders.length });
      this.recovering = false;
      const ms = Math.round(performance.now() - recoveryStarted);
      logger.info({ grid: config.id, state: runtime.actor.getSnapshot().value, replayedEvents: saved.replayedEvents, ...report, ms }, 'grid recovered: reconciled with the exchange, trading');
    } else {
      // Saved before anything is placed: a crash from here on finds the grid's state and recovers it.
      await saveGrid(config, runtime, store);
    }
    // A grid saved before its start (a crash right after the save) starts now; its orders' intents
    // are known to the store, so each is looked up before it is sent; so does a grid whose orders
    // the last shutdown cancelled (shutdown.cancelOrders). A grid that was stopped (by the
    // operator, a stop-loss or take-profit) stays stopped: only the operator starts it again.
    const { stopReason } = runtime.actor.getSnapshot().context;
    if (runtime.actor.getSnapshot().matches('idle') && (stopReason === undefined || stopReason === 'shutdown')) {
      const { price } = startTick ?? (await firstTick);
      if (this.stopped || signal.aborted) return;
      this.startPrice = price;
      runtime.send({ type: 'START', price });
      logger.info({ grid: config.id, symbol: config.symbol, price }, 'grid started on the exchange');
    }
    this.launched = true;
    this.options.onStarted?.(config, runtime);
  }
}

/** Start-up requests: retryable failures are retried (0.25 s doubling to 8 s, 8 tries), others thrown. */
export async function retryRetryable<T>(request: () => Promise<T>, what: string, logger: Logger, signal: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof ExchangeError && error.kind === 'retryable') || attempt >= 8 || signal.aborted) throw error;
      const delayMs = Math.min(8_000, 250 * 2 ** (attempt - 1));
      logger.warn({ request: what, attempt, retryInMs: delayMs, error: error.message }, 'start-up request failed; retrying');
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** Saves the grid's persisted actors, its lifecycle state and the machine version that wrote them. */
async function saveGrid(config: GridConfig, runtime: GridRuntime, store: StorePort): Promise<void> {
  const state = JSON.stringify(runtime.actor.getSnapshot().value);
  const snapshot = runtime.persist();
  // Never ahead of the journal: a snapshot holding an event the journal lost would make the
  // journal's later entries follow a gap (a rebuild from it would go wrong).
  await runtime.journalFlushed();
  await store.saveGridSnapshot(config.id, state, snapshot, GRID_MACHINE_VERSION);
}

/**
 * Saves the grid's persisted actors after each change of the grid or of an order's state, one save at a time (the newest
 * snapshot wins; changes meanwhile are folded into the next save). The snapshot is for a fast
 * resume: the exchange and the stored intents and fills stay the truth.
 */
function persistChanges(config: GridConfig, runtime: GridRuntime, store: StorePort, logger: Logger, delayMs: number): SnapshotSaving {
  let saving: Promise<void> | undefined;
  let again = false;
  let soon: NodeJS.Timeout | undefined;
  // A save waits SNAPSHOT_DELAY_MS and covers every change meanwhile: it is a large write, and on
  // the embedded database's one connection it would hold up the fill -> intent -> order path it
  // follows. Nothing is at risk meanwhile: the journal has every event (a restart replays them).
  const save = (): void => {
    if (delayMs === 0) saveNow();
    else if (soon === undefined) soon = setTimeout(saveNow, delayMs);
  };
  const saveNow = (): void => {
    soon = undefined;
    if (saving) {
      again = true;
      return;
    }
    saving = (async () => {
      try {
        do {
          again = false;
          await saveGrid(config, runtime, store);
        } while (again);
      } catch (error) {
        logger.error({ grid: config.id, error: String(error) }, 'could not save the grid snapshot; the store still has every intent and fill');
      } finally {
        saving = undefined;
      }
    })();
  };
  const subscription = runtime.actor.subscribe({ next: save, error: () => undefined });
  // An order's ack is saved too: a restart then restores it resting, with nothing to look up.
  const stopOrders = runtime.onOrderState(save);
  return {
    stop: () => {
      subscription.unsubscribe();
      stopOrders();
      // The last change is saved still (a stopped runtime persists its state at the stop).
      if (soon !== undefined) {
        clearTimeout(soon);
        saveNow();
      }
    },
    idle: async () => void (await saving),
  };
}

/** How long a snapshot save waits after a change, gathering the changes that follow it. */
const SNAPSHOT_DELAY_MS = 100;

interface SnapshotSaving {
  stop(): void;
  /** Resolves when no save is under way. */
  idle(): Promise<void>;
}

/** The grid with the exchange's market filters (the ones it enforces). */
export function withExchangeFilters(grid: GridConfig, market: MarketInfo, logger: Logger): GridConfig {
  const filters = { priceStep: market.priceStep, amountStep: market.amountStep, minNotional: market.minNotional };
  if (filters.priceStep !== grid.market.priceStep || filters.amountStep !== grid.market.amountStep || filters.minNotional !== grid.market.minNotional) {
    logger.info({ grid: grid.id, configured: grid.market, exchange: filters }, "the exchange's market filters replace the configured ones");
  }
  return { ...grid, market: filters };
}

function refuseLeftoverOrders(config: GridConfig, openOrders: readonly ExchangeOrder[]): void {
  const prefix = `bb${config.id}_`;
  const leftovers = openOrders.filter((order) => order.clientOrderId.startsWith(prefix));
  if (leftovers.length === 0) return;
  const sample = leftovers.slice(0, 3).map((order) => `${order.clientOrderId} ${order.side} ${order.amount} @ ${order.price}`);
  throw new ConfigError(
    `grid ${config.id}: ${leftovers.length} open order(s) of an earlier run are on the exchange (${sample.join('; ')}${leftovers.length > 3 ? '; ...' : ''}), ` +
      `but the grid has no saved state in this database (a new or another DATABASE_URL / DATA_DIR?), so they cannot be adopted: ` +
      `point the bot at the database of that run, or cancel them on the exchange, or give the grid a new id.`,
  );
}

/**
 * A grid rebuilt from its journal must know every order of its own on the exchange: every order
 * is sent after the journal holds the events that led to it, so one it does not know means the
 * journal lost events (a crash's lost tail, say) and the rebuilt grid is not the one that ran.
 * Trading on would place a second order at a level that has one: refused, nothing touched.
 */
function refuseDivergentRebuild(config: GridConfig, restartOrders: readonly RestartOrder[], openOrders: readonly ExchangeOrder[]): void {
  const known = new Set(restartOrders.map((order) => order.input.intent.clientOrderId));
  const prefix = `bb${config.id}_`;
  const unknown = openOrders.filter((order) => order.clientOrderId.startsWith(prefix) && !known.has(order.clientOrderId));
  if (unknown.length === 0) return;
  const sample = unknown.slice(0, 3).map((order) => `${order.clientOrderId} ${order.side} ${order.amount} @ ${order.price}`);
  throw new ConfigError(
    `grid ${config.id}: rebuilt from its event journal, but ${unknown.length} of its open order(s) on the exchange are not in the rebuilt grid (${sample.join('; ')}${unknown.length > 3 ? '; ...' : ''}): ` +
      'the journal is missing events, so trading on could place a second order at a level. Run the build that wrote the saved state until the grid is stopped, ' +
      'or cancel the grid\'s orders on the exchange and give the grid a new id.',
  );
}

/** The start buys base for the sell levels (taker) and rests the buy levels (maker): quote must cover both. */
function requireFunds(config: GridConfig, price: number, balances: Record<string, AssetBalance>): void {
  const plan = planStart(config, price); // throws ConfigError for a grid that cannot start at this price
  const { maker, taker } = config.fees;
  const needed = plan.marketBuyQuantity * price * (1 + taker) + plan.buyLevels.reduce((sum, level) => sum + plan.quantity * plan.levels[level]! * (1 + maker), 0);
  const quote = config.symbol.split(/[/:]/)[1] ?? '';
  const free = balances[quote]?.free ?? 0;
  if (free + 1e-9 < needed) {
    throw new ConfigError(
      `grid ${config.id}: the account has ${free} ${quote} free, but starting at ${price} needs ${Math.ceil(needed * 100) / 100} ${quote} (the start buy for ${plan.sellLevels.length} sell levels and ${plan.buyLevels.length} resting buys); lower investment/quantityPerLevel or fund the account`,
    );
  }
}

function reportOf(runtime: GridRuntime, startPrice: number, lastPrice: number): LiveGridReport {
  const { value, context } = runtime.actor.getSnapshot();
  const openOrders: Record<string, string> = {};
  context.slots.forEach((slot, level) => {
    if (slot) openOrders[slot.clientOrderId] = `${slot.side}@${context.plan!.levels[level]}`;
  });
  return {
    state: value,
    startPrice,
    lastPrice,
    fills: { buy: context.stats.buyFills, sell: context.stats.sellFills },
    roundTrips: context.stats.roundTrips,
    gridProfit: context.stats.gridProfit,
    fees: context.stats.fees,
    skippedOrders: context.stats.skippedOrders,
    openOrders,
    waitingOrders: context.deferred.map((order) => `${order.side}@${context.plan!.levels[order.level]}`),
    stopped: context.stopReason === 'stopLoss' || context.stopReason === 'takeProfit' ? context.stopReason : null,
  };
}
