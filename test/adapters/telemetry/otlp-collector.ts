// A tiny OTLP/HTTP collector for tests: records every POST /v1/traces (headers and JSON body) and
// answers as told: 200 (the default), an error status, or never.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface OtlpSpan {
  readonly name: string;
  readonly traceId?: string;
  readonly spanId?: string;
  readonly parentSpanId?: string;
  readonly links?: readonly { traceId: string; spanId: string }[];
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: readonly { key: string; value: Record<string, unknown> }[];
  readonly status?: { code?: number; message?: string };
}

export async function startCollector(answer: { status: number; body?: string } | 'never' = { status: 200, body: '{}' }) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (protobuf): kept as text
      }
      received.push({ path: req.url ?? '', headers: req.headers, body });
      if (answer === 'never') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Every span received, resource attributes alongside. */
    spans(): { span: OtlpSpan; resource: Record<string, unknown> }[] {
      type Body = { resourceSpans?: { resource?: { attributes?: OtlpSpan['attributes'] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
      return received.flatMap(({ body }) =>
        ((body as Body).resourceSpans ?? []).flatMap((rs) => {
          const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
          return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((span) => ({ span, resource })));
        }),
      );
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An OTLP JSON attribute list as a plain object (an int64, which the JSON encoding may send as a string, as a number). */
export function attributesOf(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, 'intValue' in a.value ? Number(a.value.intValue) : Object.values(a.value)[0]]));
}
