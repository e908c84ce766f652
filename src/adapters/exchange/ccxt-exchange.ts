// The live exchange adapter: the exchange's requests over ccxt, for any ccxt exchange id (tested
// on bingx and binance against ccxt's recorded request/response fixtures, and on bingx against
// the exchange simulator), plus the WebSocket watches (ccxt pro) that ExchangeSession runs.
//
// ccxt is loaded lazily in `create` (`await import('ccxt')`): importing it costs ~0.4 s and
// ~130 MB, so merely importing this module (as the CLI does for every mode) must not load it.
// Only type imports of ccxt appear at the top; they are erased at compile time.
//
// Every ccxt call goes through `call`, which turns any failure into the port's ExchangeError via
// fromCcxtError, with the API key and secret redacted from the message.
//
// Streams. watchTick / watchOwnOrders / watchOwnFills each resolve with the next update of their
// stream (ccxt pro returns only what is new since the previous call). They know nothing of
// reconnects: a dropped socket rejects them with a retryable ExchangeError, and the session
// (src/actors/exchange/exchange-session.ts) decides what happens next; closeStreams() drops every socket.
import type { Balances, Exchange, Market as CcxtMarketOrUndefined, Order, Trade } from 'ccxt';
import type { Fill } from '../../domain/trading.js';
import { fromCcxtError, redactSecrets } from './ccxt-errors.js';
import { marketInfoFromCcxt, type CcxtMarket } from './ccxt-market.js';
import {
  type AssetBalance,
  ExchangeError,
  type ExchangeOrder,
  type ExchangeOrderStatus,
  type LimitOrderRequest,
  type MarketInfo,
  type MarketOrderRequest,
  type StreamingExchange,
  type Tick,
} from './port.js';

export interface CcxtExchangeOptions {
  readonly exchangeId: string;
  readonly apiKey?: string;
  readonly secret?: string;
  /**
   * EXCHANGE_URL: an http(s) origin (e.g. http://127.0.0.1:8080) that replaces the scheme and host
   * of every REST and WebSocket base URL of the exchange (ws(s) URLs get the matching ws(s) scheme),
   * so the bot can talk to a simulator.
   */
  readonly exchangeUrl?: string;
  /**
   * How long a request may take before it counts as timed out (ms; ccxt's default is 10 s). A
   * timed-out create is ambiguous: the order machine looks it up by client id before any resend.
   */
  readonly timeoutMs?: number;
  /** Trade on the exchange's sandbox (testnet), where ccxt has one (e.g. binance); refused where it has none. */
  readonly sandbox?: boolean;
  /** Replaces the HTTP client (tests answer from recorded fixtures through it). */
  readonly fetchImplementation?: typeof fetch;
  /** A preloaded loadMarkets() snapshot (unified symbol -> ccxt market): no market request is made. */
  readonly markets?: Record<string, unknown>;
}

/** Reading an order by its client order id, where the exchange's ccxt fetchOrder cannot. */
type FetchByClientId = (exchange: Exchange, symbol: string, clientOrderId: string) => Promise<Order>;

type Market = NonNullable<CcxtMarketOrUndefined>;

/**
 * Exchange-specific lookups by client order id. The default passes `{ clientOrderId }` to
 * ccxt's fetchOrder (binance maps it to origClientOrderId). ccxt 4.5's bingx fetchOrder always
 * sends orderId, so for bingx spot the query endpoint is called with clientOrderID directly.
 */
const fetchByClientId: Readonly<Record<string, FetchByClientId>> = {
  bingx: async (exchange, symbol, clientOrderId) => {
    const market = exchange.market(symbol);
    const api = exchange as unknown as { spotV1PrivateGetTradeQuery(params: Record<string, string>): Promise<{ data?: Record<string, unknown> }> };
    const response = await api.spotV1PrivateGetTradeQuery({ symbol: market.id as string, clientOrderID: clientOrderId });
    const data = response.data ?? {};
    const order = (data['order'] as Record<string, unknown> | undefined) ?? data;
    return exchange.parseOrder(order, market);
  },
};

/**
 * Exchange-specific repairs after EXCHANGE_URL rebased the URLs. ccxt's binance tells spot stream
 * frames from futures ones by the host (`isSpotUrl`: "/stream" in the URL, as in
 * stream.binance.com); rebased, both are ws://HOST/ws, and a spot BTCUSDT ticker was filed under
 * BTC/USDT:USDT (watchTicker('BTC/USDT') never resolved). btcbot trades spot only: every stream
 * is spot.
 */
const afterRebase: Readonly<Record<string, (exchange: Exchange) => void>> = {
  binance: (exchange) => {
    (exchange as unknown as { isSpotUrl(client: unknown): boolean }).isSpotUrl = () => true;
  },
};

/** Replaces scheme and host of an absolute URL (placeholders such as {hostname} included). */
function rebase(url: string, httpOrigin: string, wsOrigin: string): string {
  const match = /^(https?|wss?):\/\/[^/?#]*/i.exec(url);
  if (!match) return url;
  const origin = match[1]!.toLowerCase().startsWith('ws') ? wsOrigin : httpOrigin;
  return origin + url.slice(match[0].length);
}

/** A copy of ccxt's `urls.api` (a string or a nested object of strings) pointed at the given origin. */
export function rebaseApiUrls(api: unknown, exchangeUrl: string): unknown {
  let parsed: URL;
  try {
    parsed = new URL(exchangeUrl);
  } catch {
    throw new Error(`EXCHANGE_URL ${JSON.stringify(exchangeUrl)} is not a URL; expected an origin such as http://127.0.0.1:8080`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`EXCHANGE_URL must be an http(s) origin, not ${parsed.protocol}`);
  }
  const httpOrigin = parsed.origin;
  const wsOrigin = `${parsed.protocol === 'https:' ? 'wss' : 'ws'}://${parsed.host}`;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return rebase(node, httpOrigin, wsOrigin);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]));
    }
    return node;
  };
  return walk(api);
}

const statuses: Readonly<Record<string, ExchangeOrderStatus>> = {
  open: 'open',
  closed: 'closed',
  canceled: 'canceled',
  cancelled: 'canceled',
  rejected: 'rejected',
  expired: 'expired',
};

export class CcxtExchange implements StreamingExchange {
  /** ccxt's delayed calls (listen-key keep-alives): unref'd, and cleared by closeStreams. */
  private readonly delayed = new Set<NodeJS.Timeout>();
  /** Exchange order id -> client order id, for the fills (trades carry only the order id). */
  private readonly clientIds = new Map<string, string>();

  private constructor(
    private readonly exchange: Exchange,
    readonly exchangeId: string,
    private readonly secrets: readonly string[],
  ) {}

  static async create(options: CcxtExchangeOptions): Promise<CcxtExchange> {
    const secrets = [options.apiKey, options.secret].filter((value): value is string => typeof value === 'string' && value.length > 0);
    try {
      const ccxt = await import('ccxt');
      // The pro class has the REST methods plus the WebSocket ones (and their URLs).
      const ctor = ((ccxt.pro as unknown as Record<string, unknown>)[options.exchangeId] ??
        (ccxt as unknown as Record<string, unknown>)[options.exchangeId]) as (new (config: Record<string, unknown>) => Exchange) | undefined;
      if (typeof ctor !== 'function' || !/^[a-z][a-z0-9]*$/.test(options.exchangeId)) {
        throw new ExchangeError('unknown', `unknown exchange id ${JSON.stringify(options.exchangeId)} (not a ccxt exchange)`, 'BAD_EXCHANGE_ID');
      }
      const config: Record<string, unknown> = { enableRateLimit: true };
      if (options.apiKey !== undefined) config['apiKey'] = options.apiKey;
      if (options.secret !== undefined) config['secret'] = options.secret;
      if (options.timeoutMs !== undefined) config['timeout'] = options.timeoutMs;
      const exchange = new ctor(config);
      // Reconnect timing belongs to the exchange-connection statechart: ccxt's own per-URL redial
      // backoff (1 s doubling to 60 s) would stack on top of it, so it is turned off.
      exchange.options['ws'] = { ...(exchange.options['ws'] as object | undefined), backoff: { base: 0, max: 0 } };
      if (options.fetchImplementation !== undefined) exchange.fetchImplementation = options.fetchImplementation;
      if (options.sandbox === true) {
        // bingx's ccxt sandbox is its swap demo (VST): it has no spot sandbox.
        const test = options.exchangeId === 'bingx' ? undefined : (exchange.urls as Record<string, unknown>)['test'];
        if (test === undefined) throw new ExchangeError('unknown', `${options.exchangeId} has no sandbox in ccxt: use demo mode without exchange.sandbox (live prices, paper matching)`, 'NO_SANDBOX');
        exchange.setSandboxMode(true);
      }
      if (options.exchangeUrl !== undefined) {
        exchange.urls['api'] = rebaseApiUrls(exchange.urls['api'], options.exchangeUrl) as typeof exchange.urls.api;
        afterRebase[options.exchangeId]?.(exchange);
        // ccxt opens plain ws:// sockets only with an http agent it is told to load first.
        if (options.exchangeUrl.startsWith('http:')) await exchange.loadHttpProxyAgent();
      }
      if (options.markets !== undefined) exchange.setMarkets(options.markets as unknown as Record<string, Market>);
      const adapter = new CcxtExchange(exchange, options.exchangeId, secrets);
      adapter.trackDelayedCalls();
      return adapter;
    } catch (error) {
      throw fromCcxtError(error, options.exchangeId, secrets);
    }
  }

  /** The one way to ccxt: any failure becomes the port's error, with no secret in it. */
  private async call<T>(operation: (exchange: Exchange) => T | Promise<T>): Promise<T> {
    try {
      return await operation(this.exchange);
    } catch (error) {
      throw fromCcxtError(error, this.exchangeId, this.secrets);
    }
  }

  private async market(symbol: string): Promise<Market> {
    return this.call(async (exchange) => {
      // ccxt keeps a failed load's rejected promise and hands it to every later loadMarkets():
      // until markets are in, ask with reload, which starts a new load (or joins one under way).
      await exchange.loadMarkets(!exchange.markets);
      return exchange.market(symbol) as Market;
    });
  }

  async loadMarket(symbol: string): Promise<MarketInfo> {
    const market = await this.market(symbol);
    try {
      return marketInfoFromCcxt(market as unknown as CcxtMarket, Number(this.exchange.precisionMode));
    } catch (error) {
      throw new ExchangeError('rejected', redactSecrets(error instanceof Error ? error.message : String(error), this.secrets), 'BAD_SYMBOL');
    }
  }

  async createLimitOrder(request: LimitOrderRequest): Promise<ExchangeOrder> {
    const market = await this.market(request.symbol);
    const [price, amount] = await this.call((exchange) => [
      Number(exchange.priceToPrecision(request.symbol, request.price)),
      Number(exchange.amountToPrecision(request.symbol, request.amount)),
    ]);
    const minNotional = market.limits?.cost?.min ?? 0;
    if (price * amount < minNotional) {
      throw new ExchangeError(
        'rejected',
        `${request.clientOrderId}: order value ${price * amount} ${market.quote} is below the minimum ${minNotional} for ${request.symbol}`,
        'MIN_NOTIONAL',
      );
    }
    const order = await this.call((exchange) =>
      exchange.createOrder(request.symbol, 'limit', request.side, amount, price, { clientOrderId: request.clientOrderId }),
    );
    return this.toPort(order, { ...request, type: 'limit', price, amount });
  }

  /**
   * A market order by base amount. Its min notional cannot be checked here (no price is given):
   * the exchange refuses it, which maps to 'rejected'.
   */
  async createMarketOrder(request: MarketOrderRequest): Promise<ExchangeOrder> {
    await this.market(request.symbol);
    const amount = await this.call((exchange) => Number(exchange.amountToPrecision(request.symbol, request.amount)));
    const order = await this.call((exchange) =>
      exchange.createOrder(request.symbol, 'market', request.side, amount, undefined, { clientOrderId: request.clientOrderId }),
    );
    return this.toPort(order, { ...request, type: 'market', price: undefined, amount });
  }

  /** Cancels by client order id: ccxt's cancelOrder with `{ clientOrderId }` (bingx clientOrderID, binance origClientOrderId). */
  async cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    await this.market(symbol);
    const order = await this.call((exchange) => exchange.cancelOrder('', symbol, { clientOrderId }));
    return this.toPort(order, { clientOrderId, symbol });
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | undefined> {
    await this.market(symbol);
    const special = fetchByClientId[this.exchangeId];
    let order: Order;
    try {
      order = await this.call((exchange) => (special ? special(exchange, symbol, clientOrderId) : exchange.fetchOrder('', symbol, { clientOrderId })));
    } catch (error) {
      if (error instanceof ExchangeError && error.kind === 'notFound') return undefined;
      throw error;
    }
    // An empty answer (no order id) is no order.
    if (order.id === undefined || order.id === null || order.id === '') return undefined;
    return this.toPort(order, { clientOrderId, symbol });
  }

  async fetchOpenOrders(symbol: string): Promise<ExchangeOrder[]> {
    await this.market(symbol);
    const orders = await this.call((exchange) => exchange.fetchOpenOrders(symbol));
    return orders.map((order) => this.toPort(order, { symbol }));
  }

  /**
   * Own fills from fetchMyTrades, oldest first, with the fee in quote (a fee in base is converted
   * at the trade price; a fee in a third currency, e.g. BNB, cannot be converted here and counts 0).
   * A trade of an order neither this adapter has seen nor the caller named (`clientIds`) is
   * attributed by looking the order up once. One request: the exchange's page limit (e.g. 500 on
   * binance, 7 days window) bounds it.
   */
  async fetchFills(symbol: string, since?: number, clientIds?: ReadonlyMap<string, string>): Promise<Fill[]> {
    for (const [orderId, clientOrderId] of clientIds ?? []) this.clientIds.set(orderId, clientOrderId);
    const market = await this.market(symbol);
    const trades = await this.call((exchange) => exchange.fetchMyTrades(symbol, since));
    const fills: Fill[] = [];
    for (const trade of trades) {
      const fill = await this.toFill(trade, market);
      if (since === undefined || fill.timestamp >= since) fills.push(fill);
    }
    return fills.sort((a, b) => a.timestamp - b.timestamp);
  }

  async fetchBalance(): Promise<Record<string, AssetBalance>> {
    const balances: Balances = await this.call((exchange) => exchange.fetchBalance());
    const result: Record<string, AssetBalance> = {};
    const totals = (balances.total ?? {}) as unknown as Record<string, number | undefined>;
    const free = (balances.free ?? {}) as unknown as Record<string, number | undefined>;
    const used = (balances.used ?? {}) as unknown as Record<string, number | undefined>;
    for (const currency of new Set([...Object.keys(totals), ...Object.keys(free), ...Object.keys(used)])) {
      const f = free[currency] ?? 0;
      const u = used[currency] ?? 0;
      result[currency] = { free: f, used: u, total: totals[currency] ?? f + u };
    }
    return result;
  }

  // ---- streams (ccxt pro) --------------------------------------------------------------------

  /** Whether ccxt has WebSocket watches of the ticker, own orders and own trades for this exchange. */
  get canStream(): { readonly ticker: boolean; readonly own: boolean } {
    const has = this.exchange.has as Record<string, unknown>;
    return { ticker: has['watchTicker'] === true, own: has['watchOrders'] === true && has['watchMyTrades'] === true };
  }

  /** The last price, by REST (the start price, and the fallback while the ticker stream is down). */
  async fetchTick(symbol: string): Promise<Tick> {
    await this.market(symbol);
    const ticker = await this.call((exchange) => exchange.fetchTicker(symbol));
    return this.toTick(ticker, symbol);
  }

  /** The next ticker update of `symbol`. */
  async watchTick(symbol: string): Promise<Tick> {
    const ticker = await this.call((exchange) => exchange.watchTicker(symbol));
    return this.toTick(ticker, symbol);
  }

  /** The next own-order updates of `symbol` (status changes, fills' cumulative amounts). */
  async watchOwnOrders(symbol: string): Promise<ExchangeOrder[]> {
    const orders = await this.call((exchange) => exchange.watchOrders(symbol));
    return orders.map((order) => this.toPort(order, { symbol }));
  }

  /** The next own fills of `symbol`, from the exchange's execution stream. */
  async watchOwnFills(symbol: string): Promise<Fill[]> {
    const market = await this.market(symbol);
    const trades = await this.call((exchange) => exchange.watchMyTrades(symbol));
    const fills: Fill[] = [];
    for (const trade of trades) fills.push(await this.toFill(streamedExecution(trade), market));
    return fills;
  }

  /**
   * Drops every WebSocket connection; pending watches reject (code CLOSED), later ones reconnect.
   * The next private watch authenticates afresh (a new listen key on bingx): ccxt would otherwise
   * redial with the old key for up to an hour, also after the exchange invalidated it.
   */
  async closeStreams(): Promise<void> {
    await this.call((exchange) => exchange.close());
    this.exchange.options['lastAuthenticatedTime'] = 0;
    // The keep-alives of the listen keys just given up: a new one comes with the next subscription.
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  /**
   * ccxt's `delay` is a bare setTimeout whose handle is dropped: bingx schedules a listen-key
   * keep-alive with it every 59 minutes, which exchange.close() cannot cancel. That held the
   * process for an hour after shutdown, and each reconnect started one more chain. Here the
   * timers are unref'd (they never hold the process) and remembered (closeStreams clears them).
   */
  private trackDelayedCalls(): void {
    const exchange = this.exchange as unknown as { delay(timeout: number, method: unknown, ...args: unknown[]): void; spawn(method: unknown, ...args: unknown[]): void };
    exchange.delay = (timeout, method, ...args) => {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        exchange.spawn(method, ...args);
      }, timeout);
      timer.unref();
      this.delayed.add(timer);
    };
  }

  /** The exchange's REST and WebSocket base URLs as in use (after an EXCHANGE_URL rewrite). */
  get apiUrls(): unknown {
    return this.exchange.urls['api'];
  }

  // ---- mapping ------------------------------------------------------------------------------

  /** The port's order from ccxt's, filling in what the exchange left out from the request. */
  private toPort(
    order: Order,
    known: { clientOrderId?: string; symbol: string; side?: 'buy' | 'sell'; type?: 'limit' | 'market'; price?: number | undefined; amount?: number },
  ): ExchangeOrder {
    const clientOrderId = nonEmpty(order.clientOrderId) ?? known.clientOrderId ?? '';
    const id = String(order.id ?? '');
    if (id !== '' && clientOrderId !== '') this.clientIds.set(id, clientOrderId);
    const type = order.type === 'market' ? 'market' : order.type === undefined || order.type === null ? (known.type ?? 'limit') : 'limit';
    const side = order.side === 'buy' || order.side === 'sell' ? order.side : known.side;
    if (side === undefined) throw new ExchangeError('unknown', `${this.exchangeId}: order ${id} has no side`, 'BAD_RESPONSE');
    const rawStatus = order.status === undefined || order.status === null ? undefined : statuses[order.status];
    const price = type === 'market' ? (positive(order.average) ?? positive(order.price)) : (positive(order.price) ?? known.price);
    return {
      id,
      clientOrderId,
      symbol: order.symbol ?? known.symbol,
      side,
      type,
      price,
      amount: finite(order.amount) ?? known.amount ?? 0,
      filled: finite(order.filled) ?? 0,
      status: rawStatus ?? 'open',
      timestamp: finite(order.timestamp) ?? finite(order.lastUpdateTimestamp) ?? Date.now(),
    };
  }

  private toTick(ticker: { last?: number | undefined; close?: number | undefined; timestamp?: number | undefined }, symbol: string): Tick {
    const price = positive(ticker.last) ?? positive(ticker.close);
    if (price === undefined) throw new ExchangeError('unknown', `${this.exchangeId}: the ${symbol} ticker has no last price`, 'BAD_RESPONSE');
    return { symbol, price, timestamp: finite(ticker.timestamp) ?? Date.now() };
  }

  private async toFill(trade: Trade, market: Market): Promise<Fill> {
    const orderId = String(trade.order ?? '');
    const price = finite(trade.price);
    const amount = finite(trade.amount);
    const timestamp = finite(trade.timestamp);
    const side = trade.side;
    if (price === undefined || amount === undefined || timestamp === undefined || (side !== 'buy' && side !== 'sell')) {
      throw new ExchangeError('unknown', `${this.exchangeId}: trade ${String(trade.id)} lacks price, amount, time or side`, 'BAD_RESPONSE');
    }
    let fee = 0;
    const listed = (trade as Trade & { fees?: Array<{ cost?: number | string; currency?: string }> }).fees;
    const fees = listed !== undefined && listed.length > 0 ? listed : trade.fee ? [trade.fee] : [];
    for (const item of fees) {
      const cost = Math.abs(Number(item.cost ?? 0));
      if (!Number.isFinite(cost)) continue;
      if (item.currency === market.quote) fee += cost;
      else if (item.currency === market.base) fee += cost * price;
    }
    return {
      tradeId: String(trade.id ?? ''),
      orderId,
      clientOrderId: await this.clientIdOf(orderId, trade.symbol ?? market.symbol, (trade.info as Record<string, unknown> | undefined)?.['c']),
      symbol: trade.symbol ?? market.symbol,
      side,
      price,
      amount,
      fee,
      takerOrMaker: trade.takerOrMaker === 'maker' ? 'maker' : 'taker',
      timestamp,
    };
  }

  /**
   * The client id of an exchange order: from the orders seen, or from the stream's execution
   * (`c` in BingX's and Binance's executionReport), else looked up once (fetchOrder by id).
   */
  private async clientIdOf(orderId: string, symbol: string, streamed?: unknown): Promise<string> {
    if (orderId === '') return '';
    const cached = this.clientIds.get(orderId);
    if (cached !== undefined) return cached;
    if (typeof streamed === 'string' && streamed !== '') {
      this.clientIds.set(orderId, streamed);
      return streamed;
    }
    const order = await this.call((exchange) => exchange.fetchOrder(orderId, symbol));
    const clientOrderId = nonEmpty(order.clientOrderId) ?? '';
    this.clientIds.set(orderId, clientOrderId);
    return clientOrderId;
  }
}

/**
 * A streamed execution as a trade of this fill alone. ccxt 4.5's bingx parses a spot
 * executionReport's trade from `q` and `p`, the ORDER's quantity and price; the fill's own are
 * `l` (last filled quantity) and `L` (last fill price). Other exchanges' trades pass unchanged.
 */
function streamedExecution(trade: Trade): Trade {
  const info = (trade.info ?? {}) as Record<string, unknown>;
  if (info['x'] !== 'TRADE' || info['l'] === undefined || info['L'] === undefined) return trade;
  const amount = Number(info['l']);
  const price = Number(info['L']);
  if (!(amount > 0 && price > 0)) return trade;
  return { ...trade, amount, price, cost: amount * price };
}

function nonEmpty(value: string | undefined | null): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : value;
}

function finite(value: number | undefined | null): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function positive(value: number | undefined | null): number | undefined {
  const number = finite(value);
  return number !== undefined && number > 0 ? number : undefined;
}
