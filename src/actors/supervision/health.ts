// Health, derived from the actors' own states at the moment it is asked: each part of the runtime
// (the supervision tree, the store, the exchange session, every grid) registers a function that
// reads its state; /health calls them all. Nothing is cached, so /health cannot say "healthy" about
// a state that has since changed. The process is healthy when every part and every component is.
//
// Beside the parts, the deployment's summary: the components (database, websocket, exchange_api),
// each a read of its probe's last known result (the store watcher's last ping, the session's
// stream, the recent REST calls), and the grids' figures. Every read is synchronous: /health never
// waits for a probe, so a probe that hangs cannot hang it (the probe itself counts as failed once
// it is outstanding past its timeout, 5 s).
//
// A part or component that throws while reporting is unhealthy ("unknown"): a health check must
// never be the thing that crashes, nor hide a broken part.

import type { GridFigures } from '../../domain/figures.js';
import type { ComponentName, GridHealth, HealthComponents, HealthIdentity, HealthReport, PartHealth } from '../../domain/health.js';

export type { ComponentName, HealthComponents, HealthReport, PartHealth } from '../../domain/health.js';

export interface HealthBoardOptions extends Partial<HealthIdentity> {
  readonly now?: () => number;
}

/** What a component reads as when its mode has none: healthy by definition (paper mode's exchange). */
export const DISABLED = { database: { status: 'disabled', latency_ms: null }, websocket: { status: 'disabled', connected: false }, exchange_api: { status: 'disabled', latency_ms: null } } as const satisfies HealthComponents;

/** Until something registers a component it is unhealthy: a live process that forgot one must not look healthy. */
const UNREPORTED = 'nothing reports it yet';

export class HealthBoard {
  private readonly parts = new Map<string, () => PartHealth>();
  private readonly components = new Map<ComponentName, () => HealthComponents[ComponentName]>();
  private readonly gridSources = new Set<() => readonly GridFigures[]>();
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly identity: HealthIdentity;

  constructor(options: HealthBoardOptions = {}) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.identity = { version: options.version ?? 'unknown', environment: options.environment ?? 'dev', trading_mode: options.trading_mode ?? 'paper' };
  }

  /** Adds (or replaces) the part `name`; returns the function that removes it. */
  register(name: string, read: () => PartHealth): () => void {
    this.parts.set(name, read);
    return () => {
      if (this.parts.get(name) === read) this.parts.delete(name);
    };
  }

  /** Sets (or replaces) how the component `name` is read; returns the function that removes it. */
  registerComponent<Name extends ComponentName>(name: Name, read: () => HealthComponents[Name]): () => void {
    this.components.set(name, read);
    return () => {
      if (this.components.get(name) === read) this.components.delete(name);
    };
  }

  /** The component `name` is `disabled` (the mode has none); returns the function that removes it. */
  disableComponent(name: ComponentName): () => void {
    return this.registerComponent(name, () => DISABLED[name]);
  }

  /** Reads the grids' figures at each report (grids, grid) until the returned function is called. */
  trackGrids(source: () => readonly GridFigures[]): () => void {
    this.gridSources.add(source);
    return () => void this.gridSources.delete(source);
  }

  /** A part's current health, as report() would show it (undefined when there is no such part). */
  part(name: string): PartHealth | undefined {
    const read = this.parts.get(name);
    return read === undefined ? undefined : readPart(read);
  }

  report(): HealthReport {
    const parts: Record<string, PartHealth> = {};
    const problems: string[] = [];
    for (const [name, read] of this.parts) {
      const part = readPart(read);
      parts[name] = part;
      if (!part.healthy) problems.push(`${name}: ${part.reason ?? part.state}`);
    }
    const components = {
      database: this.component('database', { status: 'unhealthy', latency_ms: null, reason: UNREPORTED }),
      websocket: this.component('websocket', { status: 'unhealthy', connected: false, reason: UNREPORTED }),
      exchange_api: this.component('exchange_api', { status: 'unhealthy', latency_ms: null, reason: UNREPORTED }),
    };
    for (const [name, component] of Object.entries(components)) {
      if (component.status === 'unhealthy') problems.push(`${name}: ${component.reason ?? 'unhealthy'}`);
    }
    const grids: Record<string, GridHealth> = {};
    for (const figures of this.gridFigures()) grids[figures.id] = gridHealth(figures);
    const ids = Object.keys(grids);
    const now = this.now();
    return {
      status: problems.length === 0 ? 'healthy' : 'unhealthy',
      ...this.identity,
      uptime_seconds: Math.round((now - this.startedAt) / 1000),
      timestamp: new Date(now).toISOString(),
      components,
      ...(ids.length === 1 ? { grid: grids[ids[0]!]! } : {}),
      grids,
      problems,
      parts,
    };
  }

  private component<Name extends ComponentName>(name: Name, unreported: HealthComponents[Name]): HealthComponents[Name] {
    const read = this.components.get(name) as (() => HealthComponents[Name]) | undefined;
    if (read === undefined) return unreported;
    try {
      return read();
    } catch (error) {
      return { ...unreported, reason: `its state could not be read: ${describe(error)}` };
    }
  }

  private gridFigures(): GridFigures[] {
    const all: GridFigures[] = [];
    for (const source of this.gridSources) {
      try {
        all.push(...source());
      } catch {
        // a source that cannot report leaves its grids out; their parts say what is wrong
      }
    }
    return all;
  }
}

function readPart(read: () => PartHealth): PartHealth {
  try {
    return read();
  } catch (error) {
    return { healthy: false, state: 'unknown', reason: `its state could not be read: ${describe(error)}` };
  }
}

/** A grid's /health summary: no figure while it recovers (a figure known only by a stale snapshot is not shown). */
export function gridHealth(figures: GridFigures): GridHealth {
  const known = (value: number): number | null => (figures.state === 'RECOVERING' || !Number.isFinite(value) ? null : value);
  return { state: figures.state, open_positions: known(figures.openPositions), pending_orders: known(figures.pendingOrders) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A grid's lifecycle state as /health names it: the top state of its statechart value, IDLE / ACTIVE / PAUSED / STOPPING / ERROR. */
export function lifecycleState(value: unknown): string {
  const top = typeof value === 'object' && value !== null ? (Object.keys(value)[0] ?? 'unknown') : String(value);
  return top.toUpperCase();
}
