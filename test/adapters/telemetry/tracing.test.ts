import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestartEvent } from '../../../src/actors/supervision/supervisor.js';
import type { Logger } from '../../../src/adapters/telemetry/logger.js';
import { parseOtlpHeaders, redact, startTracing, tracingConfig, type Tracing } from '../../../src/adapters/telemetry/tracing.js';
import { attributesOf, startCollector } from './otlp-collector.js';

const event: RestartEvent = {
  supervisor: 'grid-btc',
  systemId: 'grid-btc/orders',
  child: 'orders',
  cause: 'orders',
  at: 1_700_000_000_000,
  restarts: 2,
  delayMs: 1_500,
  error: 'Error: exchange said no',
};

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}
function capture(lines: Line[]): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task();
});

async function collectorFor(answer?: Parameters<typeof startCollector>[0]) {
  const collector = await startCollector(answer);
  cleanup.push(() => collector.close());
  return collector;
}
async function tracingFor(env: Record<string, string>, lines: Line[] = []): Promise<Tracing> {
  const tracing = await startTracing({ serviceName: 'btcbot-test', env, logger: capture(lines) });
  cleanup.push(() => tracing.shutdown(0));
  return tracing;
}

describe('tracing over OTLP/HTTP', () => {
  it('exports a supervisor.restart span to the collector on shutdown', async () => {
    const collector = await collectorFor();
    const lines: Line[] = [];
    const tracing = await tracingFor({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, lines);
    expect(tracing.enabled).toBe(true);
    expect(tracing.endpoint).toBe(`${collector.url}/v1/traces`);
    // the SDK was imported (the marker the no-endpoint test relies on is a real one)
    expect(Object.keys(createRequire(import.meta.url).cache).some((key) => key.includes('/@opentelemetry/sdk-node/'))).toBe(true);

    tracing.traceRestart(event);
    expect(collector.received).toHaveLength(0); // batched: nothing sent before the flush
    expect(await tracing.shutdown(2_000)).toBe('flushed');

    expect(collector.received.map((r) => [r.path, r.headers['content-type']])).toEqual([['/v1/traces', 'application/json']]);
    const spans = collector.spans();
    expect(spans.map(({ span }) => span.name)).toEqual(['supervisor.restart']);
    const [{ span, resource }] = spans as [(typeof spans)[number]];
    expect(attributesOf(span)).toEqual({
      supervisor: 'grid-btc',
      child: 'orders',
      systemId: 'grid-btc/orders',
      cause: 'orders',
      restarts: 2,
      delayMs: 1500,
      reason: 'Error: exchange said no',
    });
    expect(span.status).toMatchObject({ code: 2, message: 'Error: exchange said no' }); // STATUS_CODE_ERROR
    // the span covers the backoff waited
    expect(Number((BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1_000_000n)).toBe(1_500);
    expect(resource['service.name']).toBe('btcbot-test');
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(await tracing.shutdown(2_000)).toBe('flushed'); // idempotent
  });

  it('honours OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SERVICE_NAME and the OTLP headers', async () => {
    const collector = await collectorFor();
    const tracing = await tracingFor({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', // the traces-specific one wins
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret-token,x-scope-orgid=tenant',
      OTEL_SERVICE_NAME: 'btcbot-stage',
    });
    tracing.traceGiveUp({
      supervisor: 'root',
      child: 'exchange',
      error: 'SupervisorGaveUpError: gave up',
      restarts: 5,
      intensity: { maxRestarts: 5, periodMs: 60_000 },
      at: 0,
      downMs: 0,
      message: "supervisor 'root' gave up",
    });
    expect(await tracing.shutdown(2_000)).toBe('flushed');
    expect(collector.received[0]?.path).toBe('/custom/traces');
    expect(collector.received[0]?.headers.authorization).toBe('Bearer s3cret-token');
    expect(collector.received[0]?.headers['x-scope-orgid']).toBe('tenant');
    const [{ span, resource }] = collector.spans() as [ReturnType<typeof collector.spans>[number]];
    expect(span.name).toBe('supervisor.give_up');
    expect(attributesOf(span)).toMatchObject({ supervisor: 'root', child: 'exchange', maxRestarts: 5 });
    expect(resource['service.name']).toBe('btcbot-stage');
  });

  it('resolves within the cap when the collector never answers, and warns', async () => {
    const collector = await collectorFor('never');
    const lines: Line[] = [];
    const tracing = await tracingFor({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, lines);
    tracing.traceRestart(event);
    const started = performance.now();
    expect(await tracing.shutdown(300)).toBe('timedOut');
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(800);
    expect(collector.received).toHaveLength(1); // the request was made, and left unanswered
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'telemetry flush timed out; unsent spans dropped' }));
  });

  it('survives a collector that refuses the export, and logs no secret', async () => {
    // A collector that echoes the token back in its error: the exporter puts the body in its error.
    const collector = await collectorFor({ status: 400, body: '{"message":"bad token Bearer s3cret-token from http://u:pa55word@x"}' });
    const lines: Line[] = [];
    const tracing = await tracingFor(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url.replace('http://', 'http://user:pa55word@'), OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer s3cret-token' },
      lines,
    );
    expect(tracing.endpoint).toBe(`${collector.url}/v1/traces`);
    tracing.traceRestart(event);
    expect(await tracing.shutdown(2_000)).toBe('failed');
    expect(collector.received).toHaveLength(1);
    expect(collector.received[0]?.headers.authorization).toBe('Bearer s3cret-token');
    const logged = JSON.stringify(lines);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'telemetry flush failed; unsent spans dropped' }));
    expect(logged).toContain('[redacted]');
    expect(logged).not.toContain('s3cret');
    expect(logged).not.toContain('pa55word');
  });

  it('goes on without traces when the collector is unreachable', async () => {
    const lines: Line[] = [];
    const tracing = await tracingFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }, lines);
    tracing.traceRestart(event);
    // connection refused is retried (with backoff, within the exporter's 10 s timeout): the cap ends it
    const result = await tracing.shutdown(500);
    expect(['failed', 'timedOut']).toContain(result);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      result === 'failed' ? 'telemetry flush failed; unsent spans dropped' : 'telemetry flush timed out; unsent spans dropped',
    ]);
  });
});

describe('tracing configuration', () => {
  it('is off without an endpoint, or when disabled', () => {
    expect(tracingConfig({}, 'btcbot')).toMatchObject({ kind: 'disabled' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'btcbot')).toMatchObject({ kind: 'disabled' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318', OTEL_SDK_DISABLED: 'true' }, 'btcbot')).toMatchObject({ kind: 'disabled' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318', OTEL_TRACES_EXPORTER: 'none' }, 'btcbot')).toMatchObject({ kind: 'disabled' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'tempo:4318/x y' }, 'btcbot')).toMatchObject({ kind: 'disabled' });
  });

  it('appends /v1/traces to the base endpoint only', () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318' }, 'b')).toMatchObject({ url: 'http://tempo:4318/v1/traces', serviceName: 'b' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel/prefix/' }, 'b')).toMatchObject({ url: 'http://otel/prefix/v1/traces' });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel/x' }, 'b')).toMatchObject({ url: 'https://otel/x' });
  });

  it('flags a protocol other than http/json', () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://t:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'b')).toMatchObject({
      unsupportedProtocol: 'http/protobuf',
    });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://t:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'b')).toMatchObject({ unsupportedProtocol: null });
  });

  it('parses OTLP headers and redacts', () => {
    expect(parseOtlpHeaders('a=1, b = two%20words ,bad,=x,c=%E0%A4%A')).toEqual({ a: '1', b: 'two words', c: '%E0%A4%A' });
    expect(redact('GET https://me:pw@host/x token=abcd1234', ['abcd1234'])).toBe('GET https://[redacted]@host/x token=[redacted]');
  });
});
