// Live trading: every configured grid places real orders through the exchange session (live
// mode, or demo mode on an exchange's sandbox) until the abort signal (SIGTERM / SIGINT).
//
// The actor tree (docs/supervision.md):
//
//   btcbot            root, rest_for_one, 5 restarts in 60 s (it holds the exchange worker)
//   ├── store         the database's watcher: /health says "down" within seconds (store-monitor.ts)
//   ├── exchange      the exchange session: streams + REST polling; a new session at each restart
//   └── grids         one_for_one, 3 restarts in 5 s (logic actors)
//       └── grid:<id> one grid and its order actors (grid-service.ts); each start recovers
//
// rest_for_one at the root: a restarted exchange session restarts the grids after it, so that
// every grid trades on the new session (and goes through recovery, the crash-only path). A grid
// whose actors keep crashing makes `grids` give up, which escalates to the root; past the root's
// intensity the tree gives up: every grid is ERROR, its orders stay resting (safe), the process
// reports unhealthy on /health and keeps running for the operator to look at it.
//
// The exchange's market filters (price step, amount step, min notional) replace each grid's
// configured `market` first (the exchange's are the ones it enforces; a difference is logged).
// A grid whose first launch fails (a user error: leftover orders, no funds) stops the run with its
// message. On stop the orders stay resting (recovered at the next start), or with
// shutdown.cancelOrders they are cancelled first, within 4 s.
//
// The grids' control (the control API: their state, fills, pause / resume / stop; grid-control.ts)
// is handed out through onControl while the tree runs, and withdrawn at the first signal.
import { setTimeout as sleep } from 'node:timers/promises';
import type { MarketInfo } from '../../adapters/exchange/port.js';
import type { StorePort } from '../../adapters/store/port.js';
import { moduleLogger, type Logger } from '../../adapters/telemetry/logger.js';
import type { TracePort } from '../../adapters/telemetry/trace-port.js';
import { timedWrites } from '../../adapters/store/timed-store.js';
import type { GridConfig } from '../../config/grid-config.js';
import type { GridFigures, TradingObservers } from '../../domain/figures.js';
import type { ExchangeApiHealth, WebsocketHealth } from '../../domain/health.js';
import { unknownFigures } from '../../machines/grid-figures.js';
import type { BackoffOptions } from '../../machines/exchange-connection.machine.js';
import { EXCHANGE_WORKER_INTENSITY, LOGIC_INTENSITY, type GiveUpReason, type Intensity } from '../../machines/supervisor.machine.js';
import type { startGridRuntime, GridRuntime } from '../grid/grid-runtime.js';
import type { GridControl } from '../../domain/grid-control.js';
import { liveGridControl } from './grid-control.js';
import { GridService, retryRetryable, withExchangeFilters, type LiveGridReport, type LiveSession } from './grid-service.js';
import { DISABLED, type HealthBoard, type PartHealth } from '../supervision/health.js';
import { whenAborted } from '../supervision/when-aborted.js';
import { StoreMonitor, type StoreStatus } from '../supervision/store-monitor.js';
import type { Notifier } from '../../domain/notifications.js';
import { startSupervisor, supervisorChild, type ChildRef, type ChildSpec, type RestartEvent, type SupervisorStatus } from '../supervision/supervisor.js';

export type { LiveGridReport, LiveSession } from './grid-service.js';

/** The exchange session as the tree runs it: a new one, not started, at every (re)start of the exchange child. */
export interface SupervisedSession extends LiveSession {
  start(): void;
  stop(): Promise<void>;
  health(): PartHealth;
  /** Told when the session fails (its connection actor): the supervisor restarts it. */
  onFailure(listener: (error: unknown) => void): () => void;
  /** /health's websocket component (ExchangeSession's); without it, read from status() and health(). */
  websocket?(): WebsocketHealth;
  /** Told each time its stream comes back after it was lost (btcbot_exchange_reconnects_total). */
  onReconnect?(listener: (exchange: string) => void): () => void;
}

export interface LiveTradingOptions {
  readonly grids: readonly GridConfig[];
  /** The exchange's market filters of a symbol (asked once, before anything starts). */
  readonly loadMarket: (symbol: string) => Promise<MarketInfo>;
  /** Makes a new exchange session, not started: the tree's `exchange` child. */
  readonly openSession: () => SupervisedSession;
  readonly store: StorePort;
  /** A trivial query for the store's watcher (`select 1`); without it the store is not watched (the memory store). */
  readonly pingStore?: () => Promise<unknown>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Where the tree's parts report their health (/health). */
  readonly health?: HealthBoard;
  /** Told of every restart in the tree (metrics, traces); logging is the supervisor's. */
  readonly onRestart?: (event: RestartEvent) => void;
  /** Told when the tree gives up (metrics, traces); logging is done here. */
  readonly onGiveUp?: (reason: GiveUpReason) => void;
  /** Told of the root supervisor once it runs (the metrics' actor gauges); returns the function that stops tracking it. */
  readonly trackSupervisor?: (root: { status(): SupervisorStatus }) => () => void;
  /** Supervision numbers (tests shorten them): backoff of every supervisor, intensity of the root and of `grids`. */
  readonly supervision?: { readonly backoff?: Partial<BackoffOptions>; readonly root?: Partial<Intensity>; readonly grids?: Partial<Intensity> };
  /** How long an order request may stay unanswered before it is looked up (ms). */
  readonly submitTimeoutMs?: number;
  /** How often each grid's status line is logged (ms, default 60,000): what it is doing, at a glance in Loki. */
  readonly statusIntervalMs?: number;
  /** Told of each grid runtime once it trades (after each restart too). */
  readonly onStarted?: (grid: GridConfig, runtime: GridRuntime) => void;
  /** On stop, cancel every grid's orders first (capped at 4 s in all), instead of leaving them resting. */
  readonly cancelOrdersOnStop?: boolean;
  /** Where fills, price triggers, a grid's ERROR, a give-up and a long database outage are told (Telegram, Discord, a webhook). */
  readonly notifier?: Notifier;
  /** Makes a grid's actors (tests wrap it to crash one). */
  readonly startRuntime?: typeof startGridRuntime;
  /**
   * Told of the grids' control (the control API's GridControl) once the tree runs, and of
   * undefined when the run stops (before the orders are cancelled): commands are refused from then on.
   */
  readonly onControl?: (control: GridControl | undefined) => void;
  /** Where the grids record their spans (default: the process's, defaultTracePort()). */
  readonly tracer?: TracePort;
  /**
   * Told of what happens (the metrics implement it): the grids' figures are tracked while the tree
   * runs, each new fill is a trade, the stream's reconnects, and each store write's duration (the
   * store is timed with timedWrites when observeStoreWrite is given).
   */
  readonly observe?: TradingObservers;
  /**
   * /health's exchange_api component: the recent REST calls' record (RecentRequests over
   * timedRequests), or 'disabled' for a mode without an exchange (paper). Without it: the session's
   * health, with no latency figure.
   */
  readonly exchangeApi?: (() => ExchangeApiHealth) | 'disabled';
  /** 'disabled' for a mode without an exchange stream (paper). Without it: the session's stream. */
  readonly websocket?: 'disabled';
}

const CANCEL_ON_STOP_MS = 4_000;
const SETTLE_ON_STOP_MS = 1_500;

/** The current incarnation of each child of the tree, for the grids, /health and the status line. */
interface Incarnations {
  store: StoreMonitor | undefined;
  session: SupervisedSession | undefined;
  /** Stops of earlier sessions still closing their sockets. */
  readonly closing: Array<Promise<void>>;
  readonly grids: Map<string, GridService>;
}

/** Starts the actor tree, runs until `signal` aborts, stops it (orders stay resting, or are cancelled) and reports. */
export async function runLiveTrading(options: LiveTradingOptions): Promise<Map<string, LiveGridReport>> {
  const { logger, signal } = options;
  const gridLog = moduleLogger(logger, 'grid');
  const treeLog = moduleLogger(logger, 'supervisor');
  // Signalled while the process was starting: nothing starts (no intent after the signal).
  if (signal.aborted) return new Map();
  const configs: GridConfig[] = [];
  for (const grid of options.grids) {
    // A signal does not wait for the markets (an exchange that does not answer holds a request
    // for its whole timeout, 10 s, past the shutdown's 7.5 s cut-off): nothing has started yet.
    const loading = retryRetryable(() => options.loadMarket(grid.symbol), `${grid.id}: market`, logger, signal);
    loading.catch(() => undefined);
    const market = await Promise.race([loading, whenAborted(signal).then(() => undefined)]);
    if (market === undefined) return new Map();
    configs.push(withExchangeFilters(grid, market, logger));
  }
  const now: Incarnations = { store: undefined, session: undefined, closing: [], grids: new Map() };
  let gaveUp: GiveUpReason | undefined;
  const observe = options.observe;
  const observeStoreWrite = observe?.observeStoreWrite?.bind(observe);
  const store = observeStoreWrite === undefined ? options.store : timedWrites(options.store, observeStoreWrite);
  const backoff = options.supervision?.backoff;
  const root = startSupervisor(
    {
      id: 'btcbot',
      strategy: 'rest_for_one',
      intensity: { ...EXCHANGE_WORKER_INTENSITY, ...options.supervision?.root },
      ...(backoff === undefined ? {} : { backoff }),
      children: [
        ...(options.pingStore === undefined ? [] : [storeChild(options.pingStore, now, logger, options.notifier)]),
        sessionChild(options.openSession, now, observe),
        supervisorChild({
          id: 'grids',
          intensity: { ...LOGIC_INTENSITY, ...options.supervision?.grids },
          ...(backoff === undefined ? {} : { backoff }),
          children: configs.map((config) => ({
            id: config.id,
            systemId: `grid:${config.id}`,
            start: ({ restarts }) => {
              if (restarts > 0) treeLog.warn({ grid: config.id, restarts }, 'restarting the grid from its saved state');
              const service = new GridService({ ...options, store, config, session: now.session! });
              now.grids.set(config.id, service);
              return service;
            },
          })),
        }),
      ],
    },
    {
      logger,
      ...(options.onRestart === undefined ? {} : { onRestart: options.onRestart }),
      onGiveUp: (reason) => {
        gaveUp = reason;
        treeLog.error({ reason }, 'supervision gave up: every grid is in ERROR, its orders stay resting on the exchange; /health reports unhealthy. Look at the errors above, then restart btcbot');
        options.notifier?.notify({ kind: 'supervisorGaveUp', supervisor: reason.supervisor, reason: reason.message });
        options.onGiveUp?.(reason);
      },
    },
  );
  const untrack = options.trackSupervisor?.(root);
  const unregister = registerHealth(options, configs, now, () => root.status(), () => gaveUp);
  const figures = (): GridFigures[] => configs.map((config) => gridFigures(config, now, gaveUp));
  const untrackGrids = observe?.trackGrids?.(figures);
  const unboard = options.health?.trackGrids(figures);
  options.onControl?.(liveGridControl({ configs, service: (id) => now.grids.get(id), store, gaveUp: () => gaveUp }));
  let withdrawControl = (): void => {
    withdrawControl = () => undefined;
    options.onControl?.(undefined);
  };
  try {
    // The first launches: a failure here is the user's to fix (or the exchange's): it ends the run.
    // A signal meanwhile does not wait for them (a recovery can take seconds): the shutdown begins.
    const stopped = whenAborted(signal);
    await Promise.race([Promise.all(configs.map((config) => now.grids.get(config.id)!.ready)), stopped]);
    const logStatus = (): void => {
      const stream = now.session?.status();
      for (const [grid, service] of now.grids) {
        const report = service.report();
        if (report === undefined) continue;
        const { openOrders, ...figures } = report;
        gridLog.info({ grid, ...figures, openOrders: Object.keys(openOrders).length, stream: stream?.state, streamError: stream?.lastError, store: now.store?.status().state, supervision: gaveUp ? 'gave up' : 'ok' }, 'grid status');
      }
    };
    const statusTimer = setInterval(logStatus, options.statusIntervalMs ?? 60_000);
    try {
      await stopped;
    } finally {
      clearInterval(statusTimer);
      withdrawControl();
    }
    if (options.cancelOrdersOnStop && gaveUp === undefined) {
      // Docker waits 10 s before SIGKILL: the cancels get 4 s, whatever is left stays resting (and is recovered).
      const deadline = Date.now() + CANCEL_ON_STOP_MS;
      for (const [grid, service] of now.grids) {
        const done = await service.cancelOrders(Math.max(0, deadline - Date.now()));
        gridLog.info({ grid, done }, done ? 'orders cancelled on stop' : 'not every order could be cancelled in time: the rest stays resting');
      }
    }
    const reports = new Map<string, LiveGridReport>();
    for (const [grid, service] of now.grids) {
      const report = service.report();
      if (report) reports.set(grid, report);
    }
    return reports;
  } finally {
    withdrawControl();
    root.stop();
    unregister();
    untrack?.();
    untrackGrids?.();
    unboard?.();
    // The grids' last writes (snapshots, journal) and the sessions' sockets, for 1.5 s at most: a
    // write the store cannot take now is recovered at the next start (the exchange keeps the truth).
    const settled = Promise.all([...[...now.grids.values()].map((service) => service.settled()), ...now.closing]);
    await Promise.race([settled, sleep(SETTLE_ON_STOP_MS, undefined, { ref: false })]);
  }
}

/** The `store` child: a new watcher at each start; an outage is told to the notifier (which waits a minute before it sends). */
function storeChild(ping: () => Promise<unknown>, now: Incarnations, logger: Logger, notifier: Notifier | undefined): ChildSpec {
  const onChange = (status: StoreStatus, downForMs: number | undefined): void => {
    if (status.state === 'down') notifier?.notify({ kind: 'storeDown', downForMs: 0, error: status.lastError ?? 'unreachable' });
    else if (downForMs !== undefined) notifier?.notify({ kind: 'storeUp', downForMs });
  };
  return {
    id: 'store',
    start: () => {
      const monitor = new StoreMonitor({ ping, logger, onChange });
      now.store = monitor;
      return monitor;
    },
  };
}

/** The `exchange` child: a new session at each start; its failure is the child's error. */
function sessionChild(openSession: () => SupervisedSession, now: Incarnations, observe: TradingObservers | undefined): ChildSpec {
  return {
    id: 'exchange',
    start: (): ChildRef => {
      const session = openSession();
      let unlisten: (() => void) | undefined;
      return {
        start: () => {
          now.session = session;
          if (observe?.recordReconnect !== undefined) unlisten = session.onReconnect?.((exchange) => observe.recordReconnect?.(exchange));
          session.start();
        },
        stop: () => {
          unlisten?.();
          now.closing.push(session.stop());
        },
        subscribe: (observer) => ({ unsubscribe: session.onFailure((error) => observer.error?.(error)) }),
      };
    },
  };
}

/** Registers the tree's parts and /health's components on the health board; returns the function that removes them. */
function registerHealth(
  options: Pick<LiveTradingOptions, 'health' | 'pingStore' | 'exchangeApi' | 'websocket'>,
  configs: readonly GridConfig[],
  now: Incarnations,
  tree: () => SupervisorStatus,
  gaveUp: () => GiveUpReason | undefined,
): () => void {
  const board = options.health;
  if (board === undefined) return () => undefined;
  const watchesStore = options.pingStore !== undefined;
  const exchangeApi = options.exchangeApi;
  const removers = [
    board.register('supervision', () => supervisionHealth(tree(), gaveUp())),
    board.register('exchange', () => now.session?.health() ?? { healthy: false, state: 'starting', reason: 'the exchange session is not started yet' }),
    ...(watchesStore ? [board.register('store', () => now.store?.health() ?? { healthy: false, state: 'starting', reason: 'the store watcher is not started yet' })] : []),
    ...configs.map((config) =>
      board.register(`grid:${config.id}`, () => {
        const given = gaveUp();
        if (given !== undefined) return { healthy: false, state: 'ERROR', reason: `supervision gave up (${given.message}); its orders stay resting on the exchange` };
        const service = now.grids.get(config.id);
        return service?.health() ?? { healthy: false, state: 'starting', reason: 'not started yet' };
      }),
    ),
    // The deployment's components. A store without a watcher (the memory store) has no database.
    board.registerComponent('database', () =>
      !watchesStore ? DISABLED.database : (now.store?.component() ?? { status: 'unhealthy', latency_ms: null, reason: 'the store watcher is not started yet' }),
    ),
    board.registerComponent('websocket', () => (options.websocket === 'disabled' ? DISABLED.websocket : sessionWebsocket(now.session))),
    board.registerComponent('exchange_api', () => {
      if (exchangeApi === 'disabled') return DISABLED.exchange_api;
      if (exchangeApi !== undefined) return exchangeApi();
      const health = now.session?.health();
      if (health === undefined) return { status: 'unhealthy', latency_ms: null, reason: 'the exchange session is not started yet' };
      return health.healthy ? { status: 'healthy', latency_ms: null } : { status: 'unhealthy', latency_ms: null, ...(health.reason === undefined ? {} : { reason: health.reason }) };
    }),
  ];
  return () => removers.forEach((remove) => remove());
}

/** The session's stream as /health's websocket component. */
function sessionWebsocket(session: SupervisedSession | undefined): WebsocketHealth {
  if (session === undefined) return { status: 'unhealthy', connected: false, reason: 'the exchange session is not started yet' };
  if (session.websocket !== undefined) return session.websocket();
  const health = session.health();
  const connected = session.status().state === 'connected';
  return health.healthy ? { status: 'healthy', connected } : { status: 'unhealthy', connected, ...(health.reason === undefined ? {} : { reason: health.reason }) };
}

/** A grid's figures for /health and the metrics: none while it is not trading (RECOVERING) or once supervision gave up (ERROR). */
function gridFigures(config: GridConfig, now: Incarnations, gaveUp: GiveUpReason | undefined): GridFigures {
  if (gaveUp !== undefined) return unknownFigures(config.id, config.symbol, 'ERROR');
  return now.grids.get(config.id)?.figures() ?? unknownFigures(config.id, config.symbol, 'RECOVERING');
}

/** The tree's own health: unhealthy once it gave up; restarts and children's states as figures. */
function supervisionHealth(status: SupervisorStatus, gaveUp: GiveUpReason | undefined): PartHealth {
  const children: Record<string, unknown> = {};
  const walk = (supervisor: SupervisorStatus): void => {
    for (const child of supervisor.children) {
      children[child.systemId] = { state: child.state, restarts: child.restarts, ...(child.lastError === null ? {} : { lastError: child.lastError }) };
      if (child.supervisor) walk(child.supervisor);
    }
  };
  walk(status);
  if (gaveUp !== undefined) return { healthy: false, state: 'gaveUp', reason: `supervision gave up: ${gaveUp.message}`, detail: { children } };
  return { healthy: true, state: status.state, detail: { children } };
}
