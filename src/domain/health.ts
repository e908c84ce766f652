// What /health reports: the deployment's summary (status, version, components, grids) beside each
// part's own state and the whole's verdict (built by the health board,
// src/actors/supervision/health.ts; served by src/adapters/http). docs/telemetry.md describes
// every field.

/** One part's state, as /health shows it. `detail` holds figures (restarts, open orders, errors): no secrets. */
export interface PartHealth {
  readonly healthy: boolean;
  /** The part's state in its own words: a statechart state (ACTIVE, connected, up, gaveUp...). */
  readonly state: string;
  /** Why it is unhealthy, for a human at a glance. */
  readonly reason?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A component's verdict: `disabled` when the mode has none (paper mode has no exchange): it counts as healthy. */
export type ComponentStatus = 'healthy' | 'unhealthy' | 'disabled';

/** The store, as its watcher's last ping found it. */
export interface DatabaseHealth {
  readonly status: ComponentStatus;
  /** How long the last ping took (ms); null before the first answer, or disabled. */
  readonly latency_ms: number | null;
  readonly reason?: string;
}

/** The exchange session's stream (WebSocket). */
export interface WebsocketHealth {
  readonly status: ComponentStatus;
  /** The stream is up now (while it is down, REST polling carries prices and fills). */
  readonly connected: boolean;
  readonly reason?: string;
}

/** The exchange's REST API, as the bot's recent calls found it. */
export interface ExchangeApiHealth {
  readonly status: ComponentStatus;
  /** Median duration of the recent calls (ms); null when there was none, or disabled. */
  readonly latency_ms: number | null;
  readonly reason?: string;
}

export interface HealthComponents {
  readonly database: DatabaseHealth;
  readonly websocket: WebsocketHealth;
  readonly exchange_api: ExchangeApiHealth;
}

export type ComponentName = keyof HealthComponents;

/** One grid at a glance. The figures are null while it is RECOVERING (they could be stale). */
export interface GridHealth {
  /** IDLE, ACTIVE, PAUSED, STOPPING or ERROR (the grid statechart), or RECOVERING while a (re)start reconciles. */
  readonly state: string;
  readonly open_positions: number | null;
  readonly pending_orders: number | null;
}

/** What the process is: set once at start. */
export interface HealthIdentity {
  /** The package version, `+<git sha>` when the image was built with one (GIT_SHA / BUILD_SHA). */
  readonly version: string;
  /** ENVIRONMENT: dev, stage or prod. */
  readonly environment: string;
  /** paper, demo or live. */
  readonly trading_mode: string;
}

export interface HealthReport extends HealthIdentity {
  readonly status: 'healthy' | 'unhealthy';
  readonly uptime_seconds: number;
  /** When the report was made, ISO 8601 UTC. */
  readonly timestamp: string;
  readonly components: HealthComponents;
  /** The grid, when the process runs exactly one. */
  readonly grid?: GridHealth;
  /** Every grid by id (also when there is one). */
  readonly grids: Readonly<Record<string, GridHealth>>;
  /** The unhealthy parts and components, with their reasons. */
  readonly problems: readonly string[];
  readonly parts: Readonly<Record<string, PartHealth>>;
}
