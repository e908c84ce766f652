// Logging: JSON lines (pino) for the service, so Loki can index them; short text lines for a
// person at a terminal. Both go to stderr: stdout belongs to command output (e.g. --json reports).
//
// Every JSON line carries `app: "btcbot"`, the bindings of its logger (`module`: which part of
// the bot wrote it; `environment`: dev, stage or prod, bound by `btcbot run`) and, when a span is
// active (tracing on: trace-port.ts), its `trace_id` and `span_id`, so Grafana can jump from a
// log line to its trace in Tempo. docs/telemetry.md lists the fields.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The parts of the bot a log line comes from (its `module` field). */
export type LogModule = 'grid' | 'orders' | 'trades' | 'exchange' | 'supervisor' | 'store' | 'http';

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** A logger whose lines also carry `bindings` (a binding given again, by a child of a child, replaces the earlier one). */
  child(bindings: Record<string, unknown>): Logger;
}

/** The logger of one part of the bot: its lines carry `module`. */
export function moduleLogger(logger: Logger, module: LogModule): Logger {
  return logger.child({ module });
}

/** The level a text names, or undefined when it names none. */
export function parseLogLevel(value: string): LogLevel | undefined {
  return (logLevels as readonly string[]).includes(value) ? (value as LogLevel) : undefined;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Bindings a text line leaves out: labels for a log store, not for a person at a terminal. */
const notInText = new Set(['environment', 'app']);

function textLogger(level: LogLevel, write: (line: string) => void, bindings: Record<string, unknown> = {}): Logger {
  const { module, ...rest } = bindings;
  const bound = Object.entries(rest).filter(([key]) => !notInText.has(key));
  const prefix = typeof module === 'string' ? ` [${module}]` : '';
  const at =
    (name: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (rank[name] < rank[level]) return;
      const extra = [...bound, ...Object.entries(fields)]
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      write(`${name}${prefix}: ${message}${extra ? ` (${extra})` : ''}\n`);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => textLogger(level, write, { ...bindings, ...more }),
  };
}

const noTrace: Record<string, unknown> = {};

/** The active span's ids (pino's mixin): none without an active, valid span. */
function traceFields(): Record<string, unknown> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return noTrace;
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return noTrace;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

function pinoLogger(root: pino.Logger, bindings: Record<string, unknown>): Logger {
  // Children are made from the root with every binding merged: pino would repeat a key bound twice.
  const log = Object.keys(bindings).length === 0 ? root : root.child(bindings);
  return {
    debug: (fields, message) => log.debug(fields, message),
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
    error: (fields, message) => log.error(fields, message),
    child: (more) => pinoLogger(root, { ...bindings, ...more }),
  };
}

export interface LoggerOptions {
  readonly format: 'json' | 'text';
  readonly level: LogLevel;
  /** Where the lines go (default: stderr). */
  readonly write?: (line: string) => void;
  /** Fields every line carries (e.g. environment); `app: btcbot` always. */
  readonly bindings?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  if (options.format === 'text') return textLogger(options.level, options.write ?? ((line) => process.stderr.write(line)), options.bindings);
  const root = pino(
    {
      level: options.level,
      base: { app: 'btcbot' },
      mixin: traceFields,
      // The line's own fields win over the trace ids; no span, nothing merged (noTrace is shared).
      mixinMergeStrategy: (fields: object, ids: object) => (ids === noTrace ? fields : Object.assign(ids, fields)),
    },
    options.write ? { write: options.write } : pino.destination(2),
  );
  return pinoLogger(root, options.bindings ?? {});
}

export const silentLogger: Logger = textLogger('silent', () => {});
