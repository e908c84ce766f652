// What /health reports: each part's state and the whole's verdict (built by the health board,
// src/actors/supervision/health.ts; served by src/adapters/http).

/** One part's state, as /health shows it. `detail` holds figures (restarts, open orders, errors): no secrets. */
export interface PartHealth {
  readonly healthy: boolean;
  /** The part's state in its own words: a statechart state (ACTIVE, connected, up, gaveUp...). */
  readonly state: string;
  /** Why it is unhealthy, for a human at a glance. */
  readonly reason?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface HealthReport {
  readonly status: 'healthy' | 'unhealthy';
  /** The unhealthy parts' names, with their reasons. */
  readonly problems: readonly string[];
  readonly parts: Readonly<Record<string, PartHealth>>;
  readonly uptimeSeconds: number;
}
