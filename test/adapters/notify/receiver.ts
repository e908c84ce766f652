// Test doubles for the notification tests: a local HTTP receiver (node:http on 127.0.0.1, port 0)
// that records what the targets send and answers as each test scripts it (including never), and
// a logger that records its lines so tests can check what was logged and that no secret was.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../src/adapters/telemetry/logger.js';
import { until } from '../../support/until.js';

export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** performance.now() when the request was complete. */
  readonly at: number;
}

/** How to answer: a status with optional JSON and headers, or 'hang' (never answer). */
export type Reply = { readonly status: number; readonly json?: unknown; readonly headers?: Record<string, string> } | 'hang';

export interface Receiver {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Decides each answer; 200 {"ok":true} unless a test sets it. */
  reply: (request: ReceivedRequest, index: number) => Reply;
  /** Unanswered requests whose sender went away (gave up or was cut). */
  abandoned(): number;
  /** Waits until `count` requests have come (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const hanging: ServerResponse[] = [];
  let abandoned = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const entry: ReceivedRequest = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: text ? JSON.parse(text) : undefined, at: performance.now() };
      received.push(entry);
      const reply = receiver.reply(entry, received.length - 1);
      if (reply === 'hang') {
        hanging.push(response);
        response.on('close', () => abandoned++);
        return;
      }
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(JSON.stringify(reply.json ?? { ok: reply.status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    received,
    reply: () => ({ status: 200 }),
    abandoned: () => abandoned,
    waitFor: (count, timeoutMs = 2_000) => until(() => received.length >= count, `${count} requests at the receiver (got ${received.length})`, timeoutMs, 5),
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** A port nothing listens on: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function recordingLogger(): Logger & { readonly lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  const logger = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), text: () => JSON.stringify(lines), child: () => logger };
  return logger;
}
