// Fault injection in the BingX simulator, seen through the live adapter (CcxtExchange over an
// unmodified ccxt): each fault at rate 1 gives the matching port error, rates 0 change nothing,
// and a seed reproduces the same faults.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { mulberry32, parseFaultSpec, type SimFaults } from '../../src/adapters/exchange/sim/bingx-sim-faults.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { exchangeErrorOf } from '../support/exchange-error.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
/** The adapter's request timeout here (ccxt's own default is 10 s). */
const CLIENT_TIMEOUT_MS = 400;

const rejection = exchangeErrorOf;

async function simOrders(sim: BingxSimulator): Promise<Array<{ clientOrderId: string; status: string }>> {
  return (await (await fetch(`${sim.url}/__sim/orders`)).json()) as Array<{ clientOrderId: string; status: string }>;
}

let sim: BingxSimulator;
let exchange: CcxtExchange;
let n = 0;
const buy = (): Promise<unknown> => exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 40_000, amount: 0.001, clientOrderId: `f-${++n}` });

describe('BingX simulator faults through CcxtExchange', () => {
  beforeAll(async () => {
    sim = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price: 50_000 });
    exchange = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'k', secret: 's', exchangeUrl: sim.url, timeoutMs: CLIENT_TIMEOUT_MS });
    await exchange.loadMarket('BTC/USDT');
  });

  afterAll(async () => {
    await sim.close();
  });

  test.each<[string, SimFaults, { kind: string; code: string }]>([
    ['error (HTTP 500)', { error: 1 }, { kind: 'unknown', code: 'EXCHANGE_ERROR' }],
    ['busy (100410)', { busy: 1 }, { kind: 'retryable', code: 'BUSY' }],
    ['rate limit (HTTP 429)', { rateLimit: 1 }, { kind: 'retryable', code: 'RATE_LIMIT' }],
  ])('%s at rate 1: the port error, and no order is placed', async (_name, faults, expected) => {
    sim.setFaults(faults);
    try {
      const before = await simOrders(sim);
      expect(await rejection(buy())).toMatchObject(expected);
      expect(await rejection(exchange.fetchBalance())).toMatchObject(expected);
      expect(await rejection(exchange.fetchOpenOrders('BTC/USDT'))).toMatchObject(expected);
      expect(await simOrders(sim)).toEqual(before);
    } finally {
      sim.setFaults(undefined);
    }
  });

  test('the fault answers are BingX-shaped with the right HTTP status', async () => {
    const cases: Array<[SimFaults, number, string]> = [
      [{ error: 1 }, 500, '100503'],
      [{ busy: 1 }, 200, '100410'],
      [{ rateLimit: 1 }, 429, '429'],
    ];
    for (const [faults, status, code] of cases) {
      sim.setFaults(faults);
      const response = await fetch(`${sim.url}/openApi/spot/v1/account/balance?timestamp=${Date.now()}&signature=x`, { headers: { 'X-BX-APIKEY': 'k' } });
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ code, msg: expect.any(String), debugMsg: '', data: {} });
      // Public and test endpoints are never faulted.
      expect((await fetch(`${sim.url}/openApi/spot/v1/common/symbols`)).status).toBe(200);
      expect((await fetch(`${sim.url}/__sim/price`)).status).toBe(200);
    }
    sim.setFaults(undefined);
  });

  test('timeoutAfterAccept at rate 1: the create call times out, but the order exists', async () => {
    sim.setFaults({ timeoutAfterAccept: 1 });
    try {
      const started = performance.now();
      const error = await rejection(buy());
      expect(error).toMatchObject({ kind: 'retryable', code: 'TIMEOUT' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(CLIENT_TIMEOUT_MS - 20);
      expect((await simOrders(sim)).at(-1)).toMatchObject({ clientOrderId: `f-${n}`, status: 'open' });
      // Only order creation is withheld: the order is readable by its client id.
      expect(await exchange.fetchOrderByClientId(`f-${n}`, 'BTC/USDT')).toMatchObject({ status: 'open' });
    } finally {
      sim.setFaults(undefined);
    }
  });

  test('a withheld answer is released when the simulator closes', async () => {
    const other = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price: 50_000, faults: { timeoutAfterAccept: 1 } });
    const body = `symbol=BTC-USDT&side=BUY&type=LIMIT&price=40000&quantity=0.001&newClientOrderId=held&timestamp=${Date.now()}&signature=x`;
    const pending = fetch(`${other.url}/openApi/spot/v1/trade/order`, {
      method: 'POST',
      headers: { 'X-BX-APIKEY': 'k', 'content-type': 'application/x-www-form-urlencoded' },
      body,
    }).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(other.exchange.allOrders().map((order) => order.clientOrderId)).toEqual(['held']);
    const closing = performance.now();
    await other.close();
    expect(await pending).toBe('dropped');
    expect(performance.now() - closing).toBeLessThan(1000);
  });

  test('latency delays private answers', async () => {
    sim.setFaults({ latency: 150 });
    try {
      const started = performance.now();
      await exchange.fetchBalance();
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      sim.setFaults(undefined);
    }
  });

  test('rates 0 change nothing', async () => {
    sim.setFaults({ latency: 0, error: 0, busy: 0, rateLimit: 0, timeoutAfterAccept: 0, seed: 3 });
    try {
      const order = await exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 41_000, amount: 0.001, clientOrderId: 'zero-rates' });
      expect(order).toMatchObject({ clientOrderId: 'zero-rates', status: 'open' });
      expect((await exchange.fetchOpenOrders('BTC/USDT')).map((o) => o.clientOrderId)).toContain('zero-rates');
      expect(await exchange.cancelOrder('zero-rates', 'BTC/USDT')).toMatchObject({ status: 'canceled' });
      expect((await exchange.fetchBalance())['BTC']!.total).toBe(1);
    } finally {
      sim.setFaults(undefined);
    }
  });
});

describe('seeded faults are reproducible', () => {
  /** The codes of `count` balance requests to a fresh simulator started with `faults`. */
  async function codes(faults: SimFaults, count: number): Promise<string[]> {
    const sim = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price: 50_000, faults });
    try {
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const response = await fetch(`${sim.url}/openApi/spot/v1/account/balance?timestamp=${Date.now()}&signature=x`, { headers: { 'X-BX-APIKEY': 'k' } });
        out.push(`${response.status}:${((await response.json()) as { code: string }).code}`);
      }
      return out;
    } finally {
      await sim.close();
    }
  }

  test('the same seed gives the same faults; another seed other faults', async () => {
    const faults: SimFaults = { error: 0.3, busy: 0.3, rateLimit: 0.3, seed: 42 };
    const first = await codes(faults, 30);
    expect(await codes(faults, 30)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['200:0', '500:100503', '200:100410', '429:429']));
    expect(await codes({ ...faults, seed: 43 }, 30)).not.toEqual(first);
  });

  test('mulberry32 is deterministic and uniform enough', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const draws = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });
});

describe('--faults SPEC', () => {
  test('every key, case-insensitive', () => {
    expect(parseFaultSpec('latency=50,error=0.1,busy=0.05,ratelimit=0.05,timeoutAfterAccept=0.02,hold=1000,seed=7')).toEqual({
      latency: 50,
      error: 0.1,
      busy: 0.05,
      rateLimit: 0.05,
      timeoutAfterAccept: 0.02,
      holdMs: 1000,
      seed: 7,
    });
    expect(parseFaultSpec(' RateLimit = 1 ')).toEqual({ rateLimit: 1 });
  });

  test.each([
    ['error=2', 'error=2'],
    ['busy=-0.1', 'busy=-0.1'],
    ['latency=50,bogus=1', 'bogus=1'],
    ['latency', 'latency'],
    ['latency=-5', 'latency=-5'],
    ['seed=1.5', 'seed=1.5'],
    ['error=x', 'error=x'],
    ['error=0.1,,busy=0.1', '""'],
    ['', '""'],
  ])('%j is a usage error naming %s', (spec, part) => {
    expect(() => parseFaultSpec(spec)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(part) }));
  });
});
