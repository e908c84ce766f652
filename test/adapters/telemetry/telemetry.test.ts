import { describe, expect, it } from 'vitest';
import type { RestartEvent } from '../../../src/actors/supervision/supervisor.js';
import type { Logger } from '../../../src/adapters/telemetry/logger.js';
import { createMetrics } from '../../../src/adapters/telemetry/metrics.js';
import { combineTelemetry, startTelemetry } from '../../../src/adapters/telemetry/telemetry.js';
import type { SpanRecord, Tracing } from '../../../src/adapters/telemetry/tracing.js';
import { restartSpan } from '../../../src/adapters/telemetry/tracing.js';
import { noopTracePort } from '../../../src/adapters/telemetry/trace-port.js';
import type { GiveUpReason } from '../../../src/machines/supervisor.machine.js';

const event: RestartEvent = { supervisor: 'root', systemId: 'feed', child: 'feed', cause: 'feed', at: 0, restarts: 1, delayMs: 900, error: 'stale' };
const reason: GiveUpReason = {
  supervisor: 'root',
  child: 'feed',
  error: 'stale',
  restarts: 3,
  intensity: { maxRestarts: 3, periodMs: 5_000 },
  at: 0,
  downMs: 0,
  message: "supervisor 'root' gave up",
};

/** A Tracing that keeps its spans, or throws when told to. */
function fakeTracing(spans: SpanRecord[], fail = false): Tracing {
  const record = (span: SpanRecord): void => {
    if (fail) throw new Error('tracer broke');
    spans.push(span);
  };
  return {
    enabled: true,
    endpoint: 'http://collector/v1/traces',
    port: noopTracePort,
    record,
    traceRestart: (e) => record(restartSpan(e)),
    traceGiveUp: () => record({ name: 'supervisor.give_up', attributes: {} }),
    shutdown: async () => 'flushed',
  };
}

describe('telemetry', () => {
  it('counts and traces each restart and give-up', async () => {
    const spans: SpanRecord[] = [];
    const telemetry = combineTelemetry(createMetrics({ defaultMetrics: false }), fakeTracing(spans));
    telemetry.onRestart(event);
    telemetry.onGiveUp(reason);
    const text = await telemetry.metrics.render();
    expect(text).toContain('btcbot_supervisor_restarts_total{supervisor="root",child="feed"} 1');
    expect(text).toContain('btcbot_supervisor_gave_up_total{supervisor="root"} 1');
    expect(spans.map((s) => s.name)).toEqual(['supervisor.restart', 'supervisor.give_up']);
    expect(spans[0]).toMatchObject({ durationMs: 900, error: 'stale', attributes: { child: 'feed', reason: 'stale' } });
    expect(await telemetry.shutdown(100)).toBe('flushed');
  });

  it('still counts when tracing throws, and never throws itself', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (_, m) => void warnings.push(m), error: () => {}, child: () => logger };
    const telemetry = combineTelemetry(createMetrics({ defaultMetrics: false }), fakeTracing([], true), logger);
    expect(() => telemetry.onRestart(event)).not.toThrow();
    expect(() => telemetry.onGiveUp(reason)).not.toThrow();
    expect(await telemetry.metrics.render()).toContain('btcbot_supervisor_restarts_total{supervisor="root",child="feed"} 1');
    expect(warnings).toEqual(['recording a restart failed', 'recording a give-up failed']);
  });

  it('starts without an endpoint: metrics on, tracing off', async () => {
    const telemetry = await startTelemetry({ serviceName: 'btcbot', env: {}, metrics: createMetrics({ defaultMetrics: false }) });
    expect(telemetry.tracing.enabled).toBe(false);
    telemetry.onRestart(event);
    expect(await telemetry.metrics.render()).toContain('btcbot_supervisor_restarts_total{supervisor="root",child="feed"} 1');
    expect(await telemetry.shutdown(1_000)).toBe('disabled');
  });
});
