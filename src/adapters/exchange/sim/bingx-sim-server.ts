// A BingX spot exchange simulator: the subset of BingX's REST API that ccxt's bingx class (ccxt
// 4.5) uses for loadMarkets, fetchBalance, createOrder, fetchOrder / the spot order query,
// cancelOrder, fetchOpenOrders and fetchMyTrades, served on 127.0.0.1 with node:http, so that an
// unmodified ccxt (its API URLs rebased with EXCHANGE_URL) trades against it. On the same port,
// the WebSocket that ccxt pro's bingx uses for watchTicker, watchOrders and watchMyTrades
// (bingx-sim-ws.ts), with the listen keys of POST / PUT /openApi/user/auth/userDataStream.
//
// The matching engine and wallet are a PaperExchange; this module only speaks the wire format
// (bingx-wire.ts, bingx-ws-wire.ts). The price moves only when the owner calls setPrice / step
// (or the test endpoints POST /__sim/price and /__sim/step).
//
// Private endpoints need the X-BX-APIKEY header and a `signature` parameter (any key and any
// signature are accepted: the simulator does not know the secret); without them the answer is
// BingX's authentication error, which ccxt raises as AuthenticationError.
//
// With `statePath`, the PaperExchange snapshot is written (tmp file + rename) after every state
// change and read back at start, so a restarted simulator keeps its orders, fills and wallet.
//
// With `replay`, a candle series is walked with step() at `speed` candles per second after start
// (bingx-sim-replay.ts); GET /__sim/price then also says where the replay is. With `faults`, private
// requests (the user data stream's included) meet latency, HTTP 500s, "busy" answers, HTTP 429s,
// order creations refused for funds and withheld order answers, resting orders fill in two parts,
// and WebSocket connections are cut, drawn from a seeded PRNG (bingx-sim-faults.ts).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fill } from '../../../domain/trading.js';
import { PaperExchange, type PaperExchangeOptions, type PaperExchangeState } from '../paper-exchange.js';
import { ExchangeError, type ExchangeOrder, type MarketInfo } from '../port.js';
import { FaultInjector, type SimFaults } from './bingx-sim-faults.js';
import { ListenKeys } from './bingx-sim-listen-keys.js';
import { MarketStats } from './bingx-sim-market-stats.js';
import { restTicker } from './bingx-ws-wire.js';
import { ExecutionReports } from './bingx-sim-order-events.js';
import { startReplay, type ReplayPosition, type ReplayRun, type SimReplayOptions } from './bingx-sim-replay.js';
import { attachSimWebSocket } from './bingx-sim-ws.js';
import {
  bare,
  BingxCode,
  canceledOrder,
  createdOrder,
  decimal,
  fail,
  listedOrder,
  marketId,
  ok,
  paperOrderId,
  wireFill,
  wireSymbol,
  type BareAnswer,
  type BingxEnvelope,
} from './bingx-wire.js';

export interface BingxSimulatorOptions {
  /** TCP port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  readonly market: MarketInfo;
  readonly fees: { readonly maker: number; readonly taker: number };
  /** Starting wallet (ignored when restored from `statePath`). */
  readonly balance: { readonly base: number; readonly quote: number };
  /** Starting market price (ignored when restored from `statePath`); orders are refused until there is one. */
  readonly price?: number;
  /** JSON file of the PaperExchange snapshot: restored at start, rewritten after every change. */
  readonly statePath?: string;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
  /**
   * Replays candles after start: the first candle's open sets the price (walked to with step()
   * when the state was restored), then each candle's path is walked at `speed` candles per second.
   */
  readonly replay?: SimReplayOptions;
  /** Faults injected into private REST requests, fills and WebSocket connections (default none). */
  readonly faults?: SimFaults;
  /** Wall ms between the WebSocket server's pings (default 5000, as BingX). */
  readonly pingIntervalMs?: number;
  /** Wall ms between ticker frames while the price stands still (default 1000, as BingX's spot ticker). */
  readonly tickerIntervalMs?: number;
}

/** One request the simulator answered (for tests and diagnostics). */
export interface SimCall {
  readonly method: string;
  readonly path: string;
  readonly code: number;
}

export interface BingxSimulator {
  /** http://127.0.0.1:PORT: the EXCHANGE_URL to give the bot. */
  readonly url: string;
  readonly port: number;
  /** The matching engine and wallet. */
  readonly exchange: PaperExchange;
  /** Every request answered, oldest first. */
  readonly calls: readonly SimCall[];
  /** Jumps the price without filling anything. */
  setPrice(price: number): void;
  /** Walks the price to `target`, filling every resting order on the way; returns the fills made. */
  step(target: number): Fill[];
  /** Replaces the injected faults (undefined: none); the PRNG restarts from the new seed. */
  setFaults(faults: SimFaults | undefined): void;
  /** Where the candle replay is (undefined without `replay`). */
  replayPosition(): ReplayPosition | undefined;
  /** Resolves when the replay has walked every candle or the simulator closed (at once without `replay`). */
  readonly replayFinished: Promise<void>;
  close(): Promise<void>;
}

type Params = Record<string, string>;
type Answer = BingxEnvelope | BareAnswer;
type Handler = (params: Params) => Promise<Answer> | Answer;

interface Route {
  readonly handler: Handler;
  readonly private: boolean;
}

/** Error codes of the port's rejections in BingX's numbering (so ccxt raises the matching class). */
const codeOf: Readonly<Record<string, number>> = {
  INSUFFICIENT_FUNDS: BingxCode.INSUFFICIENT_BALANCE,
  DUPLICATE_CLIENT_ORDER_ID: BingxCode.BAD_REQUEST,
  INVALID_ORDER: BingxCode.BAD_REQUEST,
  BAD_SYMBOL: BingxCode.BAD_REQUEST,
  MIN_NOTIONAL: BingxCode.BAD_REQUEST,
  ORDER_NOT_FOUND: BingxCode.ORDER_NOT_FOUND,
  ORDER_NOT_OPEN: BingxCode.ORDER_NOT_FOUND,
  NO_PRICE: BingxCode.BUSY,
};

class BadParams extends Error {}

function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw new BadParams(`Invalid parameters, err: ${name} is required`);
  return value;
}

function positiveNumber(params: Params, name: string): number {
  const value = Number(required(params, name));
  if (!(Number.isFinite(value) && value > 0)) throw new BadParams(`Invalid parameters, err: ${name} must be a positive number, got ${params[name]}`);
  return value;
}

function loadState(statePath: string): PaperExchangeState | undefined {
  if (!existsSync(statePath)) return undefined;
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as PaperExchangeState & { price: number | null };
  // JSON has no NaN: a snapshot taken before the first price stores null.
  if (state.price === null) state.price = Number.NaN;
  return state;
}

function saveState(statePath: string, state: PaperExchangeState): void {
  const tmp = `${statePath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`);
  renameSync(tmp, statePath);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Query parameters plus a form or JSON body (ccxt's bingx puts everything in the query string). */
async function paramsOf(request: IncomingMessage, url: URL): Promise<Params> {
  const params: Params = Object.fromEntries(url.searchParams);
  const body = await readBody(request);
  if (body.length === 0) return params;
  if ((request.headers['content-type'] ?? '').includes('application/json')) {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    for (const [key, value] of Object.entries(parsed)) params[key] = String(value);
  } else {
    for (const [key, value] of new URLSearchParams(body)) params[key] = value;
  }
  return params;
}

export async function startBingxSimulator(options: BingxSimulatorOptions): Promise<BingxSimulator> {
  const market = options.market;
  const symbolId = marketId(market);
  const now = options.now ?? Date.now;
  let faults = options.faults === undefined ? undefined : new FaultInjector(options.faults);
  const paperOptions: PaperExchangeOptions = {
    market,
    fees: options.fees,
    balance: options.balance,
    now,
    splitFill: (amount) => faults?.splitFill(amount, market.amountStep),
  };
  const restored = options.statePath === undefined ? undefined : loadState(options.statePath);
  const exchange = restored ? PaperExchange.restore(paperOptions, restored) : new PaperExchange(paperOptions);
  if (!restored && options.price !== undefined) exchange.setPrice(options.price);
  const calls: SimCall[] = [];
  const listenKeys = new ListenKeys(now);
  const stats = new MarketStats(now());
  stats.price(exchange.lastPrice);
  /** Releases of the waits in progress (latency, withheld answers): called on close. */
  const waits = new Set<() => void>();
  let closed = false;

  /** Waits `ms`, or less if the client goes away or the simulator closes. */
  const wait = (ms: number, response: ServerResponse): Promise<void> =>
    new Promise<void>((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        waits.delete(release);
        response.off('close', release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      waits.add(release);
      response.once('close', release);
    });

  const persist = (): void => {
    if (options.statePath !== undefined) saveState(options.statePath, exchange.snapshot());
  };
  persist();

  const allOrders = (): ExchangeOrder[] => exchange.allOrders();
  const fills = (): readonly Fill[] => exchange.fillLog;

  const checkSymbol = (params: Params): void => {
    const symbol = required(params, 'symbol');
    if (symbol !== symbolId) throw new ExchangeError('rejected', `symbol ${symbol} does not exist: this simulator trades ${symbolId}`, 'BAD_SYMBOL');
  };

  /** The order named by clientOrderID or orderId, or an ORDER_NOT_FOUND error. */
  const findOrder = (params: Params): ExchangeOrder => {
    const clientOrderId = params['clientOrderID'] ?? params['origClientOrderId'];
    const orderId = params['orderId'];
    let order: ExchangeOrder | undefined;
    if (clientOrderId !== undefined && clientOrderId !== '') order = allOrders().find((o) => o.clientOrderId === clientOrderId);
    else if (orderId !== undefined && orderId !== '') order = allOrders().find((o) => o.id === paperOrderId(orderId));
    else throw new BadParams('Invalid parameters, err: orderId or clientOrderID is required');
    if (order === undefined) throw new ExchangeError('notFound', `order not exist (${clientOrderId ?? orderId})`, 'ORDER_NOT_FOUND');
    return order;
  };

  const balances = (): Array<{ asset: string; free: string; locked: string }> =>
    [market.base, market.quote].map((asset) => {
      const snapshot = exchange.snapshot();
      const wallet = asset === market.base ? snapshot.base : snapshot.quote;
      return { asset, free: decimal(wallet.total - wallet.locked), locked: decimal(wallet.locked) };
    });

  const routes: Record<string, Route> = {
    // ---- public: loadMarkets asks for spot, linear swap and inverse swap markets ----------
    'GET /openApi/spot/v1/common/symbols': {
      private: false,
      handler: (params) => {
        const wanted = params['symbol'];
        return ok({ symbols: wanted === undefined || wanted === symbolId ? [wireSymbol(market)] : [] });
      },
    },
    'GET /openApi/swap/v2/quote/contracts': { private: false, handler: () => ok([]) },
    'GET /openApi/cswap/v1/market/contracts': { private: false, handler: () => ok([]) },
    'GET /openApi/swap/v2/server/time': { private: false, handler: () => ok({ serverTime: now() }) },
    'GET /openApi/spot/v1/server/time': { private: false, handler: () => ok({ serverTime: now() }) },
    // fetchTicker: the REST price the bot polls while its stream is down.
    'GET /openApi/spot/v1/ticker/24hr': {
      private: false,
      handler: (params) => {
        checkSymbol(params);
        const figures = stats.figures(exchange.lastPrice);
        if (figures === undefined) throw new ExchangeError('retryable', 'no price yet', 'NO_PRICE');
        return { ...ok([restTicker(figures, market, now())]), timestamp: String(now()) } as BingxEnvelope;
      },
    },
    // ---- private ----------------------------------------------------------------------------
    // loadMarkets calls fetchCurrencies when keys are set: no currency details here.
    'GET /openApi/wallets/v1/capital/config/getall': { private: true, handler: () => ok([]) },
    'GET /openApi/spot/v1/account/balance': { private: true, handler: () => ok({ balances: balances() }) },
    'POST /openApi/spot/v1/trade/order': {
      private: true,
      handler: async (params) => {
        checkSymbol(params);
        const side = required(params, 'side').toUpperCase();
        const type = required(params, 'type').toUpperCase();
        if (side !== 'BUY' && side !== 'SELL') throw new BadParams(`Invalid parameters, err: side ${side}`);
        if (type !== 'LIMIT' && type !== 'MARKET') throw new BadParams(`Invalid parameters, err: order type ${type} is not supported by the simulator`);
        const clientOrderId = params['newClientOrderId'] ?? params['clientOrderID'] ?? '';
        const order = { symbol: market.symbol, side: side === 'BUY' ? ('buy' as const) : ('sell' as const), clientOrderId };
        if (clientOrderId === '') throw new BadParams('Invalid parameters, err: the simulator needs newClientOrderId');
        let created: ExchangeOrder;
        if (type === 'LIMIT') {
          // The paper exchange applies the market's filters (steps, min notional) as BingX does.
          created = await exchange.createLimitOrder({ ...order, price: positiveNumber(params, 'price'), amount: positiveNumber(params, 'quantity') });
        } else {
          const amount = params['quoteOrderQty'] !== undefined ? positiveNumber(params, 'quoteOrderQty') / exchange.lastPrice : positiveNumber(params, 'quantity');
          created = await exchange.createMarketOrder({ ...order, amount });
        }
        persist();
        return ok(createdOrder(created, market, fills()));
      },
    },
    'GET /openApi/spot/v1/trade/query': {
      private: true,
      handler: (params) => {
        checkSymbol(params);
        return ok(listedOrder(findOrder(params), market, fills()));
      },
    },
    'POST /openApi/spot/v1/trade/cancel': {
      private: true,
      handler: async (params) => {
        checkSymbol(params);
        const order = findOrder(params);
        const canceled = await exchange.cancelOrder(order.clientOrderId, market.symbol);
        persist();
        return ok(canceledOrder(canceled, market, fills()));
      },
    },
    'GET /openApi/spot/v1/trade/openOrders': {
      private: true,
      handler: async (params) => {
        if (params['symbol'] !== undefined) checkSymbol(params);
        const open = await exchange.fetchOpenOrders(market.symbol);
        const all = fills();
        return ok({ orders: open.sort((a, b) => a.timestamp - b.timestamp).map((order) => listedOrder(order, market, all)) });
      },
    },
    'GET /openApi/spot/v1/trade/myTrades': {
      private: true,
      handler: (params) => {
        checkSymbol(params);
        const start = params['startTime'] === undefined ? -Infinity : Number(params['startTime']);
        const end = params['endTime'] === undefined ? Infinity : Number(params['endTime']);
        const limit = params['limit'] === undefined ? 500 : Math.max(1, Math.min(1000, Number(params['limit'])));
        const selected = fills().filter((fill) => fill.timestamp >= start && fill.timestamp <= end);
        return ok({ fills: selected.slice(-limit).map((fill) => wireFill(fill, market)) });
      },
    },
    // ccxt pro's authenticate() reads listenKey at the top level of the answer: no envelope.
    'POST /openApi/user/auth/userDataStream': { private: true, handler: () => bare({ listenKey: listenKeys.create() }) },
    'PUT /openApi/user/auth/userDataStream': {
      private: true,
      handler: (params) => {
        const listenKey = required(params, 'listenKey');
        if (!listenKeys.extend(listenKey)) throw new BadParams(`Invalid parameters, err: listenKey ${listenKey} does not exist or has expired`);
        return bare({});
      },
    },
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, fail(BingxCode.INTERNAL, error instanceof Error ? error.message : String(error)));
    });
  });
  const ws = attachSimWebSocket(server, {
    market,
    listenKeys,
    now,
    pingIntervalMs: options.pingIntervalMs ?? 5000,
    tickerIntervalMs: options.tickerIntervalMs ?? 1000,
    ticker: () => stats.figures(exchange.lastPrice),
  });
  ws.dropEvery(options.faults?.dropWs);
  const reports = new ExecutionReports(allOrders(), fills());
  exchange.subscribe((event) => {
    if (event.type === 'fill') stats.trade(event.fill.amount, event.fill.price);
    const report = reports.report(event);
    if (report !== undefined) ws.executionReport(report);
  });

  /** After every price change: the ticker's figures, and the pushes to its subscribers. */
  const priceMoved = (): void => {
    stats.price(exchange.lastPrice);
    ws.priceChanged();
  };

  const simulator = {
    setPrice(price: number): void {
      exchange.setPrice(price);
      persist();
      priceMoved();
    },
    step(target: number): Fill[] {
      const before = fills().length;
      if (!Number.isFinite(exchange.lastPrice)) exchange.setPrice(target);
      else while (exchange.step(target));
      persist();
      priceMoved();
      return fills().slice(before);
    },
  };

  let replay: ReplayRun | undefined;
  if (options.replay !== undefined && options.replay.candles.length > 0) {
    const open = options.replay.candles.open[0]!;
    if (restored) simulator.step(open);
    else simulator.setPrice(open);
    replay = startReplay(options.replay, (target) => simulator.step(target));
  }

  /** Test endpoints: plain JSON, no envelope, no keys. */
  const simRoutes: Record<string, (params: Params) => unknown> = {
    'GET /__sim/orders': () => allOrders().map(({ id, clientOrderId, side, type, price, amount, filled, status, timestamp }) => ({ id, clientOrderId, side, type, price, amount, filled, status, timestamp })),
    'GET /__sim/fills': () => fills(),
    'GET /__sim/balances': async () => exchange.fetchBalance(),
    'GET /__sim/ws': () => ({ connections: ws.connections() }),
    'GET /__sim/price': () => (replay === undefined ? { price: exchange.lastPrice } : { price: exchange.lastPrice, replay: replay.position() }),
    'POST /__sim/price': (params) => {
      simulator.setPrice(positiveNumber(params, 'price'));
      return { price: exchange.lastPrice };
    },
    'POST /__sim/step': (params) => {
      const made = simulator.step(positiveNumber(params, 'target'));
      return { price: exchange.lastPrice, fills: made };
    },
  };

  const send = (response: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = (request.method ?? 'GET').toUpperCase();
    const key = `${method} ${url.pathname}`;
    const record = (code: number): void => {
      calls.push({ method, path: url.pathname, code });
    };
    let params: Params;
    try {
      params = await paramsOf(request, url);
    } catch (error) {
      record(BingxCode.BAD_REQUEST);
      send(response, 400, fail(BingxCode.BAD_REQUEST, `unreadable request body: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    const simRoute = simRoutes[key];
    if (simRoute) {
      try {
        const body = await simRoute(params);
        record(0);
        send(response, 200, body);
      } catch (error) {
        record(BingxCode.BAD_REQUEST);
        send(response, 400, { error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    const route = routes[key];
    if (!route) {
      record(BingxCode.BAD_REQUEST);
      send(response, 404, fail(BingxCode.BAD_REQUEST, `api not found: ${method} ${url.pathname} is not served by the BingX simulator`));
      return;
    }
    if (route.private) {
      const apiKey = request.headers['x-bx-apikey'];
      if (typeof apiKey !== 'string' || apiKey === '') {
        record(BingxCode.AUTH_NULL);
        send(response, 200, fail(BingxCode.AUTH_NULL, 'Null apiKey: the X-BX-APIKEY header is missing'));
        return;
      }
      if (params['signature'] === undefined || params['signature'] === '') {
        record(BingxCode.AUTH_NULL);
        send(response, 200, fail(BingxCode.AUTH_NULL, 'Null signature'));
        return;
      }
      if (params['timestamp'] === undefined || !/^\d+$/.test(params['timestamp'])) {
        record(BingxCode.AUTH_SIGNATURE);
        send(response, 200, fail(BingxCode.AUTH_SIGNATURE, 'Signature verification failed: timestamp is missing'));
        return;
      }
    }
    const injector = route.private ? faults : undefined;
    if (injector !== undefined) {
      if (injector.latency > 0) await wait(injector.latency, response);
      if (closed || response.destroyed) return;
      const fault = injector.beforeHandling();
      if (fault === 'error') {
        record(BingxCode.INTERNAL);
        send(response, 500, fail(BingxCode.INTERNAL, 'Internal server error (simulated fault)'));
        return;
      }
      if (fault === 'busy') {
        record(BingxCode.BUSY);
        send(response, 200, fail(BingxCode.BUSY, 'The current system is busy, please try again later (simulated fault)'));
        return;
      }
      if (fault === 'rateLimit') {
        record(429);
        send(response, 429, fail(429, 'Too Many Requests (simulated fault)'));
        return;
      }
    }
    const creation = key === 'POST /openApi/spot/v1/trade/order';
    if (injector !== undefined && creation && injector.refuseForFunds()) {
      record(BingxCode.INSUFFICIENT_BALANCE);
      send(response, 200, fail(BingxCode.INSUFFICIENT_BALANCE, 'Insufficient balance (simulated fault)'));
      return;
    }
    const withhold = injector !== undefined && creation && injector.withholdAnswer();
    let answer: Answer;
    try {
      answer = await route.handler(params);
    } catch (error) {
      if (error instanceof BadParams) answer = fail(BingxCode.BAD_REQUEST, error.message);
      else if (error instanceof ExchangeError) answer = fail(codeOf[error.code ?? ''] ?? BingxCode.INTERNAL, error.message);
      else answer = fail(BingxCode.INTERNAL, `internal error: ${error instanceof Error ? error.message : String(error)}`);
    }
    const code = 'bare' in answer ? 0 : Number(answer.code);
    record(code);
    // timeoutAfterAccept: the order is placed, but the client hears nothing until it gives up.
    if (withhold && code === 0 && injector !== undefined) await wait(injector.holdMs, response);
    if (closed || response.destroyed) return;
    send(response, 200, 'bare' in answer ? answer.bare : answer);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchange,
    calls,
    setPrice: simulator.setPrice,
    step: simulator.step,
    setFaults: (next) => {
      faults = next === undefined ? undefined : new FaultInjector(next);
      ws.dropEvery(next?.dropWs);
    },
    replayPosition: () => replay?.position(),
    replayFinished: replay?.finished ?? Promise.resolve(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true;
        replay?.stop();
        ws.close();
        for (const release of [...waits]) release();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
