// Tracing: btcbot's spans (the decision chain of each fill, each start's placement, recoveries,
// exchange reconnects: trace-port.ts and the actors; supervisor restarts and give-ups: here),
// exported over OTLP/HTTP (JSON) to Tempo or any OpenTelemetry collector when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Exporting, it makes
// the OTLP-backed trace port the process's default (defaultTracePort()); shutdown puts the no-op
// one back.
//
// Without an endpoint nothing is loaded but @opentelemetry/api, whose default tracer is a no-op: the
// OpenTelemetry SDK (@opentelemetry/sdk-node, ~0.4-0.6 s and ~2,300 modules to import) is imported
// lazily, only when traces are exported. No auto-instrumentation; no OTLP metrics or logs (metrics
// are Prometheus', logs are pino's): only the spans recorded here.
//
// Failures never reach the process: recording a span never throws, an unreachable or refusing
// collector is reported as a warning through the app's logger (its OTLP header values and URL
// credentials redacted), and shutdown(capMs) resolves within capMs whether or not the collector
// answers.
import { context, diag, DiagLogLevel, propagation, SpanStatusCode, trace, type Attributes, type DiagLogger, type Tracer } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { GiveUpReason, RestartEvent } from '../../domain/supervision.js';
import { silentLogger, type Logger } from './logger.js';
import { noopTracePort, otelTracePort, setDefaultTracePort, type TracePort } from './trace-port.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface TracingOptions {
  /** service.name of the spans; OTEL_SERVICE_NAME overrides it. */
  readonly serviceName: string;
  /** Where the OTEL_* settings are read; default process.env. */
  readonly env?: Env;
  readonly logger?: Logger;
}

/** A span to record: it ends now and lasts `durationMs` (default 0). */
export interface SpanRecord {
  readonly name: string;
  readonly attributes: Attributes;
  readonly durationMs?: number;
  /** The span's status is ERROR with this description (null or absent: unset). */
  readonly error?: string | null;
}

/** disabled: nothing to flush; flushed: the collector took every span; timedOut: the cap passed first; failed: the export failed. */
export type FlushResult = 'disabled' | 'flushed' | 'timedOut' | 'failed';

export interface Tracing {
  /** Whether spans are exported (an OTLP endpoint is configured). */
  readonly enabled: boolean;
  /** The traces URL spans are sent to, without credentials or query; null when disabled. */
  readonly endpoint: string | null;
  /** The port the actors start their spans through (the no-op one when disabled); also the process's default while tracing runs. */
  readonly port: TracePort;
  /** Records one span; never throws. */
  record(span: SpanRecord): void;
  /** A `supervisor.restart` span covering the backoff waited before the restart. */
  traceRestart(event: RestartEvent): void;
  /** A `supervisor.give_up` span. */
  traceGiveUp(reason: GiveUpReason): void;
  /** Flushes the spans and shuts the SDK down, resolving after at most capMs (a warning is logged when the cap cut it short). Idempotent. */
  shutdown(capMs: number): Promise<FlushResult>;
}

/** What the environment asks for. */
export type TracingConfig =
  | { readonly kind: 'disabled'; readonly why: string }
  | {
      readonly kind: 'otlp';
      /** The full traces URL (…/v1/traces). */
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly serviceName: string;
      /** OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL when set and not http/json (exported as http/json anyway). */
      readonly unsupportedProtocol: string | null;
      /** OTEL_LOG_LEVEL: how much of the SDK's own diagnostics reach the logger; default warn. */
      readonly diagLevel: DiagLogLevel;
    };

const TRACER_NAME = 'btcbot';

// ---------------------------------------------------------------------------------------------
// Configuration (pure)
// ---------------------------------------------------------------------------------------------

function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** OTLP headers, `key=value,key2=value2` with URL-encoded values (the W3C baggage format the spec uses). */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    if (key === '') continue;
    try {
      headers[key] = decodeURIComponent(value);
    } catch {
      headers[key] = value;
    }
  }
  return headers;
}

const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};

/** Reads the OTEL_* settings btcbot honours (docs/telemetry.md). */
export function tracingConfig(env: Env, serviceName: string): TracingConfig {
  if (setting(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { kind: 'disabled', why: 'OTEL_SDK_DISABLED=true' };
  if (setting(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() === 'none') return { kind: 'disabled', why: 'OTEL_TRACES_EXPORTER=none' };
  const specific = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (specific === undefined && base === undefined) return { kind: 'disabled', why: 'no OTEL_EXPORTER_OTLP_ENDPOINT' };
  // The signal-specific endpoint is used as is; the base one gets the signal's path appended.
  const raw = specific ?? `${base!.replace(/\/+$/, '')}/v1/traces`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { kind: 'disabled', why: `${specific === undefined ? 'OTEL_EXPORTER_OTLP_ENDPOINT' : 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'} is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'disabled', why: 'the OTLP endpoint is not http(s)' };
  const protocol = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? setting(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  return {
    kind: 'otlp',
    url: url.href,
    headers: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    serviceName: setting(env, 'OTEL_SERVICE_NAME') ?? serviceName,
    unsupportedProtocol: protocol === undefined || protocol === 'http/json' ? null : protocol,
    diagLevel: DIAG_LEVELS[setting(env, 'OTEL_LOG_LEVEL')?.toUpperCase() ?? 'WARN'] ?? DiagLogLevel.WARN,
  };
}

/** A URL fit for logs: no user, password, query or fragment. */
export function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '[invalid URL]';
  }
}

/** Removes the given secrets and any URL credentials from a text bound for the logs, and caps its length. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/\/\/[^/\s@]*@/g, '//[redacted]@');
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.length > 500 ? `${out.slice(0, 497)}...` : out;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const text = error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
    // An OTLPExporterError carries the collector's answer, which says why: kept (redacted, capped).
    const data = (error as { data?: unknown }).data;
    return typeof data === 'string' && data !== '' ? `${text} (${data})` : text;
  }
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------------

/** The attributes of a restart span. */
export function restartSpan(event: RestartEvent): SpanRecord {
  return {
    name: 'supervisor.restart',
    durationMs: event.delayMs,
    error: event.error,
    attributes: {
      supervisor: event.supervisor,
      child: event.child,
      systemId: event.systemId,
      cause: event.cause,
      restarts: event.restarts,
      delayMs: event.delayMs,
      reason: event.error ?? 'completed',
    },
  };
}

export function giveUpSpan(reason: GiveUpReason): SpanRecord {
  return {
    name: 'supervisor.give_up',
    error: reason.message,
    attributes: {
      supervisor: reason.supervisor,
      ...(reason.child === null ? {} : { child: reason.child }),
      restarts: reason.restarts,
      maxRestarts: reason.intensity.maxRestarts,
      periodMs: reason.intensity.periodMs,
      reason: reason.error ?? 'completed',
    },
  };
}

function recordOn(tracer: Tracer, record: SpanRecord): void {
  try {
    const end = Date.now();
    const durationMs = Number.isFinite(record.durationMs) ? Math.max(0, record.durationMs ?? 0) : 0;
    // A trace of its own: a restart is not part of whatever happened to be active when it was announced.
    const span = tracer.startSpan(record.name, { root: true, startTime: end - durationMs, attributes: record.attributes });
    if (record.error !== undefined && record.error !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
    span.end(end);
  } catch {
    // tracing is best effort: never the cause of a failure
  }
}

function tracingOn(tracer: () => Tracer, endpoint: string | null, shutdown: Tracing['shutdown']): Tracing {
  const record = (span: SpanRecord): void => recordOn(tracer(), span);
  return {
    enabled: endpoint !== null,
    endpoint,
    port: endpoint === null ? noopTracePort : otelTracePort(tracer()),
    record,
    traceRestart: (event) => record(restartSpan(event)),
    traceGiveUp: (reason) => record(giveUpSpan(reason)),
    shutdown,
  };
}

// ---------------------------------------------------------------------------------------------
// Start and shutdown
// ---------------------------------------------------------------------------------------------

/** The SDK's own diagnostics (export failures among them), redacted, into the app's logger. */
function diagLogger(logger: Logger, secrets: readonly string[]): DiagLogger {
  const at =
    (level: 'warn' | 'debug') =>
    (message: string, ...args: unknown[]): void => {
      try {
        const text = [message, ...args.map(describe)].join(' ');
        logger[level]({ component: 'opentelemetry' }, redact(text, secrets));
      } catch {
        // a failing logger has nowhere left to report to
      }
    };
  // The bot runs on without traces: an export failure is a warning, not an error of the bot.
  return { error: at('warn'), warn: at('warn'), info: at('debug'), debug: at('debug'), verbose: at('debug') };
}

/**
 * Starts tracing as the environment says: with an OTLP endpoint, the OpenTelemetry SDK (imported now)
 * with an OTLP/HTTP JSON exporter behind a batch span processor; without, the API's no-op tracer.
 * One per process: the SDK registers the global tracer provider until shutdown.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const logger = options.logger ?? silentLogger;
  const config = tracingConfig(options.env ?? process.env, options.serviceName);
  if (config.kind === 'disabled') {
    logger.debug({ why: config.why }, 'tracing off');
    return tracingOn(() => trace.getTracer(TRACER_NAME), null, async () => 'disabled');
  }

  const secrets = Object.values(config.headers);
  const endpoint = displayUrl(config.url);
  const url = new URL(config.url);
  if (url.password !== '') secrets.push(url.password, decodeURIComponent(url.password));
  if (config.unsupportedProtocol !== null) {
    logger.warn({ protocol: config.unsupportedProtocol }, 'OTLP protocol not supported; traces are sent as http/json');
  }

  let sdk: NodeSDK;
  try {
    const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
    ]);
    const exporter = new OTLPTraceExporter({ url: config.url, headers: { ...config.headers } });
    sdk = new NodeSDK({
      serviceName: config.serviceName,
      spanProcessors: [new BatchSpanProcessor(exporter)],
      // Spans only: without these the SDK would also export metrics and logs over OTLP.
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [],
    });
    // After the SDK (which installs a console logger when OTEL_LOG_LEVEL is set): its diagnostics go
    // through our logger, redacted.
    diag.setLogger(diagLogger(logger, secrets), { logLevel: config.diagLevel, suppressOverrideMessage: true });
    sdk.start();
  } catch (error) {
    logger.warn({ endpoint, error: redact(describe(error), secrets) }, 'tracing could not start; going on without traces');
    return tracingOn(() => trace.getTracer(TRACER_NAME), null, async () => 'disabled');
  }
  logger.info({ endpoint, serviceName: config.serviceName }, 'tracing to OTLP');

  let closing: Promise<FlushResult> | null = null;
  const shutdown = (capMs: number): Promise<FlushResult> => {
    closing ??= (async () => {
      const cap = Number.isFinite(capMs) ? Math.max(0, capMs) : 0;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<FlushResult>((resolve) => {
        timer = setTimeout(() => resolve('timedOut'), cap);
        // The cap never keeps the process alive by itself.
        timer.unref();
      });
      const flushed = sdk.shutdown().then(
        (): FlushResult => 'flushed',
        (error: unknown): FlushResult => {
          logger.warn({ endpoint, error: redact(describe(error), secrets) }, 'telemetry flush failed; unsent spans dropped');
          return 'failed';
        },
      );
      const result = await Promise.race([flushed, timedOut]);
      clearTimeout(timer);
      if (result === 'timedOut') logger.warn({ endpoint, capMs: cap }, 'telemetry flush timed out; unsent spans dropped');
      // Undo the SDK's global registrations (a later startTracing in this process can register
      // again); what the exporter still reports after this is dropped.
      setDefaultTracePort(noopTracePort);
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
      return result;
    })();
    return closing;
  };
  const tracing = tracingOn(() => trace.getTracer(TRACER_NAME), endpoint, shutdown);
  setDefaultTracePort(tracing.port);
  return tracing;
}
