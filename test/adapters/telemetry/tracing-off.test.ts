// Its own file (its own module graph): nothing here may have imported the OpenTelemetry SDK.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { RestartEvent } from '../../../src/actors/supervision/supervisor.js';
import type { Logger } from '../../../src/adapters/telemetry/logger.js';
import { startTracing } from '../../../src/adapters/telemetry/tracing.js';

const sdkLoaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((key) => key.includes('/@opentelemetry/sdk-node/'));

const event: RestartEvent = { supervisor: 's', systemId: 'c', child: 'c', cause: 'c', at: 0, restarts: 1, delayMs: 1_000, error: null };

describe('tracing without an OTLP endpoint', () => {
  it('does not load the SDK, records nothing, and shuts down at once', async () => {
    const lines: string[] = [];
    const at = (level: string) => (_: Record<string, unknown>, message: string) => void lines.push(`${level}: ${message}`);
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    expect(sdkLoaded()).toBe(false);

    const started = performance.now();
    const tracing = await startTracing({ serviceName: 'btcbot', env: { OTEL_SERVICE_NAME: 'x' }, logger });
    expect(performance.now() - started).toBeLessThan(100);
    expect(tracing.enabled).toBe(false);
    expect(tracing.endpoint).toBeNull();
    expect(() => tracing.traceRestart(event)).not.toThrow();
    expect(() => tracing.record({ name: 'x', attributes: {}, durationMs: Number.NaN })).not.toThrow();
    expect(await tracing.shutdown(1_000)).toBe('disabled');

    expect(sdkLoaded()).toBe(false);
    expect(lines).toEqual(['debug: tracing off']);
  });
});
