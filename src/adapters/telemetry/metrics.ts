// Prometheus metrics: a registry owned by the app (never prom-client's global one, so two instances,
// e.g. two tests, do not share counters), with the Node process metrics under `btcbot_`, the
// supervision tree's restarts, give-ups and states, the grids' figures (read from the running grids
// at each scrape), trades, exchange REST latency, stream reconnects and store write latency.
// Rendered on a scrape by whoever serves `/metrics` (`render()`, with `contentType`).
// docs/telemetry.md lists every metric; the deployment's dashboards and alerts use the names of
// btcbot_trades_total, btcbot_price_current, btcbot_positions_open, btcbot_pnl_total,
// btcbot_orders_pending and btcbot_api_latency_seconds: keep them.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GridFigures, RequestObserver, TradingObservers } from '../../domain/figures.js';
import type { HealthReport } from '../../domain/health.js';
import type { GiveUpReason, RestartEvent, SupervisorStatus } from '../../domain/supervision.js';
import type { Side } from '../../domain/trading.js';

/** What the health gauges read at each scrape: a root supervisor (or anything with its status()). */
export interface StatusSource {
  status(): SupervisorStatus;
}

export interface Metrics extends Required<TradingObservers> {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** Counts a restart: the supervisor's onRestart hook. */
  recordRestart(event: RestartEvent): void;
  /** Counts a root supervisor's give-up: its onGiveUp hook. */
  recordGiveUp(reason: GiveUpReason): void;
  /** Reports this supervision tree on every scrape (btcbot_actor_up, btcbot_supervisor_up, btcbot_actor_state) until the returned function is called. */
  trackSupervisor(source: StatusSource): () => void;
  /** Reads these grids' figures at every scrape (btcbot_positions_open, btcbot_pnl_total, ...) until the returned function is called. */
  trackGrids(source: () => readonly GridFigures[]): () => void;
  /** Reads /health's report at every scrape (btcbot_health_up, btcbot_component_up) until the returned function is called. */
  trackHealth(source: () => HealthReport): () => void;
  /** Counts a new fill of a grid's order (btcbot_trades_total). */
  recordTrade(grid: string, side: Side): void;
  /** Counts the exchange stream coming back after it was lost (btcbot_exchange_reconnects_total). */
  recordReconnect(exchange: string): void;
  /** Times one store write (btcbot_store_write_duration_seconds). */
  observeStoreWrite(operation: string, seconds: number): void;
  /** Times each exchange REST call (btcbot_api_latency_seconds): pass it to timedRequests. */
  readonly observeRequest: RequestObserver;
  /** The exposition text of every metric. */
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC, handles) as btcbot_process_* / btcbot_nodejs_*; default true. */
  readonly defaultMetrics?: boolean;
  /** ENVIRONMENT (dev, stage, prod): the `environment` label of the grid metrics; default dev. */
  readonly environment?: string;
}

/**
 * Gauges whose names end in _total (prom-client's Node metrics, and the deployment's
 * btcbot_pnl_total) are declared `untyped`: Prometheus' lint (promtool check metrics) reserves the
 * _total suffix for counters. They behave as gauges; queries treat untyped and gauge alike.
 */
const UNTYPED_TOTALS = ['btcbot_nodejs_active_handles_total', 'btcbot_nodejs_active_requests_total', 'btcbot_nodejs_active_resources_total'];

/** Exchange REST calls: 5 ms to 10 s (ccxt's default timeout). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Store writes: 1 ms to 5 s (a write waits at most that long for an embedded or remote Postgres). */
const WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Declares a metric `untyped` in the exposition (see UNTYPED_TOTALS). */
function untyped(metric: unknown): void {
  if (metric !== undefined) (metric as { type: string }).type = 'untyped';
}

/** The error text a nested supervisor's give-up reaches its parent with (describeError of a SupervisorGaveUpError). */
const NESTED_GIVE_UP = 'SupervisorGaveUpError: ';

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'btcbot_' });
    for (const name of UNTYPED_TOTALS) untyped(registry.getSingleMetric(name));
  }
  const environment = options.environment ?? 'dev';

  const restarts = new Counter({
    name: 'btcbot_supervisor_restarts_total',
    help: 'Restarts of supervised actors, by supervisor and child id',
    labelNames: ['supervisor', 'child'] as const,
    registers: [registry],
  });
  const gaveUp = new Counter({
    name: 'btcbot_supervisor_gave_up_total',
    help: 'Supervisors that gave up (restart intensity exceeded, or failed themselves), by supervisor id',
    labelNames: ['supervisor'] as const,
    registers: [registry],
  });

  const sources = new Set<StatusSource>();
  /** Walks every tracked tree: each supervisor's state and each child's (nested supervisors included). */
  const walk = (visit: (status: SupervisorStatus) => void): void => {
    const visitTree = (status: SupervisorStatus): void => {
      visit(status);
      for (const child of status.children) if (child.supervisor !== undefined) visitTree(child.supervisor);
    };
    for (const source of sources) {
      try {
        visitTree(source.status());
      } catch {
        // a source that cannot report is left out of this scrape; the scrape itself goes on
      }
    }
  };
  // /health's verdict and its components, read at each scrape: an alert on a 503 whatever its cause.
  const healthSources = new Set<() => HealthReport>();
  const readHealth = (): HealthReport[] => {
    const reports: HealthReport[] = [];
    for (const source of healthSources) {
      try {
        reports.push(source());
      } catch {
        // a source that cannot report is left out of this scrape
      }
    }
    return reports;
  };
  new Gauge({
    name: 'btcbot_health_up',
    help: 'Whether /health says healthy (1) or unhealthy (0, it answers 503)',
    registers: [registry],
    collect() {
      this.reset();
      for (const report of readHealth()) this.set(report.status === 'healthy' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'btcbot_component_up',
    help: "Whether a /health component is healthy or disabled (1) or unhealthy (0): database, websocket, exchange_api",
    labelNames: ['component'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const report of readHealth()) {
        for (const [component, health] of Object.entries(report.components)) this.set({ component }, health.status === 'unhealthy' ? 0 : 1);
      }
    },
  });
  new Gauge({
    name: 'btcbot_actor_up',
    help: 'Whether a supervised actor is running (1) or not (0: restarting, exited, stopped), by systemId',
    labelNames: ['system_id'] as const,
    registers: [registry],
    collect() {
      this.reset();
      walk((status) => {
        for (const child of status.children) this.set({ system_id: child.systemId }, child.state === 'running' ? 1 : 0);
      });
    },
  });
  new Gauge({
    name: 'btcbot_supervisor_up',
    help: 'Whether a supervisor is running (1) or not (0: gave up, stopped, not started), by supervisor id',
    labelNames: ['supervisor'] as const,
    registers: [registry],
    collect() {
      this.reset();
      walk((status) => this.set({ supervisor: status.id }, status.state === 'running' ? 1 : 0));
    },
  });

  new Gauge({
    name: 'btcbot_actor_state',
    help: 'Each supervised actor\'s state (1 for its current one): children by systemId (idle, running, restarting, exited, stopped), supervisors by id (idle, running, stopped, gaveUp)',
    labelNames: ['actor', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      walk((status) => {
        this.set({ actor: status.id, state: status.state }, 1);
        for (const child of status.children) if (child.supervisor === undefined) this.set({ actor: child.systemId, state: child.state }, 1);
      });
    },
  });

  // ---- grids: read from the running grids at each scrape ----------------------------------------
  const gridSources = new Set<() => readonly GridFigures[]>();
  let scraped: readonly GridFigures[] | undefined;
  /** Every tracked grid's figures, read once per scrape (the gauges below share one reading). */
  const grids = (): readonly GridFigures[] => {
    if (scraped !== undefined) return scraped;
    const all: GridFigures[] = [];
    for (const source of gridSources) {
      try {
        all.push(...source());
      } catch {
        // a source that cannot report is left out of this scrape
      }
    }
    scraped = all;
    setImmediate(() => (scraped = undefined));
    return all;
  };
  const trades = new Counter({
    name: 'btcbot_trades_total',
    help: 'Fills of the grids\' orders (each execution once), by environment, grid and side',
    labelNames: ['environment', 'grid', 'side'] as const,
    registers: [registry],
    collect() {
      // Every tracked grid has its series from the start (0), so rate() and increase() see the first fill.
      for (const grid of grids()) for (const side of ['buy', 'sell'] as const) this.inc({ environment, grid: grid.id, side }, 0);
    },
  });
  /** A gauge of one grid figure, labelled environment and grid; a figure not known (NaN) is left out. */
  const gridGauge = (name: string, help: string, figure: (grid: GridFigures) => number): Gauge<'environment' | 'grid'> =>
    new Gauge({
      name,
      help,
      labelNames: ['environment', 'grid'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const grid of grids()) {
          const value = figure(grid);
          if (Number.isFinite(value)) this.set({ environment, grid: grid.id }, value);
        }
      },
    });
  gridGauge('btcbot_positions_open', 'Lots a grid bought whose counter-sell has not filled (resting or waiting sells)', (grid) => grid.openPositions);
  gridGauge('btcbot_orders_pending', 'Orders a grid has out on the exchange (its resting limit orders)', (grid) => grid.pendingOrders);
  untyped(gridGauge('btcbot_pnl_total', "A grid's profit and loss in quote: its equity now minus its equity at its start (a gauge; untyped for the _total name)", (grid) => grid.pnl));
  gridGauge('btcbot_grid_profit', "A grid's round trips' profit in quote, before fees", (grid) => grid.gridProfit);
  gridGauge('btcbot_grid_fees', 'Fees a grid paid, in quote', (grid) => grid.fees);
  gridGauge('btcbot_grid_equity', "A grid's equity by its own books, in quote: quote + base position x last price", (grid) => grid.equity);
  gridGauge('btcbot_grid_round_trips', 'Round trips a grid completed (a buy and its counter-sell filled)', (grid) => grid.roundTrips);
  new Gauge({
    name: 'btcbot_grid_level_price',
    help: "A grid's level prices, by level number from the lowest (0): the dashboard draws them over the price",
    labelNames: ['environment', 'grid', 'level'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const grid of grids()) grid.levels.forEach((price, level) => this.set({ environment, grid: grid.id, level: String(level) }, price));
    },
  });
  new Gauge({
    name: 'btcbot_grid_fills',
    help: "Limit orders of a grid filled since its start, by side (the grid's own books; survives restarts)",
    labelNames: ['environment', 'grid', 'side'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const grid of grids()) {
        for (const side of ['buy', 'sell'] as const) if (Number.isFinite(grid.fills[side])) this.set({ environment, grid: grid.id, side }, grid.fills[side]);
      }
    },
  });
  new Gauge({
    name: 'btcbot_grid_state',
    help: "A grid's lifecycle state (1 for its current one): IDLE, ACTIVE, PAUSED, STOPPING, ERROR, or RECOVERING while a (re)start reconciles",
    labelNames: ['environment', 'grid', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const grid of grids()) {
        this.set({ environment, grid: grid.id, state: grid.state }, 1);
      }
    },
  });
  new Gauge({
    name: 'btcbot_price_current',
    help: 'The last price seen of a symbol a grid trades',
    labelNames: ['symbol'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const grid of grids()) if (Number.isFinite(grid.lastPrice)) this.set({ symbol: grid.symbol }, grid.lastPrice);
    },
  });

  // ---- the exchange and the store --------------------------------------------------------------
  const apiLatency = new Histogram({
    name: 'btcbot_api_latency_seconds',
    help: 'Duration of each exchange REST call (failed ones too), by exchange and call (createLimitOrder, fetchOpenOrders, fetchTick, ...)',
    labelNames: ['exchange', 'call'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'btcbot_exchange_reconnects_total',
    help: "Times the exchange's stream (WebSocket) came back after it was lost, by exchange",
    labelNames: ['exchange'] as const,
    registers: [registry],
  });
  const storeWrites = new Histogram({
    name: 'btcbot_store_write_duration_seconds',
    help: 'Duration of each store write (failed ones too), by operation (recordIntent, recordFill, recordOrderUpdate, saveGridSnapshot, appendEvents)',
    labelNames: ['operation'] as const,
    buckets: WRITE_BUCKETS,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    recordRestart(event) {
      restarts.inc({ supervisor: event.supervisor, child: event.child });
      // A nested supervisor's give-up reaches only its parent, as the error of the exit that restarts
      // it (onGiveUp is called at the root alone): counted here, once, on the nested supervisor's own restart.
      if (event.child === event.cause && event.error?.startsWith(NESTED_GIVE_UP)) gaveUp.inc({ supervisor: event.child });
    },
    recordGiveUp(reason) {
      gaveUp.inc({ supervisor: reason.supervisor });
      // The root gave up because a nested supervisor had given up: that one gave up too.
      if (reason.child !== null && reason.error?.startsWith(NESTED_GIVE_UP)) gaveUp.inc({ supervisor: reason.child });
    },
    trackSupervisor(source) {
      sources.add(source);
      return () => void sources.delete(source);
    },
    trackHealth(source) {
      healthSources.add(source);
      return () => void healthSources.delete(source);
    },
    trackGrids(source) {
      gridSources.add(source);
      return () => void gridSources.delete(source);
    },
    recordTrade(grid, side) {
      trades.inc({ environment, grid, side });
    },
    recordReconnect(exchange) {
      reconnects.inc({ exchange });
    },
    observeStoreWrite(operation, seconds) {
      storeWrites.observe({ operation }, seconds);
    },
    observeRequest: (exchange, call) => (result) => apiLatency.observe({ exchange, call }, result.seconds),
    render: () => {
      scraped = undefined; // a scrape reads the grids afresh (once, for every gauge)
      return registry.metrics();
    },
  };
}
