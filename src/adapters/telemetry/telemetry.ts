// Telemetry: the supervision tree's hooks, counted (metrics.ts) and traced (tracing.ts). Logging is
// not done here: the supervisor already logs every restart ('child restarted', info) and give-up
// (its reason, error) before it calls these hooks.
//
//   const telemetry = await startTelemetry({ serviceName: 'btcbot', logger });
//   const root = startSupervisor(spec, {
//     logger,
//     onRestart: telemetry.onRestart,
//     onGiveUp: (reason) => { telemetry.onGiveUp(reason); /* grid to ERROR, ... */ },
//   });
//   telemetry.metrics.trackSupervisor(root);
//   ...
//   await telemetry.shutdown(2_000);   // on SIGTERM: flush spans, at most 2 s
import type { GiveUpReason, RestartEvent } from '../../domain/supervision.js';
import { silentLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { startTracing, type FlushResult, type Tracing, type TracingOptions } from './tracing.js';

export interface Telemetry {
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** The supervisor's onRestart hook: counts and traces the restart; never throws. */
  readonly onRestart: (event: RestartEvent) => void;
  /** For the root's onGiveUp: counts and traces the give-up; never throws. */
  readonly onGiveUp: (reason: GiveUpReason) => void;
  /** Flushes telemetry, waiting at most capMs (see Tracing.shutdown). Metrics need no flush: Prometheus pulls them. */
  readonly shutdown: (capMs: number) => Promise<FlushResult>;
}

/** Each sink on its own: a failing one neither stops the other nor reaches the supervisor. */
function both(logger: Logger, what: string, ...sinks: (() => void)[]): void {
  for (const sink of sinks) {
    try {
      sink();
    } catch (error) {
      try {
        logger.warn({ error: error instanceof Error ? error.message : String(error) }, what);
      } catch {
        // a failing logger has nowhere left to report to
      }
    }
  }
}

export function combineTelemetry(metrics: Metrics, tracing: Tracing, logger: Logger = silentLogger): Telemetry {
  return {
    metrics,
    tracing,
    onRestart: (event) =>
      both(
        logger,
        'recording a restart failed',
        () => metrics.recordRestart(event),
        () => tracing.traceRestart(event),
      ),
    onGiveUp: (reason) =>
      both(
        logger,
        'recording a give-up failed',
        () => metrics.recordGiveUp(reason),
        () => tracing.traceGiveUp(reason),
      ),
    shutdown: (capMs) => tracing.shutdown(capMs),
  };
}

/** Metrics (a fresh registry unless given one) and tracing as the environment says (startTracing). */
export async function startTelemetry(options: TracingOptions & { readonly metrics?: Metrics }): Promise<Telemetry> {
  const metrics = options.metrics ?? createMetrics();
  const tracing = await startTracing(options);
  return combineTelemetry(metrics, tracing, options.logger);
}
