// The tracing port the actors record their spans through (docs/telemetry.md, "Spans"). The
// machines stay pure: spans are started where the I/O is (grid-runtime's effects, the grid
// service's launch, the exchange session's connection attempts), never in a statechart.
//
// Off (no OTLP endpoint, the default), the port is `noopTracePort`: `enabled` is false, `start`
// returns one shared no-op span, nothing is allocated or looked up; the hot path (a fill to its
// counter-order) checks `enabled` before it even builds the attributes. On, `otelTracePort`
// records through an @opentelemetry/api tracer; parents are passed explicitly (a span, or null
// for a trace of its own), so the chain's structure never depends on a context manager, while
// `run(fn)` also makes the span the active one for fn (and what fn starts asynchronously, through
// the SDK's AsyncLocalStorage context manager): the log lines written there carry its trace_id
// and span_id (logger.ts).
//
// startTracing (tracing.ts) installs the OTLP-backed port as the process's default when it
// exports spans; an actor given no `tracer` option uses `defaultTracePort()` at its creation.
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Link, type Span, type Tracer } from '@opentelemetry/api';

/** Attribute names of btcbot's spans: stable, documented in docs/telemetry.md. */
export const ATTR = {
  grid: 'btcbot.grid',
  level: 'btcbot.level',
  side: 'btcbot.side',
  clientOrderId: 'btcbot.client_order_id',
  symbol: 'btcbot.symbol',
  orderType: 'btcbot.order_type',
  price: 'btcbot.price',
  amount: 'btcbot.amount',
  tradeId: 'btcbot.trade_id',
  /** A fill: false when the store had it already (a replayed stream, a catch-up), nothing follows. */
  fillNew: 'btcbot.fill.new',
  /** A fill: stream (the own-order stream or the session's REST catch-up) or recovery (a grid's start-up catch-up). */
  fillSource: 'btcbot.fill.source',
  /** order.place: why the order is placed: start, counter (a fill's counter-order), restart (a recovery starts it over from its intent), other. */
  reason: 'btcbot.reason',
  /** How a span's subject ended: an order's state when its placement span ends, a recovery's kind... */
  outcome: 'btcbot.outcome',
  /** store.record_intent: new, or known (stored by an earlier run: the order is looked up, not sent). */
  intent: 'btcbot.intent',
  exchange: 'btcbot.exchange',
  attempt: 'btcbot.attempt',
  recoveryKind: 'btcbot.recovery.kind',
} as const;

export interface TraceSpan {
  /** False for the no-op span, and once the span has ended. */
  isRecording(): boolean;
  setAttributes(attributes: Attributes): void;
  /** Ends the span (only the first call counts); with an error, its status is ERROR with the error's message. */
  end(error?: unknown): void;
  /** Runs fn with this span active: log lines written in it (and in what it starts) carry its ids. */
  run<T>(fn: () => T): T;
}

export interface TracePort {
  /** Whether spans are recorded: false makes every call a no-op (check it before building attributes on a hot path). */
  readonly enabled: boolean;
  /**
   * Starts a span. parent: a span (this one is its child), null (a trace of its own), undefined
   * (the child of the active span, if any). links: spans this one relates to without being their child.
   */
  start(name: string, attributes?: Attributes, parent?: TraceSpan | null, links?: readonly TraceSpan[]): TraceSpan;
}

export const noopSpan: TraceSpan = {
  isRecording: () => false,
  setAttributes: () => undefined,
  end: () => undefined,
  run: (fn) => fn(),
};

export const noopTracePort: TracePort = { enabled: false, start: () => noopSpan };

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

class OtelSpan implements TraceSpan {
  constructor(readonly span: Span) {}

  isRecording(): boolean {
    return this.span.isRecording();
  }

  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }

  end(error?: unknown): void {
    if (!this.span.isRecording()) return;
    if (error !== undefined) {
      const message = messageOf(error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message });
      if (error instanceof Error) this.span.recordException(error);
    }
    this.span.end();
  }

  run<T>(fn: () => T): T {
    return context.with(trace.setSpan(context.active(), this.span), fn);
  }
}

/** The port over an OpenTelemetry tracer (the SDK's, or a test's provider's). Never throws. */
export function otelTracePort(tracer: Tracer): TracePort {
  return {
    enabled: true,
    start(name, attributes, parent, links) {
      try {
        const otelLinks: Link[] | undefined = links?.flatMap((link) => (link instanceof OtelSpan ? [{ context: link.span.spanContext() }] : []));
        const options = { ...(attributes === undefined ? {} : { attributes }), ...(otelLinks === undefined || otelLinks.length === 0 ? {} : { links: otelLinks }) };
        if (parent === null) return new OtelSpan(tracer.startSpan(name, { ...options, root: true }));
        const within = parent instanceof OtelSpan ? trace.setSpan(ROOT_CONTEXT, parent.span) : context.active();
        return new OtelSpan(tracer.startSpan(name, options, within));
      } catch {
        return noopSpan; // tracing is best effort: never the cause of a failure
      }
    },
  };
}

/**
 * Runs `work` in a child span of `parent` named `name` (its `run`: active for the log lines), ending
 * it when the work settles (with the error if it throws). Disabled, it just runs the work.
 */
export async function inSpan<T>(
  tracer: TracePort,
  name: string,
  attributes: Attributes | undefined,
  parent: TraceSpan | null | undefined,
  work: (span: TraceSpan) => Promise<T>,
): Promise<T> {
  if (!tracer.enabled) return work(noopSpan);
  const span = tracer.start(name, attributes, parent);
  try {
    const result = await span.run(() => work(span));
    span.end();
    return result;
  } catch (error) {
    span.end(error);
    throw error;
  }
}

let processPort: TracePort = noopTracePort;

/** The process's tracing port: the OTLP one once startTracing exports spans, else the no-op one. */
export function defaultTracePort(): TracePort {
  return processPort;
}

/** Sets the process's tracing port (startTracing does; a test or a bench with an in-memory exporter too). */
export function setDefaultTracePort(port: TracePort): void {
  processPort = port;
}
