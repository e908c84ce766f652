// Fault injection in the BingX simulator, seen through the live adapter (CcxtExchange over an
// unmodified ccxt): each fault at rate 1 gives the matching port error, rates 0 change nothing,
// resting orders fill in two parts, and a seed reproduces the same faults. (dropWs, a WebSocket
// fault, is tested with the WebSocket in bingx-sim-ws.test.ts.)
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { FaultInjector, mulberry32, parseFaultSpec, type SimFaults } from '../../src/adapters/exchange/sim/bingx-sim-faults.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { exchangeErrorOf } from '../support/exchange-error.js';
import { useTempDir } from '../support/temp-dir.js';

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

  test('insufficient at rate 1: ccxt InsufficientFunds (BingX 100202) on creations only, and no order is placed', async () => {
    sim.setFaults({ insufficient: 1 });
    try {
      const before = await simOrders(sim);
      expect(await rejection(buy())).toMatchObject({ kind: 'rejected', code: 'INSUFFICIENT_FUNDS', message: expect.stringContaining('simulated fault') });
      expect(await rejection(exchange.createMarketOrder({ symbol: 'BTC/USDT', side: 'sell', amount: 0.001, clientOrderId: `f-${++n}` }))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
      expect((await exchange.fetchBalance())['BTC']!.total).toBe(1);
      expect(await simOrders(sim)).toEqual(before);
      const body = `symbol=BTC-USDT&side=BUY&type=LIMIT&price=40000&quantity=0.001&newClientOrderId=raw-refused&timestamp=${Date.now()}&signature=x`;
      const response = await fetch(`${sim.url}/openApi/spot/v1/trade/order`, { method: 'POST', headers: { 'X-BX-APIKEY': 'k', 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ code: '100202', msg: 'Insufficient balance (simulated fault)', debugMsg: '', data: {} });
    } finally {
      sim.setFaults(undefined);
    }
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
    sim.setFaults({ latency: 0, error: 0, busy: 0, rateLimit: 0, timeoutAfterAccept: 0, insufficient: 0, partial: 0, dropWs: 0, seed: 3 });
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

  test('a 429 lasts `rateLimitBurst` requests', async () => {
    const sequence = await codes({ rateLimit: 0.15, rateLimitBurst: 3, seed: 5 }, 40);
    // The lengths of the runs of 429s that ended before the sequence did.
    const runs: number[] = [];
    let run = 0;
    for (const code of sequence) {
      if (code === '429:429') run++;
      else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.every((length) => length >= 3)).toBe(true);
  });

  test('the same seed refuses the same order creations', async () => {
    /** The codes of `count` order creations to a fresh simulator started with `faults`. */
    async function creations(faults: SimFaults, count: number): Promise<string[]> {
      const sim = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price: 50_000, faults });
      try {
        const out: string[] = [];
        for (let i = 0; i < count; i++) {
          const body = `symbol=BTC-USDT&side=BUY&type=LIMIT&price=40000&quantity=0.001&newClientOrderId=c${i}&timestamp=${Date.now()}&signature=x`;
          const response = await fetch(`${sim.url}/openApi/spot/v1/trade/order`, { method: 'POST', headers: { 'X-BX-APIKEY': 'k', 'content-type': 'application/x-www-form-urlencoded' }, body });
          out.push(((await response.json()) as { code: string }).code);
        }
        return out;
      } finally {
        await sim.close();
      }
    }
    const first = await creations({ insufficient: 0.5, busy: 0.2, seed: 11 }, 20);
    expect(await creations({ insufficient: 0.5, busy: 0.2, seed: 11 }, 20)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['0', '100202', '100410']));
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

describe('partial fills (partial=P)', () => {
  const temp = useTempDir('bingx-sim-partial-');
  let partialSim: BingxSimulator;
  let adapter: CcxtExchange;

  async function start(faults: SimFaults, statePath?: string): Promise<void> {
    partialSim = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 1, quote: 10_000 }, price: 50_000, faults, ...(statePath ? { statePath } : {}) });
    adapter = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'k', secret: 's', exchangeUrl: partialSim.url });
  }

  beforeEach(async () => start({ partial: 1, seed: 2 }));
  afterEach(async () => partialSim.close());

  const place = (clientOrderId: string, amount = 0.01): Promise<unknown> => adapter.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000, amount, clientOrderId });

  test('the price passing through: two fills at the order price, distinct trade ids, the whole amount, the same wallet', async () => {
    await place('p-1');
    const made = partialSim.step(48_000);
    expect(made).toHaveLength(2);
    expect(new Set(made.map((fill) => fill.tradeId)).size).toBe(2);
    expect(made.every((fill) => fill.price === 49_000 && fill.clientOrderId === 'p-1' && fill.takerOrMaker === 'maker')).toBe(true);
    expect(made[0]!.amount + made[1]!.amount).toBeCloseTo(0.01, 12);
    expect(made[0]!.amount).toBeGreaterThanOrEqual(0.001);
    expect(made[0]!.amount).toBeLessThanOrEqual(0.009);

    const fetched = await adapter.fetchFills('BTC/USDT');
    expect(fetched.map((fill) => fill.clientOrderId)).toEqual(['p-1', 'p-1']);
    fetched.forEach((fill, i) => expect(fill.amount).toBeCloseTo(made[i]!.amount, 12));
    expect(await adapter.fetchOrderByClientId('p-1', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
    const balance = await adapter.fetchBalance();
    expect(balance['BTC']!.total).toBeCloseTo(1.01, 12);
    expect(balance['USDT']!.total).toBeCloseTo(10_000 - 490 - 0.49, 8);
    expect(balance['USDT']!.used).toBe(0);
  });

  test('the price touching the order and turning: one part filled, the rest rests with its funds locked, then fills or is canceled', async () => {
    await place('p-1');
    await place('p-2', 0.02);
    const [part] = partialSim.step(49_000);
    expect(part!.clientOrderId).toBe('p-1');
    // The first order took the level's liquidity: p-2, behind it at the same price, waits too.
    expect((await adapter.fetchOpenOrders('BTC/USDT')).map((order) => [order.clientOrderId, order.status, order.filled])).toEqual([
      ['p-1', 'open', part!.amount],
      ['p-2', 'open', 0],
    ]);
    const used = (await adapter.fetchBalance())['USDT']!.used;
    expect(used).toBeCloseTo((0.01 - part!.amount + 0.02) * 49_000 * 1.001, 6);

    partialSim.step(50_000);
    expect(partialSim.step(49_000).map((fill) => fill.clientOrderId)).toEqual(['p-1', 'p-2']);
    expect(await adapter.fetchOrderByClientId('p-1', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
    // p-2 was split in its turn: its first part.
    expect(await adapter.fetchOrderByClientId('p-2', 'BTC/USDT')).toMatchObject({ status: 'open' });
    expect(await adapter.cancelOrder('p-2', 'BTC/USDT')).toMatchObject({ status: 'canceled', filled: expect.any(Number) });
    expect((await adapter.fetchBalance())['USDT']!.used).toBe(0);
  });

  test('a partly filled order survives a restart from the state file and fills the rest after it', async () => {
    await partialSim.close();
    const statePath = temp.path('partial-state.json');
    await start({ partial: 1, seed: 2 }, statePath);
    await place('p-1');
    const [part] = partialSim.step(49_000);
    await partialSim.close();
    await start({}, statePath);
    expect(await adapter.fetchOrderByClientId('p-1', 'BTC/USDT')).toMatchObject({ status: 'open', filled: part!.amount });
    const [rest] = partialSim.step(48_000);
    expect(rest!.amount).toBeCloseTo(0.01 - part!.amount, 12);
    expect(await adapter.fetchOrderByClientId('p-1', 'BTC/USDT')).toMatchObject({ status: 'closed', filled: 0.01 });
  });

  test('the same seed splits the same way, rate 0 never', async () => {
    const parts = async (faults: SimFaults): Promise<number[]> => {
      await partialSim.close();
      await start(faults);
      // Straight to the matching engine: the split is its business, not the REST layer's.
      for (let i = 0; i < 5; i++) await partialSim.exchange.createLimitOrder({ symbol: 'BTC/USDT', side: 'buy', price: 49_000 - i * 100, amount: 0.01, clientOrderId: `s-${i}` });
      return partialSim.step(48_000).map((fill) => fill.amount);
    };
    const seeded = await parts({ partial: 0.5, seed: 21 });
    expect(await parts({ partial: 0.5, seed: 21 })).toEqual(seeded);
    expect(seeded.length).toBeGreaterThan(5);
    expect(seeded.length).toBeLessThan(10);
    expect(await parts({ partial: 0, seed: 21 })).toEqual([0.01, 0.01, 0.01, 0.01, 0.01]);
  });

  test('a split takes 10 % to 90 %, in amount steps; an order of one step is not split', () => {
    const injector = new FaultInjector({ partial: 1 });
    for (let i = 0; i < 200; i++) {
      const part = injector.splitFill(0.01, 0.00001)!;
      expect(part).toBeGreaterThanOrEqual(0.001);
      expect(part).toBeLessThan(0.009);
      expect(Math.abs(part / 0.00001 - Math.round(part / 0.00001))).toBeLessThan(1e-6);
    }
    expect(injector.splitFill(0.00001, 0.00001)).toBeUndefined();
  });
});

describe('--faults SPEC', () => {
  test('every key, case-insensitive', () => {
    expect(parseFaultSpec('latency=50,error=0.1,busy=0.05,ratelimit=0.05,burst=4,timeoutAfterAccept=0.02,hold=1000,insufficient=0.03,partial=0.4,dropWs=60000,seed=7')).toEqual({
      latency: 50,
      error: 0.1,
      busy: 0.05,
      rateLimit: 0.05,
      rateLimitBurst: 4,
      timeoutAfterAccept: 0.02,
      holdMs: 1000,
      insufficient: 0.03,
      partial: 0.4,
      dropWs: 60_000,
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
    ['dropWs=-1', 'dropWs=-1'],
    ['burst=0', 'burst=0'],
    ['burst=2.5', 'burst=2.5'],
    ['partial=1.5', 'partial=1.5'],
    ['insufficient=x', 'insufficient=x'],
    ['seed=1.5', 'seed=1.5'],
    ['error=x', 'error=x'],
    ['error=0.1,,busy=0.1', '""'],
    ['', '""'],
  ])('%j is a usage error naming %s', (spec, part) => {
    expect(() => parseFaultSpec(spec)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(part) }));
  });
});
