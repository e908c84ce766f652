// The BingX simulator driven through the live adapter (CcxtExchange) and an unmodified ccxt whose
// API URLs point at it: markets, orders by client id, fills when the price moves, cancel,
// rejections, auth errors, restart from the state file, and the answers' shapes against ccxt's
// recorded BingX responses (../shared/fixtures/ccxt, read in place).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulator, type BingxSimulatorOptions } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { recordedResponse } from '../adapters/ccxt-fixtures.js';
import { hasShared, sharedDir, sharedSkipReason } from '../shared.js';
import { exchangeErrorOf } from '../support/exchange-error.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const fees = { maker: 0.001, taker: 0.002 };

let dir: string;
let statePath: string;
let sim: BingxSimulator;
let exchange: CcxtExchange;
/** Every answer the simulator gave ccxt: path and parsed body. */
const answers: Array<{ path: string; body: unknown }> = [];

function options(): BingxSimulatorOptions {
  return { port: 0, market, fees, balance: { base: 0.1, quote: 10_000 }, price: 50_000, statePath };
}

/** A fetch that records the answers (for the shape checks) and otherwise is the real fetch. */
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const text = await response.clone().text();
  answers.push({ path: new URL(String(input instanceof Request ? input.url : input)).pathname, body: JSON.parse(text) });
  return response;
};

async function connect(url: string, fetchImplementation: typeof fetch = recordingFetch): Promise<CcxtExchange> {
  return CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'sim-key', secret: 'sim-secret', exchangeUrl: url, fetchImplementation });
}

const rejection = exchangeErrorOf;

/** The last successful answer (code "0") on that path. */
function lastAnswer(pathname: string): unknown {
  const found = answers.filter((answer) => answer.path === pathname && (answer.body as { code?: unknown }).code === '0').at(-1);
  if (!found) throw new Error(`no successful answer recorded for ${pathname}`);
  return found.body;
}

/**
 * Same shape: every key of the recorded value is in ours with the same JSON type, recursively
 * (arrays compare their first items). Returns the differences, as paths.
 */
function shapeDifferences(recorded: unknown, ours: unknown, at = '$'): string[] {
  const kind = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
  if (kind(recorded) !== kind(ours)) return [`${at}: recorded ${kind(recorded)}, simulator ${kind(ours)}`];
  if (Array.isArray(recorded) && Array.isArray(ours)) {
    if (recorded.length === 0 || ours.length === 0) return recorded.length === ours.length || recorded.length === 0 ? [] : [`${at}: simulator list is empty`];
    return shapeDifferences(recorded[0], ours[0], `${at}[0]`);
  }
  if (kind(recorded) === 'object') {
    const mine = ours as Record<string, unknown>;
    return Object.entries(recorded as Record<string, unknown>).flatMap(([key, value]) =>
      key in mine ? shapeDifferences(value, mine[key], `${at}.${key}`) : [`${at}.${key}: missing`],
    );
  }
  return [];
}

async function simJson(pathname: string): Promise<unknown> {
  const response = await fetch(`${sim.url}${pathname}`);
  expect(response.status).toBe(200);
  return response.json();
}

describe('BingX simulator through unmodified ccxt', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bingx-sim-'));
    statePath = path.join(dir, 'state.json');
    sim = await startBingxSimulator(options());
    exchange = await connect(sim.url);
  });

  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('loadMarket reads the spot symbol the simulator trades', async () => {
    expect(await exchange.loadMarket('BTC/USDT')).toEqual(market);
    const paths = sim.calls.map((call) => `${call.method} ${call.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /openApi/spot/v1/common/symbols',
        'GET /openApi/swap/v2/quote/contracts',
        'GET /openApi/cswap/v1/market/contracts',
        'GET /openApi/wallets/v1/capital/config/getall',
      ]),
    );
    expect(sim.calls.every((call) => call.code === 0)).toBe(true);
    expect(await rejection(exchange.loadMarket('ETH/USDT'))).toMatchObject({ kind: 'rejected' });
  });

  test('a limit buy with a client id rests, is listed and found by its client id', async () => {
    const order = await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000, amount: 0.01, clientOrderId: 'grid-b1' });
    expect(order).toMatchObject({ clientOrderId: 'grid-b1', side: 'buy', type: 'limit', price: 49_000, amount: 0.01, filled: 0, status: 'open' });
    expect(order.id).toMatch(/^\d{19}$/);

    const open = await exchange.fetchOpenOrders('BTC/USDT');
    expect(open.map((o) => [o.clientOrderId, o.status, o.price, o.amount])).toEqual([['grid-b1', 'open', 49_000, 0.01]]);

    expect(await exchange.fetchOrderByClientId('grid-b1', 'BTC/USDT')).toMatchObject({ id: order.id, clientOrderId: 'grid-b1', status: 'open', filled: 0 });
    expect(await exchange.fetchOrderByClientId('no-such-order', 'BTC/USDT')).toBeUndefined();

    const balance = await exchange.fetchBalance();
    expect(balance['USDT']!.used).toBeCloseTo(0.01 * 49_000 * (1 + fees.maker), 8);
    expect(balance['USDT']!.total).toBeCloseTo(10_000, 8);
    expect(balance['BTC']).toEqual({ free: 0.1, used: 0, total: 0.1 });
  });

  test('moving the price through the buy fills it: fill, order status and balance', async () => {
    const made = sim.step(48_900);
    expect(made).toHaveLength(1);
    expect(sim.exchange.lastPrice).toBe(48_900);

    const fills = await exchange.fetchFills('BTC/USDT');
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ clientOrderId: 'grid-b1', side: 'buy', price: 49_000, amount: 0.01, takerOrMaker: 'maker' });
    expect(fills[0]!.fee).toBeCloseTo(0.49, 10);

    expect(await exchange.fetchOrderByClientId('grid-b1', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
    expect(await exchange.fetchOpenOrders('BTC/USDT')).toEqual([]);

    const balance = await exchange.fetchBalance();
    expect(balance['BTC']!.total).toBeCloseTo(0.11, 12);
    expect(balance['USDT']!.total).toBeCloseTo(10_000 - 490 - 0.49, 8);
    expect(balance['USDT']!.used).toBe(0);
  });

  test('cancel by client id', async () => {
    await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'sell', price: 52_000, amount: 0.02, clientOrderId: 'grid-s1' });
    expect((await exchange.fetchBalance())['BTC']!.used).toBeCloseTo(0.02, 12);
    const canceled = await exchange.cancelOrder('grid-s1', 'BTC/USDT');
    expect(canceled).toMatchObject({ clientOrderId: 'grid-s1', status: 'canceled', filled: 0 });
    expect(await exchange.fetchOpenOrders('BTC/USDT')).toEqual([]);
    expect(await exchange.fetchOrderByClientId('grid-s1', 'BTC/USDT')).toMatchObject({ status: 'canceled' });
    expect((await exchange.fetchBalance())['BTC']!.used).toBe(0);
    // Canceling it again, or an order that never existed: not found.
    expect(await rejection(exchange.cancelOrder('grid-s1', 'BTC/USDT'))).toMatchObject({ kind: 'notFound' });
    expect(await rejection(exchange.cancelOrder('never-placed', 'BTC/USDT'))).toMatchObject({ kind: 'notFound' });
  });

  test('insufficient funds, duplicate client id and a market order', async () => {
    const funds = await rejection(exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 48_000, amount: 1, clientOrderId: 'too-big' }));
    expect(funds).toMatchObject({ kind: 'rejected', code: 'INSUFFICIENT_FUNDS' });

    const duplicate = await rejection(exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 48_000, amount: 0.001, clientOrderId: 'grid-b1' }));
    expect(duplicate.kind).toBe('rejected');
    expect(duplicate.message).toContain('duplicate client order id');

    const market = await exchange.createMarketOrder({ symbol: 'BTC/USDT', side: 'sell', amount: 0.001, clientOrderId: 'mkt-1' });
    expect(market).toMatchObject({ clientOrderId: 'mkt-1', type: 'market', status: 'closed', filled: 0.001 });
    const fills = await exchange.fetchFills('BTC/USDT');
    expect(fills.at(-1)).toMatchObject({ clientOrderId: 'mkt-1', side: 'sell', price: 48_900, amount: 0.001, takerOrMaker: 'taker' });
  });

  test('private endpoints refuse requests without key or signature (ccxt: AuthenticationError)', async () => {
    const withoutKey: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('X-BX-APIKEY');
      return fetch(input, { ...init, headers });
    };
    const keyless = await connect(sim.url, withoutKey);
    expect(await rejection(keyless.fetchBalance())).toMatchObject({ kind: 'auth', code: 'AUTH' });

    const unsigned = await fetch(`${sim.url}/openApi/spot/v1/account/balance?timestamp=${Date.now()}`, { headers: { 'X-BX-APIKEY': 'k' } });
    expect(await unsigned.json()).toEqual({ code: '100412', msg: 'Null signature', debugMsg: '', data: {} });

    const unknown = await fetch(`${sim.url}/openApi/spot/v1/trade/historyOrders?symbol=BTC-USDT`);
    expect(unknown.status).toBe(404);
    const body = (await unknown.json()) as { code: string; msg: string };
    expect(body.code).toBe('100400');
    expect(body.msg).toContain('/openApi/spot/v1/trade/historyOrders');
  });

  test('the REST ticker (fetchTicker): the last price, for the start and while the stream is down', async () => {
    const tick = await exchange.fetchTick('BTC/USDT');
    expect(tick).toMatchObject({ symbol: 'BTC/USDT', price: sim.exchange.lastPrice });
    expect(Math.abs(tick.timestamp - Date.now())).toBeLessThan(5_000);
  });

  test('test endpoints list orders, fills and balances', async () => {
    const orders = (await simJson('/__sim/orders')) as Array<{ clientOrderId: string; status: string; side: string; price: number; amount: number; filled: number }>;
    expect(orders.map((o) => [o.clientOrderId, o.status, o.side, o.price, o.amount, o.filled])).toEqual([
      ['grid-b1', 'closed', 'buy', 49_000, 0.01, 0.01],
      ['grid-s1', 'canceled', 'sell', 52_000, 0.02, 0],
      ['mkt-1', 'closed', 'sell', 48_900, 0.001, 0.001],
    ]);
    const fills = (await simJson('/__sim/fills')) as Array<{ clientOrderId: string }>;
    expect(fills.map((f) => f.clientOrderId)).toEqual(['grid-b1', 'mkt-1']);
    const balances = (await simJson('/__sim/balances')) as Record<string, { total: number }>;
    expect(balances['BTC']!.total).toBeCloseTo(0.109, 12);
  });

  test('a restarted simulator resumes from its state file', async () => {
    await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 48_000, amount: 0.01, clientOrderId: 'grid-b2' });
    const before = {
      orders: await simJson('/__sim/orders'),
      fills: await simJson('/__sim/fills'),
      balances: await simJson('/__sim/balances'),
    };
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { orders: unknown[] };
    expect(saved.orders).toHaveLength(4);

    await sim.close();
    sim = await startBingxSimulator({ ...options(), price: 1, balance: { base: 0, quote: 0 } });
    exchange = await connect(sim.url);
    expect(sim.exchange.lastPrice).toBe(48_900);
    expect({ orders: await simJson('/__sim/orders'), fills: await simJson('/__sim/fills'), balances: await simJson('/__sim/balances') }).toEqual(before);

    expect((await exchange.fetchOpenOrders('BTC/USDT')).map((o) => o.clientOrderId)).toEqual(['grid-b2']);
    expect(await exchange.fetchOrderByClientId('grid-b1', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
    expect(await exchange.fetchOrderByClientId('grid-s1', 'BTC/USDT')).toMatchObject({ status: 'canceled' });
    // A fresh adapter attributes the old fills by looking their orders up by id.
    expect((await exchange.fetchFills('BTC/USDT')).map((f) => f.clientOrderId)).toEqual(['grid-b1', 'mkt-1']);

    // The resting order still fills, and the new order ids continue where they stopped.
    expect(sim.step(47_000)).toHaveLength(1);
    expect(await exchange.fetchOrderByClientId('grid-b2', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
    const next = await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'sell', price: 55_000, amount: 0.01, clientOrderId: 'grid-s2' });
    expect(next.id).toBe('1700000000000000005');
  });
});

describe.skipIf(!hasShared)(`BingX simulator answers have the recorded BingX shapes${hasShared ? '' : ` (skipped: ${sharedSkipReason})`}`, () => {
  const cases: Array<[method: string, description: string, pathname: string]> = [
    ['createOrder', 'spot create order limit buy', '/openApi/spot/v1/trade/order'],
    ['cancelOrder', 'spot cancel order', '/openApi/spot/v1/trade/cancel'],
    ['fetchBalance', 'spot fetchBalance', '/openApi/spot/v1/account/balance'],
    ['fetchOpenOrders', 'spot open orders', '/openApi/spot/v1/trade/openOrders'],
    ['fetchMyTrades', 'Spot trade', '/openApi/spot/v1/trade/myTrades'],
    ['fetchTicker', 'public spot ticker', '/openApi/spot/v1/ticker/24hr'],
  ];

  test.each(cases)('%s (%s)', (method, description, pathname) => {
    expect(shapeDifferences(recordedResponse('bingx', method, description), lastAnswer(pathname))).toEqual([]);
  });

  test('the spot symbol has the recorded market info shape', () => {
    const markets = JSON.parse(readFileSync(path.join(sharedDir, 'fixtures/ccxt/markets/bingx.json'), 'utf8')) as Record<string, { info: unknown }>;
    const answer = lastAnswer('/openApi/spot/v1/common/symbols') as { data: { symbols: unknown[] } };
    expect(shapeDifferences(markets['BTC/USDT']!.info, answer.data.symbols[0])).toEqual([]);
  });
});
