// The simulator's WebSocket: BingX's spot stream endpoint, /market on the simulator's own HTTP
// server (its `upgrade` event, `ws` in noServer mode), serving what ccxt's pro bingx class uses
// for watchTicker, watchOrders and watchMyTrades:
// - /market: {"id", "dataType": "BTC-USDT@ticker"} is acknowledged, then 24hTicker frames follow
//   on every price change (at most one per TICKER_THROTTLE_MS) and every tickerIntervalMs when
//   the price stands still: BingX pushes the spot ticker continuously, and a client may take
//   silence for a dead stream.
// - /market?listenKey=K, K a live key from POST /openApi/user/auth/userDataStream: {"id",
//   "reqType": "sub", "dataType": "spot.executionReport"} is acknowledged, then every own-order
//   event is pushed. An unknown or expired key is refused at the handshake (HTTP 401, the reason
//   in the body): the key is part of the URL, so there is nothing to accept. (A socket accepted
//   and closed at once would also trip ccxt 4.5: its throttled subscribe sends into the closing
//   socket and leaves that rejection unhandled, which ends a Node process.)
// - {"reqType": "unsub"} ends a subscription; any other dataType is answered with BingX's
//   bad-request code (ccxt: BadRequest).
// - Every pingIntervalMs a {"ping", "time"} frame; a connection that leaves MAX_UNANSWERED_PINGS
//   in a row unanswered, or whose listenKey expired, is closed (1008, with the reason).
// Every frame is gzip-compressed (bingx-ws-wire.ts). The dropWs fault cuts every connection
// without a close frame, as a broken network would.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { MarketInfo } from '../port.js';
import type { ListenKeys } from './bingx-sim-listen-keys.js';
import { BingxCode } from './bingx-wire.js';
import {
  EXECUTION_REPORT,
  executionReportFrame,
  gzipFrame,
  pingFrame,
  requestError,
  subscriptionAck,
  tickerDataType,
  tickerFrame,
  type ExecutionReport,
  type TickerFigures,
} from './bingx-ws-wire.js';

/** The stream endpoint's path (wss://open-api-ws.bingx.com/market). */
const MARKET_PATH = '/market';
/** At most one ticker per connection per this many ms on price changes. */
const TICKER_THROTTLE_MS = 100;
/** Pings a connection may leave unanswered in a row before it is closed. */
export const MAX_UNANSWERED_PINGS = 3;
/** WebSocket close code for a policy violation (RFC 6455): expired listenKey, no pongs. */
const POLICY_VIOLATION = 1008;

export interface SimWebSocketOptions {
  readonly market: MarketInfo;
  readonly listenKeys: ListenKeys;
  /** The simulator's clock, ms (frame times, listenKey expiry). */
  readonly now: () => number;
  /** Wall ms between pings. */
  readonly pingIntervalMs: number;
  /** Wall ms between tickers while the price stands still. */
  readonly tickerIntervalMs: number;
  /** The ticker's figures now (undefined before the first price). */
  readonly ticker: () => TickerFigures | undefined;
}

/** One connection as GET /__sim/ws lists it. */
export interface SimConnectionInfo {
  readonly private: boolean;
  readonly subscriptions: readonly string[];
  /** Pongs received so far. */
  readonly pongs: number;
}

export interface SimWebSocket {
  /** The price moved: push tickers (throttled). */
  priceChanged(): void;
  /** Pushes an own-order event to the executionReport subscribers. */
  executionReport(report: ExecutionReport): void;
  /** Cuts every connection every `ms` of wall time, without a close frame (undefined or 0: never). */
  dropEvery(ms: number | undefined): void;
  connections(): SimConnectionInfo[];
  /** Cuts every connection and stops every timer. */
  close(): void;
}

interface Connection {
  readonly socket: WebSocket;
  readonly listenKey: string | undefined;
  readonly subscriptions: Set<string>;
  unansweredPings: number;
  pongs: number;
  /** performance.now() of the last ticker sent (-Infinity before the first). */
  lastTickerAt: number;
  tickerTimer: NodeJS.Timeout | undefined;
  /** performance.now() when tickerTimer fires. */
  tickerDueAt: number;
  readonly pingTimer: NodeJS.Timeout;
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Serves the BingX spot WebSocket on `server`'s upgrades to /market. */
export function attachSimWebSocket(server: Server, options: SimWebSocketOptions): SimWebSocket {
  const { market, listenKeys, now } = options;
  const tickerType = tickerDataType(market);
  const wss = new WebSocketServer({ noServer: true });
  const connections = new Set<Connection>();
  let dropTimer: NodeJS.Timeout | undefined;

  const sendCompressed = (connection: Connection, compressed: Buffer): void => {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(compressed);
  };

  const send = (connection: Connection, frame: unknown): void => sendCompressed(connection, gzipFrame(frame));

  const scheduleTicker = (connection: Connection, delay: number): void => {
    const due = performance.now() + delay;
    if (connection.tickerTimer !== undefined && connection.tickerDueAt <= due) return;
    clearTimeout(connection.tickerTimer);
    connection.tickerDueAt = due;
    connection.tickerTimer = setTimeout(() => pushTicker(connection), delay);
  };

  /** Sends the ticker now, and the next one in tickerIntervalMs unless the price moves first. */
  const pushTicker = (connection: Connection): void => {
    clearTimeout(connection.tickerTimer);
    connection.tickerTimer = undefined;
    const figures = options.ticker();
    if (figures !== undefined) send(connection, tickerFrame(figures, market, now()));
    connection.lastTickerAt = performance.now();
    scheduleTicker(connection, options.tickerIntervalMs);
  };

  const unsubscribe = (connection: Connection, dataType: string): void => {
    connection.subscriptions.delete(dataType);
    if (dataType === tickerType) {
      clearTimeout(connection.tickerTimer);
      connection.tickerTimer = undefined;
    }
  };

  const onMessage = (connection: Connection, text: string): void => {
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not an object');
      message = parsed as Record<string, unknown>;
    } catch {
      send(connection, requestError(undefined, BingxCode.BAD_REQUEST, `not a JSON object: ${text.slice(0, 100)}`, now()));
      return;
    }
    if ('pong' in message) {
      connection.unansweredPings = 0;
      connection.pongs++;
      return;
    }
    const { id, dataType } = message;
    const reqType = message['reqType'] ?? 'sub';
    const refuse = (why: string): void => send(connection, requestError(id, BingxCode.BAD_REQUEST, why, now()));
    if (typeof dataType !== 'string') return refuse('dataType is required');
    if (reqType === 'unsub') {
      unsubscribe(connection, dataType);
      send(connection, subscriptionAck(id, now()));
      return;
    }
    if (reqType !== 'sub') return refuse(`reqType ${String(reqType)} is not sub or unsub`);
    if (dataType === tickerType) {
      connection.subscriptions.add(dataType);
      send(connection, subscriptionAck(id, now()));
      // The current ticker at once, so a new subscriber has a price without waiting for a move.
      pushTicker(connection);
      return;
    }
    if (dataType === EXECUTION_REPORT) {
      if (connection.listenKey === undefined) return refuse(`${EXECUTION_REPORT} needs a private connection: ${MARKET_PATH}?listenKey=K`);
      connection.subscriptions.add(dataType);
      send(connection, subscriptionAck(id, now()));
      return;
    }
    refuse(`dataType ${dataType} is not served by the BingX simulator (it serves ${tickerType} and ${EXECUTION_REPORT})`);
  };

  const ping = (connection: Connection): void => {
    if (connection.listenKey !== undefined && !listenKeys.isLive(connection.listenKey)) {
      connection.socket.close(POLICY_VIOLATION, 'listenKey expired: extend it with PUT /openApi/user/auth/userDataStream');
      return;
    }
    if (connection.unansweredPings >= MAX_UNANSWERED_PINGS) {
      connection.socket.close(POLICY_VIOLATION, `no pong to the last ${MAX_UNANSWERED_PINGS} pings`);
      return;
    }
    connection.unansweredPings++;
    send(connection, pingFrame(randomUUID().replaceAll('-', ''), now()));
  };

  const accept = (socket: WebSocket, listenKey: string | null): void => {
    // An error (a broken frame, a reset) is followed by 'close', which cleans up; without a
    // listener ws would throw it.
    socket.on('error', () => undefined);
    const connection: Connection = {
      socket,
      listenKey: listenKey ?? undefined,
      subscriptions: new Set(),
      unansweredPings: 0,
      pongs: 0,
      lastTickerAt: -Infinity,
      tickerTimer: undefined,
      tickerDueAt: Infinity,
      pingTimer: setInterval(() => ping(connection), options.pingIntervalMs),
    };
    connections.add(connection);
    socket.on('message', (data) => onMessage(connection, textOf(data)));
    socket.on('close', () => {
      clearInterval(connection.pingTimer);
      clearTimeout(connection.tickerTimer);
      connections.delete(connection);
    });
  };

  /** Answers an upgrade request with an HTTP error instead of a WebSocket. */
  const refuseUpgrade = (socket: Duplex, status: string, reason: string): void => {
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\nConnection: close\r\n\r\n${reason}`);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const listenKey = url.searchParams.get('listenKey');
    if (url.pathname !== MARKET_PATH) return refuseUpgrade(socket, '404 Not Found', `no WebSocket at ${url.pathname}: BingX spot streams are at ${MARKET_PATH}`);
    if (listenKey !== null && !listenKeys.isLive(listenKey)) {
      return refuseUpgrade(socket, '401 Unauthorized', 'unknown or expired listenKey: POST /openApi/user/auth/userDataStream for a new one');
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, listenKey));
  };
  server.on('upgrade', onUpgrade);

  const cutAll = (): void => {
    for (const connection of connections) connection.socket.terminate();
  };

  return {
    priceChanged() {
      for (const connection of connections) {
        if (!connection.subscriptions.has(tickerType)) continue;
        const wait = connection.lastTickerAt + TICKER_THROTTLE_MS - performance.now();
        if (wait <= 0) pushTicker(connection);
        else scheduleTicker(connection, wait);
      }
    },
    executionReport(report) {
      const subscribers = [...connections].filter((connection) => connection.subscriptions.has(EXECUTION_REPORT));
      if (subscribers.length === 0) return;
      // One compression for every subscriber.
      const compressed = gzipFrame(executionReportFrame(report, market, now()));
      for (const connection of subscribers) sendCompressed(connection, compressed);
    },
    dropEvery(ms) {
      clearInterval(dropTimer);
      dropTimer = ms !== undefined && ms > 0 ? setInterval(cutAll, ms) : undefined;
    },
    connections: () => [...connections].map((connection) => ({ private: connection.listenKey !== undefined, subscriptions: [...connection.subscriptions], pongs: connection.pongs })),
    close() {
      clearInterval(dropTimer);
      server.off('upgrade', onUpgrade);
      cutAll();
      wss.close();
    },
  };
}
