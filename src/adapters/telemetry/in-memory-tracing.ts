// Spans kept in memory (the SDK's InMemorySpanExporter behind a simple span processor): for tests
// and benchmarks that look at, or pay for, the spans without a collector. Registers the provider
// and an AsyncLocalStorage context manager globally, as startTracing's SDK does, and makes its
// port the process's default; shutdown() undoes all three. One at a time per process.
//
// It imports the OpenTelemetry SDK (~0.5 s): import this module only where spans are kept.
import { context, propagation, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { noopTracePort, otelTracePort, setDefaultTracePort, type TracePort } from './trace-port.js';

export type FinishedSpan = ReturnType<InstanceType<typeof node.InMemorySpanExporter>['getFinishedSpans']>[number];

export interface InMemoryTracing {
  readonly port: TracePort;
  /** The spans ended so far, in the order they ended. */
  spans(): FinishedSpan[];
  /** Forgets the spans ended so far. */
  reset(): void;
  shutdown(): Promise<void>;
}

export function startInMemoryTracing(): InMemoryTracing {
  const exporter = new node.InMemorySpanExporter();
  const provider = new node.NodeTracerProvider({ spanProcessors: [new node.SimpleSpanProcessor(exporter)] });
  provider.register();
  const port = otelTracePort(provider.getTracer('btcbot'));
  setDefaultTracePort(port);
  return {
    port,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async shutdown() {
      setDefaultTracePort(noopTracePort);
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
