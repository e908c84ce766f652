// Prometheus metrics: a registry owned by the app (never prom-client's global one, so two instances,
// e.g. two tests, do not share counters), with the Node process metrics under `btcbot_` and the
// supervision tree's restarts, give-ups and health. Rendered on a scrape by whoever serves
// `/metrics` (`render()`, with `contentType`). docs/telemetry.md lists every metric.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { GiveUpReason, RestartEvent, SupervisorStatus } from '../../domain/supervision.js';

/** What the health gauges read at each scrape: a root supervisor (or anything with its status()). */
export interface StatusSource {
  status(): SupervisorStatus;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** Counts a restart: the supervisor's onRestart hook. */
  recordRestart(event: RestartEvent): void;
  /** Counts a root supervisor's give-up: its onGiveUp hook. */
  recordGiveUp(reason: GiveUpReason): void;
  /** Reports this supervision tree on every scrape (btcbot_actor_up, btcbot_supervisor_up) until the returned function is called. */
  trackSupervisor(source: StatusSource): () => void;
  /** The exposition text of every metric. */
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC, handles) as btcbot_process_* / btcbot_nodejs_*; default true. */
  readonly defaultMetrics?: boolean;
}

/** The error text a nested supervisor's give-up reaches its parent with (describeError of a SupervisorGaveUpError). */
const NESTED_GIVE_UP = 'SupervisorGaveUpError: ';

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'btcbot_' });

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
    render: () => registry.metrics(),
  };
}
