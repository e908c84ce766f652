// A loopback WebSocket server that plays one of ccxt's recorded WebSocket fixture cases
// (../shared/fixtures/ccxt/ws/<exchange>.json, read in place) to an unmodified ccxt pro client
// whose URLs are rebased onto it (CcxtExchange's exchangeUrl).
//
// The case's `messages` are the server's frames in recorded order. A frame with a top-level `id`
// answers a client request (Binance's `{ id, result }` / `{ id, status: 200, result }`, BingX's
// `{ code: 0, id, msg: 'SUCCESS' }`): it is sent as soon as the client sends a request with an
// id, carrying that request's id (ccxt matches the answer to its request by id; BingX's ids are
// fresh uuids). Every other frame is a stream update and is sent only when the test calls push():
// the test decides when ccxt is ready for it (an update that reaches ccxt before its watch exists
// is cached but resolves nothing). BingX sends every frame gzip-compressed in a binary frame, as
// the real exchange does (ccxt's bingx gunzips binary frames, options.ws.gunzip).
//
// The same port answers plain HTTP with 404 and records the request: a watch that needs a REST
// call on the way shows up in `httpRequests`.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { sharedDir } from '../shared.js';

export type Frame = Record<string, unknown>;

/** One case of ccxt's ws fixtures (`methods.<method>[]` of ws/<exchange>.json). */
export interface WsFixtureCase {
  readonly description: string;
  readonly input: readonly unknown[];
  readonly url: string;
  readonly messages: readonly Frame[];
  readonly sentMessages: readonly Frame[];
  readonly sentSkipKeys?: readonly string[];
  readonly parsedResponses?: readonly unknown[];
}

interface WsFixtureFile {
  readonly methods: Record<string, WsFixtureCase[] | undefined>;
}

const files = new Map<string, WsFixtureFile>();

/** The recorded case `description` of `exchange`'s ccxt `method` (a deep copy). */
export function wsFixtureCase(exchange: string, method: string, description: string): WsFixtureCase {
  if (!files.has(exchange)) {
    files.set(exchange, JSON.parse(readFileSync(path.join(sharedDir, 'fixtures/ccxt/ws', `${exchange}.json`), 'utf8')) as WsFixtureFile);
  }
  const found = files.get(exchange)!.methods[method]?.find((entry) => entry.description === description);
  if (!found) throw new Error(`no ws fixture ${exchange}.${method} "${description}"`);
  return structuredClone(found);
}

/** A frame that answers a client request (it carries the request's id). */
export function isReply(frame: Frame): boolean {
  return 'id' in frame;
}

/** `value` without the given keys at any depth (a fixture's sentSkipKeys: timestamp, signature, uuid ids). */
export function withoutKeys(value: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutKeys(item, keys));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)).map(([key, item]) => [key, withoutKeys(item, keys)]));
  }
  return value;
}

export interface WsFixtureServerOptions {
  /** Send every frame gzip-compressed in a binary frame (BingX). */
  readonly gzip?: boolean;
}

export class WsFixtureServer {
  /** The http origin to pass as exchangeUrl (ccxt's ws URLs become ws:// on the same host). */
  readonly origin: string;
  /** The path ccxt must connect to: the fixture URL's path. */
  readonly path: string;
  /** Every frame the client sent, parsed, in order. */
  readonly received: Frame[] = [];
  /** Paths of WebSocket upgrades refused because they were not the fixture's. */
  readonly refused: string[] = [];
  /** Plain HTTP requests (method and path): REST calls a watch made on the way. */
  readonly httpRequests: string[] = [];
  /** WebSocket connections accepted. */
  accepted = 0;

  private readonly sockets = new Set<WebSocket>();
  private socket: WebSocket | undefined;
  private next = 0;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly fixture: WsFixtureCase,
    private readonly gzip: boolean,
  ) {
    this.origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    this.path = new URL(fixture.url).pathname;
    http.on('request', (request: IncomingMessage, response) => {
      this.httpRequests.push(`${request.method ?? 'GET'} ${request.url ?? ''}`);
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":-1,"msg":"the ws fixture server answers no REST"}');
    });
    http.on('upgrade', (request: IncomingMessage, socket, head) => {
      const pathname = new URL(request.url ?? '/', this.origin).pathname;
      if (pathname !== this.path) {
        this.refused.push(pathname);
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
  }

  static async start(fixture: WsFixtureCase, options: WsFixtureServerOptions = {}): Promise<WsFixtureServer> {
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    return new WsFixtureServer(http, wss, fixture, options.gzip === true);
  }

  /** The recorded frames not sent yet. */
  get remaining(): readonly Frame[] {
    return this.fixture.messages.slice(this.next);
  }

  /**
   * Sends the next recorded stream update (resolves once written). The recorded answers before it
   * go out first: it waits (up to `timeoutMs`) for the client's requests they answer.
   */
  async push(timeoutMs = 2000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.fixture.messages[this.next] !== undefined && isReply(this.fixture.messages[this.next]!)) {
      if (Date.now() > deadline) {
        throw new Error(`"${this.fixture.description}": frame ${this.next} answers a request the client did not send within ${timeoutMs} ms: ${JSON.stringify(this.fixture.messages[this.next])}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const frame = this.fixture.messages[this.next];
    if (frame === undefined) throw new Error(`"${this.fixture.description}": every recorded frame was sent`);
    if (this.socket === undefined) throw new Error(`"${this.fixture.description}": no client connected`);
    this.next += 1;
    await this.send(this.socket, frame);
    return frame;
  }

  /** Waits until the client has sent `count` frames. */
  async waitForReceived(count: number, timeoutMs = 2000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`"${this.fixture.description}": the client sent ${this.received.length} of ${count} frames within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return this.received.slice(0, count);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.accepted += 1;
    this.sockets.add(ws);
    this.socket = ws;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? '' : data.toString();
      let request: Frame;
      try {
        request = JSON.parse(text) as Frame;
      } catch {
        request = { unparsed: isBinary ? '<binary>' : text };
      }
      this.received.push(request);
      const reply = this.fixture.messages[this.next];
      if (typeof request === 'object' && request !== null && 'id' in request && reply !== undefined && isReply(reply)) {
        this.next += 1;
        void this.send(ws, { ...reply, id: request['id'] });
      }
    });
  }

  private send(ws: WebSocket, frame: Frame): Promise<void> {
    const text = JSON.stringify(frame);
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => (error ? reject(error) : resolve());
      if (this.gzip) ws.send(gzipSync(text), { binary: true }, done);
      else ws.send(text, { binary: false }, done);
    });
  }
}
