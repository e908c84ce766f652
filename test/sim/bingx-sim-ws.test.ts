// The BingX simulator's WebSocket through an unmodified ccxt pro bingx (its URLs rebased onto the
// simulator) and through a raw `ws` client: tickers, own orders and fills, gzip frames, pings,
// listen keys, and the dropWs fault. Intervals are shortened by the simulator's options.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import ccxt from 'ccxt';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { WebSocket } from 'ws';
import { rebaseApiUrls } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulator, type BingxSimulatorOptions } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { MAX_UNANSWERED_PINGS, type SimConnectionInfo } from '../../src/adapters/exchange/sim/bingx-sim-ws.js';
import { wireOrderId, wireTradeId } from '../../src/adapters/exchange/sim/bingx-wire.js';
import type { Fill } from '../../src/domain/trading.js';
import { hasShared, sharedDir, sharedSkipReason } from '../shared.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const fees = { maker: 0.001, taker: 0.002 };
/** Per test: a hung watch fails the test quickly rather than at vitest's five minutes. */
const TIMEOUT = 10_000;

type ProBingx = InstanceType<typeof ccxt.pro.bingx>;
type Frame = Record<string, unknown>;

const sims: BingxSimulator[] = [];
const exchanges: ProBingx[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(exchanges.splice(0).map((exchange) => exchange.close()));
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
});

async function startSim(extra: Partial<BingxSimulatorOptions> = {}): Promise<BingxSimulator> {
  const sim = await startBingxSimulator({ port: 0, market, fees, balance: { base: 1, quote: 10_000 }, price: 50_000, pingIntervalMs: 100, tickerIntervalMs: 100, ...extra });
  sims.push(sim);
  return sim;
}

/**
 * An unmodified ccxt pro bingx whose REST and WebSocket URLs point at the simulator. ccxt opens a
 * plain ws:// URL only with an HTTP agent it loads on request (otherwise NotSupported). Its
 * reconnect backoff (1 s, doubling per redial of a URL within 30 s) is cut to 50 ms for speed.
 */
async function proBingx(sim: BingxSimulator): Promise<ProBingx> {
  const exchange = new ccxt.pro.bingx({ apiKey: 'sim-key', secret: 'sim-secret' });
  exchange.urls['api'] = rebaseApiUrls(exchange.urls['api'], sim.url) as typeof exchange.urls.api;
  exchange.options['ws'] = { ...exchange.options['ws'], backoff: { base: 50 } };
  await exchange.loadHttpProxyAgent();
  exchanges.push(exchange);
  return exchange;
}

async function simConnections(sim: BingxSimulator): Promise<SimConnectionInfo[]> {
  return ((await (await fetch(`${sim.url}/__sim/ws`)).json()) as { connections: SimConnectionInfo[] }).connections;
}

/** Waits until the simulator has a connection subscribed to `dataType`. */
async function subscribed(sim: BingxSimulator, dataType: string): Promise<void> {
  await vi.waitFor(async () => expect((await simConnections(sim)).some((connection) => connection.subscriptions.includes(dataType))).toBe(true), { timeout: 3000, interval: 20 });
}

/** Calls `watch` until its answer satisfies `done`. */
async function watchUntil<T>(watch: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await watch();
    if (done(value)) return value;
  }
}

/** A signed-looking private REST call (the simulator accepts any key and signature). */
async function privateRest(sim: BingxSimulator, method: string, pathname: string, params: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const query = new URLSearchParams({ ...params, timestamp: String(Date.now()), signature: 'x' });
  const response = await fetch(`${sim.url}${pathname}?${query}`, { method, headers: { 'X-BX-APIKEY': 'k' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function newListenKey(sim: BingxSimulator): Promise<string> {
  const { body } = await privateRest(sim, 'POST', '/openApi/user/auth/userDataStream');
  expect(Object.keys(body)).toEqual(['listenKey']);
  return body['listenKey'] as string;
}

interface RawClient {
  readonly socket: WebSocket;
  /** Every frame received, decoded, oldest first. */
  readonly frames: Frame[];
  /** Whether each frame came as a binary message. */
  readonly binary: boolean[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

/** A plain `ws` client that gunzips what it receives and answers pings (unless told not to). */
async function rawClient(sim: BingxSimulator, query = '', answerPings = true): Promise<RawClient> {
  const socket = new WebSocket(`ws://127.0.0.1:${sim.port}/market${query}`);
  sockets.push(socket);
  const frames: Frame[] = [];
  const binary: boolean[] = [];
  socket.on('message', (data, isBinary) => {
    binary.push(isBinary);
    const frame = JSON.parse(gunzipSync(data as Buffer).toString('utf8')) as Frame;
    frames.push(frame);
    if (answerPings && 'ping' in frame) socket.send(JSON.stringify({ pong: frame['ping'], time: frame['time'] }));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, frames, binary, closed, send: (message) => socket.send(JSON.stringify(message)) };
}

/** The HTTP answer to an upgrade the simulator refuses. */
async function refusedUpgrade(sim: BingxSimulator, pathAndQuery: string): Promise<{ status: number; body: string }> {
  const socket = new WebSocket(`ws://127.0.0.1:${sim.port}${pathAndQuery}`);
  sockets.push(socket);
  // Ending a refused handshake (terminate in afterEach) is an error event: expected here.
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('open', () => reject(new Error(`${pathAndQuery} was upgraded`)));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
  });
}

async function frameWhere(client: RawClient, predicate: (frame: Frame) => boolean): Promise<Frame> {
  return vi.waitFor(
    () => {
      const found = client.frames.find(predicate);
      if (found === undefined) throw new Error(`no such frame yet among ${JSON.stringify(client.frames).slice(0, 500)}`);
      return found;
    },
    { timeout: 3000, interval: 10 },
  );
}

const dataOf = (frame: Frame): Frame => frame['data'] as Frame;

describe('ticker stream', () => {
  test(
    'watchTicker follows setPrice and step; o/h/l over the session; bid at last, ask a step above',
    async () => {
      const sim = await startSim();
      const exchange = await proBingx(sim);
      const first = await exchange.watchTicker('BTC/USDT');
      expect(first).toMatchObject({ symbol: 'BTC/USDT', last: 50_000, open: 50_000, high: 50_000, low: 50_000, bid: 50_000, ask: 50_000.01 });

      sim.setPrice(51_000);
      const up = await watchUntil(() => exchange.watchTicker('BTC/USDT'), (ticker) => ticker.last === 51_000);
      expect(up).toMatchObject({ high: 51_000, low: 50_000, change: 1000 });
      expect(up.info['P']).toBe('2.00%');

      sim.step(49_000);
      const down = await watchUntil(() => exchange.watchTicker('BTC/USDT'), (ticker) => ticker.last === 49_000);
      expect(down).toMatchObject({ open: 50_000, high: 51_000, low: 49_000, close: 49_000 });
      expect(down.timestamp).toBeGreaterThan(first.timestamp!);
    },
    TIMEOUT,
  );

  test(
    'a price standing still is pushed every tickerIntervalMs',
    async () => {
      const sim = await startSim({ tickerIntervalMs: 150 });
      const client = await rawClient(sim);
      client.send({ id: 't1', dataType: 'BTC-USDT@ticker' });
      await frameWhere(client, (frame) => frame['dataType'] === 'BTC-USDT@ticker');
      await new Promise((resolve) => setTimeout(resolve, 700));
      // One at subscription, then one per 150 ms.
      const tickers = client.frames.filter((frame) => frame['dataType'] === 'BTC-USDT@ticker');
      expect(tickers.length).toBeGreaterThanOrEqual(4);
      expect(tickers.length).toBeLessThanOrEqual(6);
      expect(tickers.every((frame) => dataOf(frame)['c'] === 50_000)).toBe(true);
    },
    TIMEOUT,
  );

  test(
    'price moves are pushed at once, then at most one per 100 ms',
    async () => {
      const sim = await startSim({ tickerIntervalMs: 60_000 });
      const client = await rawClient(sim);
      client.send({ id: 't1', dataType: 'BTC-USDT@ticker' });
      await frameWhere(client, (frame) => frame['dataType'] === 'BTC-USDT@ticker');
      await new Promise((resolve) => setTimeout(resolve, 150));
      const before = client.frames.length;
      for (let i = 1; i <= 50; i++) sim.setPrice(50_000 + i);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const pushed = client.frames.slice(before).filter((frame) => frame['dataType'] === 'BTC-USDT@ticker');
      expect(pushed.map((frame) => dataOf(frame)['c'])).toEqual([50_001, 50_050]);
    },
    TIMEOUT,
  );

  test(
    'unsub ends the pushes; an unserved dataType is a BadRequest frame (ccxt: BadRequest)',
    async () => {
      const sim = await startSim();
      const client = await rawClient(sim);
      client.send({ id: 'sub-1', dataType: 'BTC-USDT@ticker' });
      await frameWhere(client, (frame) => frame['dataType'] === 'BTC-USDT@ticker');
      client.send({ id: 'unsub-1', reqType: 'unsub', dataType: 'BTC-USDT@ticker' });
      expect(await frameWhere(client, (frame) => frame['id'] === 'unsub-1')).toMatchObject({ code: 0, msg: 'SUCCESS' });
      const count = client.frames.filter((frame) => frame['dataType'] === 'BTC-USDT@ticker').length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(client.frames.filter((frame) => frame['dataType'] === 'BTC-USDT@ticker')).toHaveLength(count);

      client.send({ id: 'depth-1', dataType: 'BTC-USDT@depth100' });
      const refused = await frameWhere(client, (frame) => frame['id'] === 'depth-1');
      expect(refused).toMatchObject({ code: 100400, msg: expect.stringContaining('BTC-USDT@depth100') });
      client.send({ id: 'private-1', reqType: 'sub', dataType: 'spot.executionReport' });
      expect(await frameWhere(client, (frame) => frame['id'] === 'private-1')).toMatchObject({ code: 100400, msg: expect.stringContaining('listenKey') });

      // ccxt's spot klines (BTC-USDT@kline_1min) are not served: the watch fails at once.
      await expect((await proBingx(sim)).watchOHLCV('BTC/USDT', '1m')).rejects.toBeInstanceOf(ccxt.BadRequest);
    },
    TIMEOUT,
  );
});

describe.skipIf(!hasShared)(`ticker frames have the recorded spot shape${hasShared ? '' : ` (skipped: ${sharedSkipReason})`}`, () => {
  const recorded = (): Frame[] => {
    const fixture = JSON.parse(readFileSync(path.join(sharedDir, 'fixtures/ccxt/ws/bingx.json'), 'utf8')) as { methods: { watchTicker: Array<{ description: string; messages: Frame[] }> } };
    return fixture.methods.watchTicker.find((entry) => entry.description === 'spot ticker')!.messages;
  };
  /** Key -> JSON type, in the frame's key order. */
  const shape = (value: Frame): Array<[string, string]> => Object.entries(value).map(([key, field]) => [key, typeof field]);

  test(
    'the ack, the frame envelope and the ticker data: the same keys, order and JSON types',
    async () => {
      const [ack, tickerFrame] = recorded();
      const sim = await startSim();
      const client = await rawClient(sim);
      client.send({ id: 'shape-1', dataType: 'BTC-USDT@ticker' });
      const ours = await frameWhere(client, (frame) => frame['dataType'] === 'BTC-USDT@ticker');
      expect(shape(client.frames.find((frame) => frame['id'] === 'shape-1')!)).toEqual(shape(ack!));
      expect(shape(ours)).toEqual(shape(tickerFrame!));
      expect(shape(dataOf(ours))).toEqual(shape(dataOf(tickerFrame!)));

      const exchange = await proBingx(sim);
      const ticker = await exchange.watchTicker('BTC/USDT');
      expect(shape(ticker.info as Frame)).toEqual(shape(dataOf(tickerFrame!)));
    },
    TIMEOUT,
  );
});

describe('frames, pings and listen keys', () => {
  test(
    'every frame is gzip-compressed binary; pings come every pingIntervalMs with an id and a time',
    async () => {
      const sim = await startSim({ pingIntervalMs: 50 });
      const client = await rawClient(sim);
      client.send({ id: 'g-1', dataType: 'BTC-USDT@ticker' });
      const ping = await frameWhere(client, (frame) => 'ping' in frame);
      expect(ping).toEqual({ ping: expect.stringMatching(/^[0-9a-f]{32}$/), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/) });
      expect(client.binary.every((isBinary) => isBinary)).toBe(true);
      expect(client.frames.length).toBeGreaterThanOrEqual(3);
    },
    TIMEOUT,
  );

  test(
    `a client that answers no ping is closed after ${MAX_UNANSWERED_PINGS} pings; ccxt answers them and stays`,
    async () => {
      const sim = await startSim({ pingIntervalMs: 50 });
      const silent = await rawClient(sim, '', false);
      const exchange = await proBingx(sim);
      await exchange.watchTicker('BTC/USDT');
      expect(await silent.closed).toEqual({ code: 1008, reason: `no pong to the last ${MAX_UNANSWERED_PINGS} pings` });
      expect(silent.frames.filter((frame) => 'ping' in frame)).toHaveLength(MAX_UNANSWERED_PINGS);

      await vi.waitFor(async () => expect((await simConnections(sim))[0]?.pongs).toBeGreaterThanOrEqual(MAX_UNANSWERED_PINGS + 2), { timeout: 3000, interval: 20 });
      expect(await simConnections(sim)).toEqual([{ private: false, subscriptions: ['BTC-USDT@ticker'], pongs: expect.any(Number) }]);
    },
    TIMEOUT,
  );

  test(
    'listen keys: created and extended by REST (private), unknown ones refused at connect',
    async () => {
      const sim = await startSim();
      const keyless = await fetch(`${sim.url}/openApi/user/auth/userDataStream?timestamp=${Date.now()}&signature=x`, { method: 'POST' });
      expect(await keyless.json()).toMatchObject({ code: '100412' });

      const listenKey = await newListenKey(sim);
      expect(listenKey).toMatch(/^[0-9a-f]{64}$/);
      expect(await privateRest(sim, 'PUT', '/openApi/user/auth/userDataStream', { listenKey })).toEqual({ status: 200, body: {} });
      const unknownPut = await privateRest(sim, 'PUT', '/openApi/user/auth/userDataStream', { listenKey: 'nope' });
      expect(unknownPut.body).toMatchObject({ code: '100400', msg: expect.stringContaining('listenKey nope does not exist') });

      expect(await refusedUpgrade(sim, '/market?listenKey=nope')).toEqual({ status: 401, body: expect.stringContaining('unknown or expired listenKey') });
      const member = await rawClient(sim, `?listenKey=${listenKey}`);
      member.send({ id: 'p-1', reqType: 'sub', dataType: 'spot.executionReport' });
      expect(await frameWhere(member, (frame) => frame['id'] === 'p-1')).toMatchObject({ code: 0, msg: 'SUCCESS' });
      expect(await simConnections(sim)).toEqual([{ private: true, subscriptions: ['spot.executionReport'], pongs: 0 }]);
    },
    TIMEOUT,
  );

  test(
    'a listen key expires 60 minutes (simulator clock) after its last extension: its socket is closed',
    async () => {
      let clock = Date.UTC(2025, 0, 1);
      const sim = await startSim({ now: () => clock, pingIntervalMs: 50 });
      const listenKey = await newListenKey(sim);
      const client = await rawClient(sim, `?listenKey=${listenKey}`);
      clock += 59 * 60_000;
      expect((await privateRest(sim, 'PUT', '/openApi/user/auth/userDataStream', { listenKey })).body).toEqual({});
      clock += 59 * 60_000;
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(client.socket.readyState).toBe(WebSocket.OPEN);
      clock += 2 * 60_000;
      expect(await client.closed).toEqual({ code: 1008, reason: expect.stringContaining('listenKey expired') });
      expect((await privateRest(sim, 'PUT', '/openApi/user/auth/userDataStream', { listenKey })).body).toMatchObject({ code: '100400' });
      expect(await refusedUpgrade(sim, `/market?listenKey=${listenKey}`)).toMatchObject({ status: 401 });
    },
    TIMEOUT,
  );

  test('other paths are not upgraded', async () => {
    const sim = await startSim();
    expect(await refusedUpgrade(sim, '/swap-market')).toEqual({ status: 404, body: 'no WebSocket at /swap-market: BingX spot streams are at /market' });
  });
});

describe('own orders and fills', () => {
  /** The fills the simulator made, as /__sim/fills lists them. */
  async function simFills(sim: BingxSimulator): Promise<Fill[]> {
    return (await (await fetch(`${sim.url}/__sim/fills`)).json()) as Fill[];
  }

  test(
    'watchOrders sees NEW, the fill and the cancel; watchMyTrades the fill, as /__sim/fills has it',
    async () => {
      const sim = await startSim();
      const exchange = await proBingx(sim);
      await exchange.loadMarkets();
      const firstOrders = exchange.watchOrders('BTC/USDT');
      await subscribed(sim, 'spot.executionReport');

      const created = await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 49_000, { clientOrderId: 'ws-b1' });
      const [accepted] = await firstOrders;
      expect(accepted).toMatchObject({ id: created.id, clientOrderId: 'ws-b1', status: 'open', filled: 0, amount: 0.01, price: 49_000, side: 'buy', type: 'limit' });
      expect(accepted!.info).toMatchObject({ x: 'NEW', X: 'NEW', i: created.id, c: 'ws-b1', l: 0, z: 0, t: 0 });

      const trades = exchange.watchMyTrades('BTC/USDT');
      const orders = exchange.watchOrders('BTC/USDT');
      sim.step(48_900);
      const [trade] = await trades;
      const [filled] = await orders;
      const [fill] = await simFills(sim);
      expect(trade).toMatchObject({ id: wireTradeId(fill!.tradeId), order: created.id, side: 'buy', takerOrMaker: 'maker', price: 49_000, amount: 0.01 });
      expect(trade!.fee).toMatchObject({ currency: 'USDT' });
      expect(trade!.fee!.cost).toBeCloseTo(fill!.fee, 10);
      expect(trade!.info).toMatchObject({ x: 'TRADE', X: 'FILLED', c: 'ws-b1', i: wireOrderId(fill!.orderId), l: fill!.amount, L: fill!.price, t: Number(wireTradeId(fill!.tradeId)), T: fill!.timestamp, m: true, N: 'USDT' });
      expect(trade!.info['n']).toBeCloseTo(-fill!.fee, 10);
      expect(filled).toMatchObject({ id: created.id, clientOrderId: 'ws-b1', status: 'closed', filled: 0.01 });
      expect(filled!.info).toMatchObject({ z: 0.01, Z: 490, Y: 490 });

      const resting = await exchange.createOrder('BTC/USDT', 'limit', 'sell', 0.02, 52_000, { clientOrderId: 'ws-s1' });
      await vi.waitFor(() => expect(exchange.orders?.find((order) => order.clientOrderId === 'ws-s1')?.status).toBe('open'), { timeout: 3000, interval: 10 });
      const canceledWatch = exchange.watchOrders('BTC/USDT');
      await exchange.cancelOrder(resting.id!, 'BTC/USDT');
      expect((await canceledWatch).at(-1)).toMatchObject({ id: resting.id, clientOrderId: 'ws-s1', status: 'canceled', filled: 0 });
    },
    TIMEOUT,
  );

  test(
    'the executionReport frame: BingX documented fields, q/p the order, l/L/n/t the fill, numbers but the order id',
    async () => {
      const sim = await startSim();
      const client = await rawClient(sim, `?listenKey=${await newListenKey(sim)}`);
      client.send({ id: 'er-1', reqType: 'sub', dataType: 'spot.executionReport' });
      await frameWhere(client, (frame) => frame['id'] === 'er-1');
      const exchange = await proBingx(sim);
      await exchange.createOrder('BTC/USDT', 'market', 'sell', 0.001, undefined, { clientOrderId: 'mkt-1' });
      const frame = await frameWhere(client, (candidate) => candidate['dataType'] === 'spot.executionReport');
      expect(Object.keys(frame)).toEqual(['code', 'dataType', 'data']);
      const data = dataOf(frame);
      expect(Object.keys(data).sort()).toEqual(['E', 'L', 'N', 'O', 'Q', 'S', 'T', 'X', 'Y', 'Z', 'c', 'e', 'i', 'l', 'm', 'n', 'o', 'p', 'q', 's', 't', 'x', 'z'].sort());
      const [fill] = await simFills(sim);
      expect(data).toEqual({
        e: 'executionReport',
        E: expect.any(Number),
        s: 'BTC-USDT',
        S: 'SELL',
        o: 'MARKET',
        q: 0.001,
        p: 50_000,
        x: 'TRADE',
        X: 'FILLED',
        i: wireOrderId(fill!.orderId),
        c: 'mkt-1',
        l: 0.001,
        z: 0.001,
        L: 50_000,
        n: -0.1,
        N: 'USDT',
        T: fill!.timestamp,
        t: Number(wireTradeId(fill!.tradeId)),
        O: expect.any(Number),
        Z: 50,
        Y: 50,
        Q: 0,
        m: false,
      });
    },
    TIMEOUT,
  );

  test(
    'partial fills: two trades with their own ids, PARTIALLY_FILLED then FILLED on the stream and by REST',
    async () => {
      const sim = await startSim({ faults: { partial: 1, seed: 5 } });
      const exchange = await proBingx(sim);
      await exchange.loadMarkets();
      const subscription = exchange.watchMyTrades('BTC/USDT');
      await subscribed(sim, 'spot.executionReport');
      const order = await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 49_000, { clientOrderId: 'split-1' });

      // The price reaches the order and stops there: one part fills, the rest rests.
      expect(sim.step(49_000)).toHaveLength(1);
      const [first] = await subscription;
      const part = first!.info['l'] as number;
      expect(part).toBeGreaterThan(0);
      expect(part).toBeLessThan(0.01);
      expect(first!.info).toMatchObject({ X: 'PARTIALLY_FILLED', z: part, L: 49_000, c: 'split-1' });
      const query = await privateRest(sim, 'GET', '/openApi/spot/v1/trade/query', { symbol: 'BTC-USDT', clientOrderID: 'split-1' });
      expect(query.body['data']).toMatchObject({ status: 'PARTIALLY_FILLED', executedQty: String(part) });
      expect(await exchange.fetchOpenOrders('BTC/USDT')).toMatchObject([{ id: order.id, status: 'open', filled: part, remaining: expect.closeTo(0.01 - part, 12) }]);

      // Through the price: the rest.
      const rest = exchange.watchMyTrades('BTC/USDT');
      expect(sim.step(48_000)).toHaveLength(1);
      const [second] = await rest;
      expect(second!.info).toMatchObject({ X: 'FILLED', z: 0.01, c: 'split-1' });
      expect(second!.info['l']).toBeCloseTo(0.01 - part, 12);
      expect(second!.id).not.toBe(first!.id);
      expect((await simFills(sim)).map((fill) => wireTradeId(fill.tradeId))).toEqual([first!.id, second!.id]);
      const done = await privateRest(sim, 'GET', '/openApi/spot/v1/trade/query', { symbol: 'BTC-USDT', clientOrderID: 'split-1' });
      expect(done.body['data']).toMatchObject({ status: 'FILLED', executedQty: '0.01' });
    },
    TIMEOUT,
  );
});

describe('listen keys across a simulator restart', () => {
  test(
    'the old key is refused (ccxt: NetworkError, HTTP 401) until ccxt authenticates again, which it does only when told',
    async () => {
      const first = await startSim();
      const exchange = await proBingx(first);
      const accepted = exchange.watchOrders('BTC/USDT');
      await subscribed(first, 'spot.executionReport');
      await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 40_000, { clientOrderId: 'before-restart' });
      await accepted;
      await first.close();
      sims.splice(sims.indexOf(first), 1);

      // Once ccxt has seen its socket cut, it drops that client; the next watch dials again, with the old key.
      await vi.waitFor(() => expect(Object.keys(exchange.clients).filter((url) => url.includes('listenKey'))).toEqual([]), { timeout: 3000, interval: 10 });
      const second = await startSim({ port: first.port });
      const refused = await exchange.watchOrders('BTC/USDT').then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(ccxt.NetworkError);
      expect(String(refused)).toContain('401');
      // ccxt asks for a new key only 59 minutes after the last (options.listenKeyRefreshRate) or after a failed PUT.
      exchange.options['lastAuthenticatedTime'] = 0;
      const orders = exchange.watchOrders('BTC/USDT');
      await subscribed(second, 'spot.executionReport');
      await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 41_000, { clientOrderId: 'after-restart' });
      expect((await orders).at(-1)).toMatchObject({ clientOrderId: 'after-restart', status: 'open' });
    },
    TIMEOUT,
  );
});

describe('dropWs fault', () => {
  test(
    "connections are cut without a close frame: ccxt's pending watches reject with NetworkError, new ones reconnect",
    async () => {
      const sim = await startSim({ faults: { dropWs: 300 } });
      const exchange = await proBingx(sim);
      const publicDrop = watchUntil(
        () => exchange.watchTicker('BTC/USDT').then(() => undefined, (error: unknown) => error),
        (error) => error !== undefined,
      );
      const privateDrop = exchange.watchOrders('BTC/USDT').then(() => undefined, (error: unknown) => error);
      const [publicError, privateError] = await Promise.all([publicDrop, privateDrop]);
      expect(publicError).toBeInstanceOf(ccxt.NetworkError);
      expect(privateError).toBeInstanceOf(ccxt.NetworkError);
      expect(String(privateError)).toContain('1006');

      sim.setFaults(undefined);
      expect((await exchange.watchTicker('BTC/USDT')).last).toBe(50_000);
      const orders = exchange.watchOrders('BTC/USDT');
      await subscribed(sim, 'spot.executionReport');
      await exchange.createOrder('BTC/USDT', 'limit', 'sell', 0.01, 55_000, { clientOrderId: 'after-drop' });
      expect((await orders).at(-1)).toMatchObject({ clientOrderId: 'after-drop', status: 'open' });
    },
    TIMEOUT,
  );
});
