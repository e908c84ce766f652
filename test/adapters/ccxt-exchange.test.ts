// The live adapter (CcxtExchange) on bingx and binance, driven through ccxt's fetchImplementation:
// answers come from ccxt's recorded responses (../shared/fixtures/ccxt/response), and the requests
// the adapter makes are checked against ccxt's recorded requests (request/) where a matching case
// exists. No request ever leaves the process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, test } from 'vitest';
import { CcxtExchange, rebaseApiUrls } from '../../src/adapters/exchange/ccxt-exchange.js';
import { ExchangeError } from '../../src/adapters/exchange/port.js';
import { hasShared, sharedSkipReason } from '../shared.js';
import { FakeHttp, recordedRequest, recordedResponse, tickSizeMarkets, type ExpectedRequest, type SeenRequest } from './ccxt-fixtures.js';
import { exchangeErrorOf } from '../support/exchange-error.js';
import { startCuttableProxy } from '../support/cuttable-proxy.js';
import { startBingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { contractSetup } from '../contract/exchange-port.contract.js';

const skipTitle = hasShared ? '' : ` (skipped: ${sharedSkipReason})`;
const apiKey = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
const secret = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

let http: FakeHttp | undefined;

let requests: SeenRequest[] = [];

async function open(exchangeId: string): Promise<CcxtExchange> {
  http = new FakeHttp();
  requests = http.requests;
  return CcxtExchange.create({ exchangeId, apiKey, secret, fetchImplementation: http.fetch, markets: tickSizeMarkets(exchangeId) });
}

function fake(): FakeHttp {
  if (!http) throw new Error('no fake http (call open first)');
  return http;
}

/** The request matches ccxt's recorded one: path and every recorded parameter (skipKeys aside). */
function expectMatches(seen: SeenRequest | undefined, expected: ExpectedRequest): void {
  expect(seen).toBeDefined();
  expect(seen!.path).toBe(expected.path);
  const params = Object.fromEntries(Object.entries(seen!.params).filter(([key]) => !expected.skipKeys.includes(key)));
  expect(params).toMatchObject(expected.params);
}

async function rejection(promise: Promise<unknown>): Promise<ExchangeError> {
  const mapped = await exchangeErrorOf(promise);
  expect(mapped.message).not.toContain(apiKey);
  expect(mapped.message).not.toContain(secret);
  return mapped;
}

afterEach(() => {
  // Every request the adapter made had a recorded answer.
  const unexpected = http?.unexpected ?? [];
  http = undefined;
  expect(unexpected).toEqual([]);
});

describe.skipIf(!hasShared)(`CcxtExchange on bingx (ccxt's recorded fixtures)${skipTitle}`, () => {
  const ORDER = '/openApi/spot/v1/trade/order';
  const CANCEL = '/openApi/spot/v1/trade/cancel';
  const QUERY = '/openApi/spot/v1/trade/query';

  /** The spot order query answer, made from the recorded cancel answer (no spot fetchOrder response is recorded). */
  function queryAnswer(changes: Record<string, string>): unknown {
    const answer = recordedResponse('bingx', 'cancelOrder', 'spot cancel order') as { data: Record<string, string> };
    Object.assign(answer.data, changes);
    return answer;
  }

  test('loadMarket from the markets snapshot, without a request', async () => {
    const exchange = await open('bingx');
    expect(await exchange.loadMarket('BTC/USDT')).toEqual({ symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 });
    expect(requests).toEqual([]);
  });

  test('limit order with client id: POST trade/order with newClientOrderId, as ccxt recorded', async () => {
    const exchange = await open('bingx');
    fake().answer('POST', ORDER, recordedResponse('bingx', 'createOrder', 'spot create order limit buy'));
    const order = await exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.1, clientOrderId: 'myorder1' });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe('POST');
    expectMatches(requests[0], recordedRequest('bingx', 'createOrder', 'spot order with clientOrderId'));
    expect(requests[0]!.params['newClientOrderId']).toBe('myorder1');
    // The recorded answer (an order of 0.17 at 30) is mapped as the exchange gave it; bingx does not echo the client id.
    expect(order).toEqual({
      id: '1735115105391083520',
      clientOrderId: 'myorder1',
      symbol: 'LTC/USDT',
      side: 'buy',
      type: 'limit',
      price: 30,
      amount: 0.17,
      filled: 0,
      status: 'open',
      timestamp: 1702518652662,
    });
  });

  test('price and amount are quantised to the market steps before sending', async () => {
    const exchange = await open('bingx');
    fake().answer('POST', ORDER, recordedResponse('bingx', 'createOrder', 'spot create order limit buy'));
    await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'sell', price: 25000.126, amount: 0.000259, clientOrderId: 'bb1_3s0' });
    expect(requests[0]!.params).toMatchObject({ price: '25000.13', quantity: '0.00025', side: 'SELL', symbol: 'BTC-USDT', newClientOrderId: 'bb1_3s0' });
  });

  test('market order by base amount with client id', async () => {
    const exchange = await open('bingx');
    const answer = recordedResponse('bingx', 'createOrder', 'spot create order limit buy') as { data: Record<string, string> };
    Object.assign(answer.data, { type: 'MARKET', side: 'SELL', status: 'FILLED', origQty: '0.1', executedQty: '0.1', price: '75.5', cummulativeQuoteQty: '7.55' });
    fake().answer('POST', ORDER, answer);
    const order = await exchange.createMarketOrder({ symbol: 'LTC/USDT', side: 'sell', amount: 0.1, clientOrderId: 'bb1_m0' });
    expectMatches(requests[0], recordedRequest('bingx', 'createOrder', 'spot market sell using base amount'));
    expect(requests[0]!.params['newClientOrderId']).toBe('bb1_m0');
    expect(order).toMatchObject({ clientOrderId: 'bb1_m0', type: 'market', side: 'sell', amount: 0.1, filled: 0.1, status: 'closed' });
  });

  test('min notional: an order below 5 USDT is refused before any request', async () => {
    const exchange = await open('bingx');
    const error = await rejection(exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 25000, amount: 0.0001, clientOrderId: 'bb1_0b0' }));
    expect([error.kind, error.code]).toEqual(['rejected', 'MIN_NOTIONAL']);
    expect(requests).toEqual([]);
  });

  test('cancel by client id: POST trade/cancel with clientOrderID, as ccxt recorded', async () => {
    const exchange = await open('bingx');
    fake().answer('POST', CANCEL, recordedResponse('bingx', 'cancelOrder', 'spot cancel order'));
    const order = await exchange.cancelOrder('myorder2', 'LTC/USDT');
    expect(requests[0]!.method).toBe('POST');
    expectMatches(requests[0], recordedRequest('bingx', 'cancelOrder', 'Spot cancel order with clientOrderId'));
    expect(requests[0]!.params).not.toHaveProperty('orderId');
    expect(order).toMatchObject({ id: '1735116010161176576', clientOrderId: 'myorder2', status: 'canceled', price: 30, amount: 0.17 });
  });

  test('look up by client id: GET trade/query with clientOrderID; OrderNotFound -> undefined', async () => {
    const exchange = await open('bingx');
    fake().answer('GET', QUERY, queryAnswer({ status: 'FILLED', executedQty: '0.17', clientOrderID: 'bb1_2b0', time: '1702518652662' }));
    const order = await exchange.fetchOrderByClientId('bb1_2b0', 'LTC/USDT');
    expect(requests[0]!.method).toBe('GET');
    expect(requests[0]!.path).toBe(recordedRequest('bingx', 'fetchOrder', 'fetch canceled spot order').path);
    expect(requests[0]!.params).toMatchObject({ clientOrderID: 'bb1_2b0', symbol: 'LTC-USDT' });
    expect(requests[0]!.params).not.toHaveProperty('orderId');
    expect(order).toMatchObject({ clientOrderId: 'bb1_2b0', status: 'closed', filled: 0.17, timestamp: 1702518652662 });

    // An answer ccxt files as OrderNotFound (bingx 80016).
    fake().answer('GET', QUERY, { code: 80016, msg: 'order does not exist', data: {} });
    expect(await exchange.fetchOrderByClientId('bb9_9b9', 'LTC/USDT')).toBeUndefined();
  });

  test('open orders', async () => {
    const exchange = await open('bingx');
    fake().answer('GET', '/openApi/spot/v1/trade/openOrders', recordedResponse('bingx', 'fetchOpenOrders', 'spot open orders'));
    const orders = await exchange.fetchOpenOrders('LTC/USDT');
    expectMatches(requests[0], recordedRequest('bingx', 'fetchOpenOrders', 'Spot open orders'));
    expect(orders).toEqual([
      { id: '1752456208763060224', clientOrderId: '', symbol: 'LTC/USDT', side: 'buy', type: 'limit', price: 50, amount: 0.1, filled: 0, status: 'open', timestamp: 1706653093888 },
    ]);
  });

  test('fills: a fee in base is converted to quote at the trade price; the client id is looked up once', async () => {
    const exchange = await open('bingx');
    fake().answer('GET', '/openApi/spot/v1/trade/myTrades', recordedResponse('bingx', 'fetchMyTrades', 'Spot trade'));
    fake().answer('GET', QUERY, queryAnswer({ orderId: '1740029773184237568', clientOrderID: 'bb1_2b0', status: 'FILLED' }));
    const fills = await exchange.fetchFills('LTC/USDT');
    expectMatches(requests[0], recordedRequest('bingx', 'fetchMyTrades', 'fetch my trades - spot'));
    // The trade names only its order id: the order is looked up by id (as ccxt recorded) for its client id.
    expectMatches(requests[1], { ...recordedRequest('bingx', 'fetchOrder', 'fetch canceled spot order'), params: { orderId: '1740029773184237568', symbol: 'LTC-USDT' } });
    expect(fills).toHaveLength(1);
    const fill = fills[0]!;
    expect(fill).toMatchObject({ tradeId: '49884117', orderId: '1740029773184237568', clientOrderId: 'bb1_2b0', symbol: 'LTC/USDT', side: 'buy', price: 75.562, amount: 0.1, takerOrMaker: 'taker', timestamp: 1703690401000 });
    expect(fill.fee).toBeCloseTo(0.0001 * 75.562, 12);
    // Second call: the client id is known, no lookup.
    await exchange.fetchFills('LTC/USDT', 1703690401000);
    expect(requests.map((request) => request.path)).toEqual(['/openApi/spot/v1/trade/myTrades', QUERY, '/openApi/spot/v1/trade/myTrades']);
  });

  test('fills: an order the caller names (a recovery, from its books) is not looked up', async () => {
    const exchange = await open('bingx');
    fake().answer('GET', '/openApi/spot/v1/trade/myTrades', recordedResponse('bingx', 'fetchMyTrades', 'Spot trade'));
    const fills = await exchange.fetchFills('LTC/USDT', undefined, new Map([['1740029773184237568', 'bb1_2b0']]));
    expect(fills.map((fill) => fill.clientOrderId)).toEqual(['bb1_2b0']);
    expect(requests.map((request) => request.path)).toEqual(['/openApi/spot/v1/trade/myTrades']);
  });

  test('balance: free, used and total per currency', async () => {
    const exchange = await open('bingx');
    fake().answer('GET', '/openApi/spot/v1/account/balance', recordedResponse('bingx', 'fetchBalance', 'spot fetchBalance'));
    const balance = await exchange.fetchBalance();
    expectMatches(requests[0], recordedRequest('bingx', 'fetchBalance', 'Fetch spot Balance'));
    expect(balance['USDT']).toEqual({ free: 54.049459260000006, used: 5, total: 59.049459260000006 });
    expect(balance['LTC']).toEqual({ free: 0.6921067, used: 0, total: 0.6921067 });
  });

  test('exchange errors: insufficient funds -> rejected, HTTP 429 -> retryable RATE_LIMIT; no secret in the message', async () => {
    const exchange = await open('bingx');
    fake().answer('POST', ORDER, { code: 100202, msg: 'Insufficient assets', debugMsg: '' });
    const funds = await rejection(exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.1, clientOrderId: 'bb1_1b0' }));
    expect([funds.kind, funds.code]).toEqual(['rejected', 'INSUFFICIENT_FUNDS']);
    fake().answer('POST', ORDER, '', 429);
    const limited = await rejection(exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.1, clientOrderId: 'bb1_1b0' }));
    expect([limited.kind, limited.code]).toEqual(['retryable', 'RATE_LIMIT']);
    // The key went out in the header only.
    expect(requests[0]!.headers['x-bx-apikey']).toBe(apiKey);
  });
});

describe.skipIf(!hasShared)(`CcxtExchange on binance (ccxt's recorded fixtures)${skipTitle}`, () => {
  const ORDER = '/api/v3/order';

  /** Binance's spot order answer shape, from the recorded fetchOrder answer with the given changes. */
  function orderAnswer(changes: Record<string, string>): unknown {
    return { ...(recordedResponse('binance', 'fetchOrder', 'Fetch spot closed order') as Record<string, string>), ...changes };
  }

  test('loadMarket from the markets snapshot, without a request', async () => {
    const exchange = await open('binance');
    expect(await exchange.loadMarket('BTC/USDT')).toEqual({ symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 });
    expect(requests).toEqual([]);
  });

  test('limit order with client id: POST api/v3/order with newClientOrderId (not ccxt broker id)', async () => {
    const exchange = await open('binance');
    // The recorded createOrder answer is for SOL/USDT (not in the snapshot): same payload, our order's values.
    const answer = recordedResponse('binance', 'createOrder', 'spot +selfTradePrevention +iceberg') as Record<string, string>;
    Object.assign(answer, { symbol: 'LTCUSDT', clientOrderId: 'bb2_4b1', price: '50.00000000', origQty: '0.20000000' });
    fake().answer('POST', ORDER, answer);
    const order = await exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.2, clientOrderId: 'bb2_4b1' });
    expect(requests[0]!.method).toBe('POST');
    expectMatches(requests[0], recordedRequest('binance', 'createOrder', 'Spot limit buy order'));
    expect(requests[0]!.params['newClientOrderId']).toBe('bb2_4b1');
    expect(order).toEqual({
      id: '9780331417',
      clientOrderId: 'bb2_4b1',
      symbol: 'LTC/USDT',
      side: 'buy',
      type: 'limit',
      price: 50,
      amount: 0.2,
      filled: 0,
      status: 'open',
      timestamp: 1737635557417,
    });
  });

  test('market order by base amount with client id', async () => {
    const exchange = await open('binance');
    fake().answer('POST', ORDER, orderAnswer({ clientOrderId: 'bb2_m0' }));
    const order = await exchange.createMarketOrder({ symbol: 'LTC/USDT', side: 'sell', amount: 0.1, clientOrderId: 'bb2_m0' });
    expect(requests[0]!.method).toBe('POST');
    expect(requests[0]!.path).toBe(recordedRequest('binance', 'createOrder', 'Spot market buy order').path);
    expect(requests[0]!.params).toMatchObject({ symbol: 'LTCUSDT', side: 'SELL', type: 'MARKET', quantity: '0.1', newClientOrderId: 'bb2_m0' });
    // The recorded answer: filled at an average of 90.8.
    expect(order).toMatchObject({ id: '3397148653', clientOrderId: 'bb2_m0', type: 'market', side: 'sell', price: 90.8, amount: 0.1, filled: 0.1, status: 'closed' });
  });

  test('min notional: an order below 5 USDT is refused before any request', async () => {
    const exchange = await open('binance');
    const error = await rejection(exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.05, clientOrderId: 'bb2_0b0' }));
    expect([error.kind, error.code]).toEqual(['rejected', 'MIN_NOTIONAL']);
    expect(requests).toEqual([]);
  });

  test('cancel by client id: DELETE api/v3/order with origClientOrderId', async () => {
    const exchange = await open('binance');
    fake().answer('DELETE', ORDER, orderAnswer({ clientOrderId: 'bb2_4b1', status: 'CANCELED', type: 'LIMIT', side: 'BUY', price: '50.00000000', executedQty: '0.00000000' }));
    const order = await exchange.cancelOrder('bb2_4b1', 'LTC/USDT');
    expect(requests[0]!.method).toBe('DELETE');
    const spotCancel = recordedRequest('binance', 'cancelOrder', 'Spot cancelOrder');
    expect(requests[0]!.path).toBe(spotCancel.path);
    // ccxt's recorded cancel by client id (a swap case) names the parameter origClientOrderId.
    expect(recordedRequest('binance', 'cancelOrder', 'cancel swap order with clientOrderId').params).toHaveProperty('origClientOrderId');
    expect(requests[0]!.params).toMatchObject({ symbol: 'LTCUSDT', origClientOrderId: 'bb2_4b1' });
    expect(requests[0]!.params).not.toHaveProperty('orderId');
    expect(order).toMatchObject({ clientOrderId: 'bb2_4b1', status: 'canceled', price: 50, filled: 0 });
  });

  test('look up by client id: GET api/v3/order with origClientOrderId; -2013 -> undefined', async () => {
    const exchange = await open('binance');
    fake().answer('GET', ORDER, orderAnswer({ clientOrderId: 'bb2_m0' }));
    const order = await exchange.fetchOrderByClientId('bb2_m0', 'LTC/USDT');
    expect(requests[0]!.method).toBe('GET');
    expect(requests[0]!.path).toBe(recordedRequest('binance', 'fetchOrder', 'Spot fetchOrder').path);
    expect(requests[0]!.params).toMatchObject({ symbol: 'LTCUSDT', origClientOrderId: 'bb2_m0' });
    expect(order).toMatchObject({ id: '3397148653', clientOrderId: 'bb2_m0', status: 'closed', timestamp: 1679571174472 });

    fake().answer('GET', ORDER, { code: -2013, msg: 'Order does not exist.' }, 400);
    expect(await exchange.fetchOrderByClientId('bb9_9b9', 'LTC/USDT')).toBeUndefined();
  });

  test('open orders', async () => {
    const exchange = await open('binance');
    fake().answer('GET', '/api/v3/openOrders', recordedResponse('binance', 'fetchOpenOrders', 'Fetch spot open orders'));
    const orders = await exchange.fetchOpenOrders('LTC/USDT');
    expectMatches(requests[0], recordedRequest('binance', 'fetchOpenOrders', 'Spot one orders'));
    // LIMIT_MAKER is a limit order for the port.
    expect(orders).toEqual([
      {
        id: '3811057334',
        clientOrderId: 'x-R4BD3S82102a551f8c1642bba06728',
        symbol: 'LTC/USDT',
        side: 'buy',
        type: 'limit',
        price: 50,
        amount: 0.2,
        filled: 0,
        status: 'open',
        timestamp: 1699380855570,
      },
    ]);
  });

  test('fills: a fee in quote is kept; the client id is looked up by order id', async () => {
    const exchange = await open('binance');
    fake().answer('GET', '/api/v3/myTrades', recordedResponse('binance', 'fetchMyTrades', 'Spot private trade'));
    fake().answer('GET', ORDER, orderAnswer({ orderId: '3784695242', clientOrderId: 'bb2_5s0' }));
    const fills = await exchange.fetchFills('LTC/USDT');
    expectMatches(requests[0], recordedRequest('binance', 'fetchMyTrades', 'Spot fetchMyTrades'));
    expectMatches(requests[1], { ...recordedRequest('binance', 'fetchOrder', 'Spot fetchOrder'), params: { symbol: 'LTCUSDT', orderId: '3784695242' } });
    expect(fills).toEqual([
      {
        tradeId: '309520010',
        orderId: '3784695242',
        clientOrderId: 'bb2_5s0',
        symbol: 'LTC/USDT',
        side: 'sell',
        price: 69.63,
        amount: 0.2,
        fee: 0.013926,
        takerOrMaker: 'taker',
        timestamp: 1698138992358,
      },
    ]);
  });

  test('fills since a time pass startTime', async () => {
    const exchange = await open('binance');
    fake().answer('GET', '/api/v3/myTrades', []);
    expect(await exchange.fetchFills('LTC/USDT', 1698138992358)).toEqual([]);
    expect(requests[0]!.params['startTime']).toBe('1698138992358');
  });

  test('balance: free, used and total per currency', async () => {
    const exchange = await open('binance');
    fake().answer('GET', '/api/v3/account', recordedResponse('binance', 'fetchBalance', 'Spot balance'));
    const balance = await exchange.fetchBalance();
    expectMatches(requests[0], recordedRequest('binance', 'fetchBalance', 'Spot fetch balance'));
    expect(balance['LTC']).toEqual({ free: 0.919741, used: 0, total: 0.919741 });
    expect(balance['BTC']).toEqual({ free: 0, used: 0, total: 0 });
  });

  test('exchange errors: insufficient balance -> rejected, HTTP 429 -> retryable RATE_LIMIT; no secret in the message', async () => {
    const exchange = await open('binance');
    fake().answer('POST', ORDER, { code: -2010, msg: 'Account has insufficient balance for requested action.' }, 400);
    const funds = await rejection(exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.2, clientOrderId: 'bb2_1b0' }));
    expect([funds.kind, funds.code]).toEqual(['rejected', 'INSUFFICIENT_FUNDS']);
    fake().answer('POST', ORDER, { code: -1003, msg: 'Too many requests; current limit of IP is 6000 requests per minute.' }, 429);
    const limited = await rejection(exchange.createLimitOrder({ symbol: 'LTC/USDT', side: 'buy', price: 50, amount: 0.2, clientOrderId: 'bb2_1b0' }));
    expect([limited.kind, limited.code]).toEqual(['retryable', 'RATE_LIMIT']);
    expect(requests[0]!.headers['x-mbx-apikey']).toBe(apiKey);
  });
});

describe('CcxtExchange without fixtures', () => {
  function urlsOf(node: unknown): string[] {
    if (typeof node === 'string') return [node];
    if (node !== null && typeof node === 'object') return Object.values(node).flatMap(urlsOf);
    return [];
  }

  for (const exchangeId of ['bingx', 'binance']) {
    test(`${exchangeId}: EXCHANGE_URL points every REST and WebSocket base URL at the given origin`, async () => {
      const local = new FakeHttp();
      const exchange = await CcxtExchange.create({ exchangeId, apiKey, secret, fetchImplementation: local.fetch, exchangeUrl: 'http://127.0.0.1:8080' });
      const urls = urlsOf(exchange.apiUrls);
      expect(urls.length).toBeGreaterThan(5);
      const ws = urls.filter((url) => url.startsWith('ws'));
      expect(ws.length).toBeGreaterThan(0);
      for (const url of urls) expect(url).toMatch(/^(http|ws):\/\/127\.0\.0\.1:8080(\/|$)/);
      // Paths survive the rewrite.
      expect(urls).toContain(exchangeId === 'bingx' ? 'http://127.0.0.1:8080/openApi' : 'http://127.0.0.1:8080/api/v3');
      // A request really goes there (the first one loads the markets; its answer does not matter here).
      await exchange.fetchBalance().catch(() => undefined);
      expect(local.requests.length).toBeGreaterThan(0);
      for (const request of local.requests) expect(request.url.origin).toBe('http://127.0.0.1:8080');
    });
  }

  test('rebaseApiUrls: https -> https origin, wss -> wss; ports and placeholders in the host are replaced', () => {
    const api = { a: 'https://open-api.{hostname}/openApi', b: { c: 'wss://stream.binance.com:9443/ws' }, d: ['https://x.y/z?q=1'] };
    expect(rebaseApiUrls(api, 'https://sim.local:8443')).toEqual({
      a: 'https://sim.local:8443/openApi',
      b: { c: 'wss://sim.local:8443/ws' },
      d: ['https://sim.local:8443/z?q=1'],
    });
    expect(() => rebaseApiUrls(api, 'ftp://x')).toThrow(/http\(s\) origin/);
    expect(() => rebaseApiUrls(api, 'not a url')).toThrow(/not a URL/);
  });

  test('a failed market load is asked for again on the next call (ccxt would hand back the same rejection forever)', async () => {
    const sim = await startBingxSimulator({ port: 0, ...contractSetup });
    const proxy = await startCuttableProxy(Number(new URL(sim.url).port));
    try {
      const exchange = await CcxtExchange.create({ exchangeId: 'bingx', apiKey, secret, exchangeUrl: `http://127.0.0.1:${proxy.port}`, timeoutMs: 2_000 });
      proxy.cut();
      expect(await rejection(exchange.loadMarket('BTC/USDT'))).toMatchObject({ kind: 'retryable' });
      proxy.restore();
      expect(await exchange.loadMarket('BTC/USDT')).toEqual(contractSetup.market);
    } finally {
      proxy.cut();
      await proxy.close();
      await sim.close();
    }
  });

  test('an unknown exchange id is refused', async () => {
    await expect(CcxtExchange.create({ exchangeId: 'nosuchexchange' })).rejects.toMatchObject({ code: 'BAD_EXCHANGE_ID' });
  });

  test('importing the module does not load ccxt (a child node process, with a resolve hook)', () => {
    // Transpile src/ to plain JS in a temporary directory (imports keep their .js names), then
    // import the adapter in a child node whose resolve hook records every bare specifier.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const out = mkdtempSync(path.join(os.tmpdir(), 'btcbot-ccxt-lazy-'));
    try {
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
          const file = path.join(dir, name);
          if (statSync(file).isDirectory()) walk(file);
          else if (name.endsWith('.ts')) {
            const js = ts.transpileModule(readFileSync(file, 'utf8'), {
              compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
            }).outputText;
            const target = path.join(out, path.relative(path.join(root, 'src'), file)).replace(/\.ts$/, '.js');
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, js);
          }
        }
      };
      walk(path.join(root, 'src'));
      writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
      const adapter = pathToFileURL(path.join(out, 'adapters/exchange/ccxt-exchange.js')).href;
      const script = `
        import { registerHooks } from 'node:module';
        const seen = [];
        registerHooks({ resolve(specifier, context, next) { if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) seen.push(specifier); return next(specifier, context); } });
        const module = await import(${JSON.stringify(adapter)});
        const afterImport = [...seen];
        // Control: the hook does see ccxt when it is loaded.
        await import('ccxt');
        console.log(JSON.stringify({ exported: typeof module.CcxtExchange, afterImport, afterControl: seen }));
      `;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(child.stderr).not.toMatch(/Error/);
      const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as { exported: string; afterImport: string[]; afterControl: string[] };
      expect(result.exported).toBe('function');
      expect(result.afterImport).not.toContain('ccxt');
      expect(result.afterControl).toContain('ccxt');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
