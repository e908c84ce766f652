// The paper exchange behind the exchange port: src/adapters/exchange/paper-exchange.ts against
// ../shared/spec/grid-semantics.md ("Wallet and fees", "Candle walk").
import { describe, expect, test } from 'vitest';
import { PaperExchange, type PaperExchangeOptions, type PaperExchangeState } from '../../src/adapters/exchange/paper-exchange.js';
import { ExchangeError, type ExchangeEvent, type ExchangePort, type MarketInfo } from '../../src/adapters/exchange/port.js';
import type { Side } from '../../src/domain/trading.js';

const SYMBOL = 'BTC/USDT';
const MARKET: MarketInfo = { symbol: SYMBOL, base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const MAKER = 0.001;
const TAKER = 0.002;

interface Harness {
  exchange: PaperExchange;
  clock: { t: number };
  options: PaperExchangeOptions;
}

function paper(balance = { base: 1, quote: 10_000 }, price: number | null = 110, keepFills = true): Harness {
  const clock = { t: 1_000 };
  const options: PaperExchangeOptions = { market: MARKET, fees: { maker: MAKER, taker: TAKER }, balance, now: () => clock.t, keepFills };
  const exchange = new PaperExchange(options);
  if (price !== null) exchange.setPrice(price);
  return { exchange, clock, options };
}

let nextId = 1;
function limit(exchange: ExchangePort, side: Side, price: number, amount: number, clientOrderId = `c${nextId++}`) {
  return exchange.createLimitOrder({ symbol: SYMBOL, side, price, amount, clientOrderId });
}

function market(exchange: ExchangePort, side: Side, amount: number, clientOrderId = `m${nextId++}`) {
  return exchange.createMarketOrder({ symbol: SYMBOL, side, amount, clientOrderId });
}

async function balances(exchange: ExchangePort) {
  const all = await exchange.fetchBalance();
  return { base: all.BTC!, quote: all.USDT! };
}

async function exchangeErrorOf(promise: Promise<unknown>): Promise<ExchangeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExchangeError);
    return error as ExchangeError;
  }
  throw new Error('expected an ExchangeError, the call succeeded');
}

/** Steps towards `target` until nothing more fills; the prices at which step returned true. */
function walk(exchange: PaperExchange, target: number): number[] {
  const stops: number[] = [];
  while (exchange.step(target)) stops.push(exchange.lastPrice);
  expect(exchange.lastPrice).toBe(target);
  return stops;
}

/** Lets queued microtasks (event delivery) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('market info and symbols', () => {
  test('loadMarket returns the configured market', async () => {
    const { exchange } = paper();
    expect(await exchange.loadMarket(SYMBOL)).toEqual(MARKET);
  });

  test('a wrong symbol is rejected by every call that takes one', async () => {
    const { exchange } = paper();
    const calls: Promise<unknown>[] = [
      exchange.loadMarket('ETH/USDT'),
      exchange.createLimitOrder({ symbol: 'ETH/USDT', side: 'buy', price: 100, amount: 0.1, clientOrderId: 'x1' }),
      exchange.createMarketOrder({ symbol: 'ETH/USDT', side: 'buy', amount: 0.1, clientOrderId: 'x2' }),
      exchange.cancelOrder('x1', 'ETH/USDT'),
      exchange.fetchOrderByClientId('x1', 'ETH/USDT'),
      exchange.fetchOpenOrders('ETH/USDT'),
      exchange.fetchFills('ETH/USDT'),
    ];
    for (const call of calls) {
      const error = await exchangeErrorOf(call);
      expect(error.kind).toBe('rejected');
      expect(error.code).toBe('BAD_SYMBOL');
      expect(error.message).toContain('ETH/USDT');
    }
    // nothing was placed or changed
    expect(await balances(exchange)).toEqual({ base: { free: 1, used: 0, total: 1 }, quote: { free: 10_000, used: 0, total: 10_000 } });
    expect(await exchange.fetchOpenOrders(SYMBOL)).toEqual([]);
  });

  test('orders before the first price are retryable (no market price yet)', async () => {
    const { exchange } = paper(undefined, null);
    expect(exchange.lastPrice).toBeNaN();
    const error = await exchangeErrorOf(limit(exchange, 'buy', 100, 0.1));
    expect(error.kind).toBe('retryable');
    expect(error.code).toBe('NO_PRICE');
  });

  test('invalid amounts and prices are rejected', async () => {
    const { exchange } = paper();
    expect((await exchangeErrorOf(limit(exchange, 'buy', 100, 0))).code).toBe('INVALID_ORDER');
    expect((await exchangeErrorOf(limit(exchange, 'buy', 100, -1))).code).toBe('INVALID_ORDER');
    expect((await exchangeErrorOf(limit(exchange, 'buy', 0, 0.1))).code).toBe('INVALID_ORDER');
    expect((await exchangeErrorOf(limit(exchange, 'buy', Number.NaN, 0.1))).kind).toBe('rejected');
    expect((await exchangeErrorOf(market(exchange, 'buy', 0))).code).toBe('INVALID_ORDER');
  });
});

describe('locking funds', () => {
  test('a limit buy locks q * p * (1 + maker) quote', async () => {
    const { exchange } = paper();
    const order = await limit(exchange, 'buy', 100, 0.1, 'b1');
    expect(order).toMatchObject({ clientOrderId: 'b1', symbol: SYMBOL, side: 'buy', type: 'limit', price: 100, amount: 0.1, filled: 0, status: 'open' });
    const { quote, base } = await balances(exchange);
    expect(quote.used).toBeCloseTo(0.1 * 100 * (1 + MAKER), 12);
    expect(quote.free).toBeCloseTo(10_000 - 10.01, 9);
    expect(quote.total).toBe(10_000);
    expect(base).toEqual({ free: 1, used: 0, total: 1 });
  });

  test('a limit sell locks q base', async () => {
    const { exchange } = paper();
    await limit(exchange, 'sell', 120, 0.2);
    const { quote, base } = await balances(exchange);
    expect(base.used).toBe(0.2);
    expect(base.free).toBe(0.8);
    expect(base.total).toBe(1);
    expect(quote).toEqual({ free: 10_000, used: 0, total: 10_000 });
  });

  test('locks add up over several orders', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1);
    await limit(exchange, 'buy', 90, 0.2);
    await limit(exchange, 'sell', 120, 0.3);
    await limit(exchange, 'sell', 130, 0.4);
    const { quote, base } = await balances(exchange);
    expect(quote.used).toBeCloseTo((10 + 18) * (1 + MAKER), 9);
    expect(base.used).toBeCloseTo(0.7, 12);
    expect(base.free).toBeCloseTo(0.3, 12);
  });

  test('a buy whose quote is not free is rejected: insufficient funds', async () => {
    const { exchange } = paper({ base: 1, quote: 100 });
    await limit(exchange, 'buy', 100, 0.5); // locks 50.05, 49.95 free
    // 0.5 * 100 * 1.001 = 50.05 > 49.95
    const rejected = await exchangeErrorOf(limit(exchange, 'buy', 100, 0.5, 'too-much-2'));
    expect(rejected.kind).toBe('rejected');
    expect(rejected.code).toBe('INSUFFICIENT_FUNDS');
    expect(rejected.message).toContain('insufficient funds');
    expect(await exchange.fetchOrderByClientId('too-much-2', SYMBOL)).toBeUndefined();
    expect((await balances(exchange)).quote.used).toBeCloseTo(50.05, 9);
    // 0.5 * 99 * 1.001 = 49.5495 fits
    expect((await limit(exchange, 'buy', 99, 0.5)).status).toBe('open');
  });

  test('the maker fee is part of the lock: q * p alone is not enough', async () => {
    const { exchange } = paper({ base: 0, quote: 10 });
    expect((await exchangeErrorOf(limit(exchange, 'buy', 100, 0.1))).code).toBe('INSUFFICIENT_FUNDS');
    const ok = paper({ base: 0, quote: 10.01 });
    expect((await limit(ok.exchange, 'buy', 100, 0.1)).status).toBe('open');
  });

  test('a sell whose base is not free is rejected: insufficient funds', async () => {
    const { exchange } = paper({ base: 1, quote: 0 });
    await limit(exchange, 'sell', 120, 0.6);
    const error = await exchangeErrorOf(limit(exchange, 'sell', 130, 0.5));
    expect(error.kind).toBe('rejected');
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect((await limit(exchange, 'sell', 130, 0.4)).status).toBe('open');
    expect((await balances(exchange)).base).toEqual({ free: 0, used: 1, total: 1 });
  });

  test('a duplicate client order id is rejected, also after the first order closed', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'dup');
    const error = await exchangeErrorOf(limit(exchange, 'sell', 120, 0.1, 'dup'));
    expect(error.kind).toBe('rejected');
    expect(error.code).toBe('DUPLICATE_CLIENT_ORDER_ID');
    expect((await balances(exchange)).base.used).toBe(0);
    walk(exchange, 99);
    expect((await exchangeErrorOf(market(exchange, 'buy', 0.1, 'dup'))).code).toBe('DUPLICATE_CLIENT_ORDER_ID');
    expect((await exchangeErrorOf(limit(exchange, 'buy', 90, 0.1, 'dup'))).code).toBe('DUPLICATE_CLIENT_ORDER_ID');
  });

  test('a rejected client id can be used again once funds are free', async () => {
    const { exchange } = paper({ base: 0, quote: 5 });
    expect((await exchangeErrorOf(limit(exchange, 'buy', 100, 0.1, 'retry'))).code).toBe('INSUFFICIENT_FUNDS');
    const funded = paper({ base: 0, quote: 50 });
    expect((await limit(funded.exchange, 'buy', 100, 0.1, 'retry')).status).toBe('open');
  });
});

describe('step: the price path', () => {
  async function ladder() {
    const h = paper({ base: 1, quote: 10_000 }, 110);
    await limit(h.exchange, 'buy', 100, 0.1, 'b100');
    await limit(h.exchange, 'buy', 105, 0.1, 'b105');
    await limit(h.exchange, 'buy', 95, 0.1, 'b95');
    await limit(h.exchange, 'sell', 120, 0.1, 's120');
    await limit(h.exchange, 'sell', 115, 0.1, 's115');
    await limit(h.exchange, 'sell', 125, 0.1, 's125');
    return h;
  }

  test('a falling move fills buys from the highest down, one price at a time', async () => {
    const { exchange } = await ladder();
    expect(exchange.step(90)).toBe(true);
    expect(exchange.lastPrice).toBe(105);
    expect(exchange.step(90)).toBe(true);
    expect(exchange.lastPrice).toBe(100);
    expect(exchange.step(90)).toBe(true);
    expect(exchange.lastPrice).toBe(95);
    expect(exchange.step(90)).toBe(false);
    expect(exchange.lastPrice).toBe(90);
    expect(exchange.step(90)).toBe(false);
    const fills = await exchange.fetchFills(SYMBOL);
    expect(fills.map((f) => f.clientOrderId)).toEqual(['b105', 'b100', 'b95']);
    expect(exchange.openOrderCount).toEqual({ buy: 0, sell: 3 });
  });

  test('a rising move fills sells from the lowest up, one price at a time', async () => {
    const { exchange } = await ladder();
    expect(walk(exchange, 130)).toEqual([115, 120, 125]);
    expect((await exchange.fetchFills(SYMBOL)).map((f) => f.clientOrderId)).toEqual(['s115', 's120', 's125']);
    expect(exchange.openOrderCount).toEqual({ buy: 3, sell: 0 });
  });

  test('a move that stops short fills only what it reaches; touching the price fills (touch fill)', async () => {
    const { exchange } = await ladder();
    expect(walk(exchange, 100)).toEqual([105, 100]);
    expect(walk(exchange, 100.01)).toEqual([]);
    expect(walk(exchange, 119.99)).toEqual([115]);
    expect(walk(exchange, 120)).toEqual([120]);
    expect(exchange.openOrderCount).toEqual({ buy: 1, sell: 1 });
  });

  test('a sell does not fill on a falling move nor a buy on a rising one', async () => {
    const { exchange } = await ladder();
    expect(walk(exchange, 112)).toEqual([]);
    expect(walk(exchange, 108)).toEqual([]);
    expect(exchange.openOrderCount).toEqual({ buy: 3, sell: 3 });
    expect(await exchange.fetchFills(SYMBOL)).toEqual([]);
  });

  test('a target equal to the price does nothing', async () => {
    const { exchange } = await ladder();
    expect(exchange.step(110)).toBe(false);
    expect(exchange.lastPrice).toBe(110);
  });

  test('orders at the same price all fill at one stop', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'x');
    await limit(exchange, 'buy', 100, 0.2, 'y');
    expect(exchange.step(50)).toBe(true);
    expect(exchange.lastPrice).toBe(100);
    expect(exchange.openOrderCount.buy).toBe(0);
    expect((await exchange.fetchFills(SYMBOL)).map((f) => f.clientOrderId).sort()).toEqual(['x', 'y']);
    expect(exchange.step(50)).toBe(false);
  });

  test('a counter-order placed at a stop fills later on the path, not at once', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1);
    expect(exchange.step(90)).toBe(true); // at 100
    await limit(exchange, 'sell', 105, 0.1, 'counter');
    expect(exchange.step(90)).toBe(false);
    expect(walk(exchange, 106)).toEqual([105]);
    expect((await exchange.fetchOrderByClientId('counter', SYMBOL))?.status).toBe('closed');
  });

  test('wouldFill tells whether a step would fill', async () => {
    const { exchange } = await ladder();
    expect(exchange.wouldFill(106)).toBe(false);
    expect(exchange.wouldFill(105)).toBe(true);
    expect(exchange.wouldFill(114.99)).toBe(false);
    expect(exchange.wouldFill(115)).toBe(true);
    expect(exchange.wouldFill(110)).toBe(false);
    expect(exchange.bestBid).toBe(105);
    expect(exchange.bestAsk).toBe(115);
  });

  test('setPrice jumps without filling', async () => {
    const { exchange } = await ladder();
    exchange.setPrice(50);
    expect(exchange.lastPrice).toBe(50);
    expect(exchange.openOrderCount).toEqual({ buy: 3, sell: 3 });
  });
});

describe('fills and fees', () => {
  test('a limit buy fills at its own price with the maker fee', async () => {
    const { exchange, clock } = paper({ base: 0, quote: 1_000 }, 110);
    await limit(exchange, 'buy', 100, 0.5, 'b');
    clock.t = 2_000;
    walk(exchange, 90); // the price goes through 100 to 90: the fill is still at 100
    const [fill] = await exchange.fetchFills(SYMBOL);
    expect(fill).toMatchObject({ clientOrderId: 'b', symbol: SYMBOL, side: 'buy', price: 100, amount: 0.5, takerOrMaker: 'maker', timestamp: 2_000 });
    expect(fill!.fee).toBeCloseTo(0.5 * 100 * MAKER, 12);
    expect(fill!.tradeId).toMatch(/^T\d+$/);
    expect(exchange.wallet.base).toBe(0.5);
    expect(exchange.wallet.quote).toBeCloseTo(1_000 - 0.5 * 100 * (1 + MAKER), 9);
    expect(exchange.feesPaid).toBeCloseTo(0.05, 12);
    const { quote } = await balances(exchange);
    expect(quote.used).toBe(0);
    expect(quote.free).toBeCloseTo(quote.total, 12);
    expect(await exchange.fetchOrderByClientId('b', SYMBOL)).toMatchObject({ status: 'closed', filled: 0.5, amount: 0.5, price: 100 });
    expect(fill!.orderId).toBe((await exchange.fetchOrderByClientId('b', SYMBOL))!.id);
  });

  test('a limit sell fills at its own price with the maker fee', async () => {
    const { exchange } = paper({ base: 1, quote: 0 }, 110);
    await limit(exchange, 'sell', 120, 0.5, 's');
    walk(exchange, 130);
    const [fill] = await exchange.fetchFills(SYMBOL);
    expect(fill).toMatchObject({ side: 'sell', price: 120, amount: 0.5, takerOrMaker: 'maker' });
    expect(fill!.fee).toBeCloseTo(0.5 * 120 * MAKER, 12);
    expect(exchange.wallet.base).toBe(0.5);
    expect(exchange.wallet.quote).toBeCloseTo(0.5 * 120 * (1 - MAKER), 9);
    expect((await balances(exchange)).base).toEqual({ free: 0.5, used: 0, total: 0.5 });
  });

  test('a market buy fills at the current price with the taker fee', async () => {
    const { exchange } = paper({ base: 0, quote: 1_000 }, 110);
    const order = await market(exchange, 'buy', 2, 'mb');
    expect(order).toMatchObject({ clientOrderId: 'mb', type: 'market', side: 'buy', price: 110, amount: 2, filled: 2, status: 'closed' });
    const [fill] = await exchange.fetchFills(SYMBOL);
    expect(fill).toMatchObject({ clientOrderId: 'mb', price: 110, amount: 2, takerOrMaker: 'taker' });
    expect(fill!.fee).toBeCloseTo(2 * 110 * TAKER, 12);
    expect(exchange.wallet.base).toBe(2);
    expect(exchange.wallet.quote).toBeCloseTo(1_000 - 220 * (1 + TAKER), 9);
    expect(exchange.lastPrice).toBe(110);
  });

  test('a market sell fills at the current price with the taker fee', async () => {
    const { exchange } = paper({ base: 1, quote: 0 }, 110);
    await market(exchange, 'sell', 1);
    expect(exchange.wallet.base).toBe(0);
    expect(exchange.wallet.quote).toBeCloseTo(110 * (1 - TAKER), 9);
    expect(exchange.feesPaid).toBeCloseTo(110 * TAKER, 12);
  });

  test('a market order without the funds is rejected; locked funds do not count as free', async () => {
    const { exchange } = paper({ base: 1, quote: 100 }, 110);
    // 1 * 110 * 1.002 > 100
    expect((await exchangeErrorOf(market(exchange, 'buy', 1))).code).toBe('INSUFFICIENT_FUNDS');
    await limit(exchange, 'sell', 120, 0.6);
    const error = await exchangeErrorOf(market(exchange, 'sell', 0.5));
    expect(error.kind).toBe('rejected');
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect(exchange.wallet).toEqual({ base: 1, quote: 100 });
  });

  test('a market sell of all base a hair above the free base sells what there is', async () => {
    const { exchange } = paper({ base: 0.3, quote: 0 }, 100);
    const order = await market(exchange, 'sell', 0.1 + 0.2); // 0.30000000000000004, truncated to 0.3
    expect(order.amount).toBe(0.3);
    expect(exchange.wallet.base).toBe(0);
  });

  test('a market sell of all base with the wallet a hair below it (float noise) sells the amount and leaves nothing', async () => {
    const { exchange } = paper({ base: 0.7 - 0.4, quote: 0 }, 100); // 0.29999999999999993
    const order = await market(exchange, 'sell', 0.3);
    expect(order).toMatchObject({ amount: 0.3, filled: 0.3 });
    expect(exchange.wallet.base).toBe(0);
  });

  test('a marketable limit buy fills at once as taker, at the market price', async () => {
    const { exchange } = paper({ base: 0, quote: 1_000 }, 110);
    const order = await limit(exchange, 'buy', 120, 1, 'mlb');
    expect(order).toMatchObject({ type: 'limit', side: 'buy', status: 'closed', filled: 1, amount: 1 });
    const [fill] = await exchange.fetchFills(SYMBOL);
    expect(fill).toMatchObject({ price: 110, takerOrMaker: 'taker' });
    expect(fill!.fee).toBeCloseTo(110 * TAKER, 12);
    expect(exchange.openOrderCount).toEqual({ buy: 0, sell: 0 });
    expect((await balances(exchange)).quote.used).toBe(0);
  });

  test('a limit at exactly the market price is marketable too', async () => {
    const { exchange } = paper({ base: 1, quote: 1_000 }, 110);
    expect((await limit(exchange, 'sell', 110, 0.5)).status).toBe('closed');
    expect((await limit(exchange, 'buy', 110, 0.5)).status).toBe('closed');
    const fills = await exchange.fetchFills(SYMBOL);
    expect(fills.map((f) => f.takerOrMaker)).toEqual(['taker', 'taker']);
  });

  test('a marketable limit sell fills at once as taker', async () => {
    const { exchange } = paper({ base: 1, quote: 0 }, 110);
    const order = await limit(exchange, 'sell', 100, 1);
    expect(order.status).toBe('closed');
    const [fill] = await exchange.fetchFills(SYMBOL);
    expect(fill).toMatchObject({ side: 'sell', price: 110, takerOrMaker: 'taker' });
    expect(exchange.wallet.quote).toBeCloseTo(110 * (1 - TAKER), 9);
  });

  test('equity is quote + base * price, locked funds included', async () => {
    const { exchange } = paper({ base: 2, quote: 500 }, 110);
    await limit(exchange, 'buy', 100, 1);
    await limit(exchange, 'sell', 120, 1);
    expect(exchange.equityAt(110)).toBe(500 + 2 * 110);
    expect(exchange.equityAt(100)).toBe(700);
  });

  test('a round trip: buy at 100, sell at 105, the wallet gains q * 5 minus both maker fees', async () => {
    const { exchange } = paper({ base: 0, quote: 1_000 }, 102);
    await limit(exchange, 'buy', 100, 1);
    walk(exchange, 99);
    await limit(exchange, 'sell', 105, 1);
    walk(exchange, 106);
    expect(exchange.wallet.base).toBe(0);
    expect(exchange.wallet.quote).toBeCloseTo(1_000 + 5 - 100 * MAKER - 105 * MAKER, 9);
    expect(exchange.feesPaid).toBeCloseTo(0.205, 12);
  });
});

describe('market filters, as ccxt and the exchange apply them live', () => {
  test('an amount is truncated to the amount step as ccxt does: 13 x 0.00224 in doubles is 0.02911, 0.02912 stays', async () => {
    const { exchange } = paper({ base: 0, quote: 10_000 }, 67_182.92);
    const truncated = await market(exchange, 'buy', 13 * 0.00224, 'q1'); // 0.029119999999999997
    expect(truncated).toMatchObject({ amount: 0.02911, filled: 0.02911, status: 'closed' });
    const exact = await market(exchange, 'buy', 0.02912, 'q2');
    expect(exact).toMatchObject({ amount: 0.02912, filled: 0.02912, status: 'closed' });
    expect((await exchange.fetchFills(SYMBOL)).map((fill) => fill.amount)).toEqual([0.02911, 0.02912]);
    expect(exchange.wallet.base).toBe(0.02911 + 0.02912);
  });

  test('a limit order rests and fills with its amount truncated and its price rounded to the nearest price step', async () => {
    const { exchange } = paper({ base: 1, quote: 10_000 }, 110);
    const buy = await limit(exchange, 'buy', 100.004, 0.123456, 'r1');
    const sell = await limit(exchange, 'sell', 120.005, 0.123459, 'r2');
    expect(buy).toMatchObject({ price: 100, amount: 0.12345, status: 'open' });
    expect(sell).toMatchObject({ price: 120.01, amount: 0.12345, status: 'open' });
    expect((await balances(exchange)).quote.used).toBeCloseTo(0.12345 * 100 * (1 + MAKER), 12);
    expect((await balances(exchange)).base.used).toBe(0.12345);
    walk(exchange, 99);
    expect((await exchange.fetchFills(SYMBOL)).map((fill) => [fill.price, fill.amount])).toEqual([[100, 0.12345]]);
  });

  test('an amount below one amount step is refused (INVALID_ORDER), as ccxt refuses it before sending', async () => {
    const { exchange } = paper();
    expect(await exchangeErrorOf(market(exchange, 'sell', 0.000009))).toMatchObject({ kind: 'rejected', code: 'INVALID_ORDER' });
    expect(await exchangeErrorOf(limit(exchange, 'sell', 120, 0.000009))).toMatchObject({ kind: 'rejected', code: 'INVALID_ORDER' });
    expect(exchange.allOrders()).toEqual([]);
  });

  test('a limit order worth less than minNotional at its price is refused (MIN_NOTIONAL); exactly the minimum is accepted', async () => {
    const { exchange } = paper();
    expect(await exchangeErrorOf(limit(exchange, 'buy', 100, 0.04999, 'n1'))).toMatchObject({ kind: 'rejected', code: 'MIN_NOTIONAL' });
    // Truncated first: 0.0499999 is 0.04999, below the minimum.
    expect(await exchangeErrorOf(limit(exchange, 'buy', 100, 0.0499999, 'n2'))).toMatchObject({ code: 'MIN_NOTIONAL' });
    expect(await exchange.fetchOrderByClientId('n1', SYMBOL)).toBeUndefined();
    expect((await limit(exchange, 'buy', 100, 0.05, 'n3')).status).toBe('open');
    expect(await exchangeErrorOf(limit(exchange, 'sell', 120, 0.04, 'n4'))).toMatchObject({ code: 'MIN_NOTIONAL' });
  });

  test('a market order worth less than minNotional at the market price is refused (MIN_NOTIONAL); nothing trades', async () => {
    const { exchange } = paper({ base: 1, quote: 10_000 }, 110);
    expect(await exchangeErrorOf(market(exchange, 'buy', 0.045, 'n5'))).toMatchObject({ kind: 'rejected', code: 'MIN_NOTIONAL' });
    expect(await exchangeErrorOf(market(exchange, 'sell', 0.045, 'n6'))).toMatchObject({ kind: 'rejected', code: 'MIN_NOTIONAL' });
    expect(await exchange.fetchFills(SYMBOL)).toEqual([]);
    expect(exchange.wallet).toEqual({ base: 1, quote: 10_000 });
    expect((await market(exchange, 'sell', 0.04546, 'n7')).status).toBe('closed'); // 5.0006
  });
});

describe('cancel and lookups', () => {
  test('cancelOrder releases the lock; a second cancel is notFound', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'cb');
    await limit(exchange, 'sell', 120, 0.3, 'cs');
    const canceled = await exchange.cancelOrder('cb', SYMBOL);
    expect(canceled).toMatchObject({ clientOrderId: 'cb', status: 'canceled', filled: 0 });
    await exchange.cancelOrder('cs', SYMBOL);
    expect(await balances(exchange)).toEqual({ base: { free: 1, used: 0, total: 1 }, quote: { free: 10_000, used: 0, total: 10_000 } });
    const again = await exchangeErrorOf(exchange.cancelOrder('cb', SYMBOL));
    expect(again.kind).toBe('notFound');
    expect(again.code).toBe('ORDER_NOT_OPEN');
    const unknown = await exchangeErrorOf(exchange.cancelOrder('nope', SYMBOL));
    expect(unknown.kind).toBe('notFound');
    expect(unknown.code).toBe('ORDER_NOT_FOUND');
  });

  test('a canceled order never fills', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'gone');
    await exchange.cancelOrder('gone', SYMBOL);
    expect(walk(exchange, 50)).toEqual([]);
    expect(await exchange.fetchFills(SYMBOL)).toEqual([]);
    expect(exchange.wallet).toEqual({ base: 1, quote: 10_000 });
  });

  test('cancelling a filled order is notFound', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'filled');
    walk(exchange, 99);
    expect((await exchangeErrorOf(exchange.cancelOrder('filled', SYMBOL))).kind).toBe('notFound');
  });

  test('cancelling one of several orders at one price leaves the others', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'p1');
    await limit(exchange, 'buy', 100, 0.2, 'p2');
    await limit(exchange, 'buy', 90, 0.3, 'p3');
    await exchange.cancelOrder('p1', SYMBOL);
    expect((await exchange.fetchOpenOrders(SYMBOL)).map((o) => o.clientOrderId).sort()).toEqual(['p2', 'p3']);
    walk(exchange, 80);
    expect((await exchange.fetchFills(SYMBOL)).map((f) => f.clientOrderId)).toEqual(['p2', 'p3']);
  });

  test('fetchOrderByClientId finds open, closed and canceled orders', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'o1');
    await limit(exchange, 'buy', 90, 0.1, 'o2');
    await market(exchange, 'buy', 0.1, 'o3');
    await exchange.cancelOrder('o2', SYMBOL);
    expect((await exchange.fetchOrderByClientId('o1', SYMBOL))?.status).toBe('open');
    expect((await exchange.fetchOrderByClientId('o2', SYMBOL))?.status).toBe('canceled');
    expect((await exchange.fetchOrderByClientId('o3', SYMBOL))?.status).toBe('closed');
    expect(await exchange.fetchOrderByClientId('o4', SYMBOL)).toBeUndefined();
  });

  test('order ids are unique and returned views are copies', async () => {
    const { exchange } = paper();
    const a = await limit(exchange, 'buy', 100, 0.1, 'v1');
    const b = await limit(exchange, 'buy', 99, 0.1, 'v2');
    expect(a.id).not.toBe(b.id);
    walk(exchange, 99.5);
    expect(a.status).toBe('open'); // the earlier view does not change under the caller
    expect((await exchange.fetchOrderByClientId('v1', SYMBOL))?.status).toBe('closed');
  });

  test('fetchOpenOrders lists every open buy and sell', async () => {
    const { exchange } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'ob1');
    await limit(exchange, 'sell', 120, 0.1, 'os1');
    await limit(exchange, 'buy', 95, 0.1, 'ob2');
    await market(exchange, 'buy', 0.05, 'om');
    const open = await exchange.fetchOpenOrders(SYMBOL);
    expect(open.map((o) => o.clientOrderId).sort()).toEqual(['ob1', 'ob2', 'os1']);
    for (const order of open) expect(order).toMatchObject({ status: 'open', symbol: SYMBOL, filled: 0 });
  });

  test('fetchFills: oldest first, and since filters by time (at or after)', async () => {
    const { exchange, clock } = paper();
    await limit(exchange, 'buy', 100, 0.1, 'f1');
    await limit(exchange, 'buy', 90, 0.1, 'f2');
    await limit(exchange, 'buy', 80, 0.1, 'f3');
    clock.t = 10;
    walk(exchange, 95);
    clock.t = 20;
    walk(exchange, 85);
    clock.t = 30;
    walk(exchange, 75);
    expect((await exchange.fetchFills(SYMBOL)).map((f) => f.clientOrderId)).toEqual(['f1', 'f2', 'f3']);
    expect((await exchange.fetchFills(SYMBOL, 20)).map((f) => f.clientOrderId)).toEqual(['f2', 'f3']);
    expect(await exchange.fetchFills(SYMBOL, 31)).toEqual([]);
  });

  test('with keepFills off, fetchFills is empty but the wallet still moves', async () => {
    const { exchange } = paper(undefined, 110, false);
    await limit(exchange, 'buy', 100, 0.1);
    walk(exchange, 90);
    expect(await exchange.fetchFills(SYMBOL)).toEqual([]);
    expect(exchange.wallet.base).toBeCloseTo(1.1, 12);
  });
});

describe('own-order events', () => {
  test('delivered asynchronously, in order: order open, then fill and order closed', async () => {
    const { exchange } = paper();
    const events: ExchangeEvent[] = [];
    exchange.subscribe((event) => events.push(event));
    const placing = [limit(exchange, 'buy', 100, 0.1, 'e1'), limit(exchange, 'buy', 90, 0.1, 'e2')];
    expect(events).toEqual([]); // not inside the calls
    await Promise.all(placing);
    await flush();
    expect(events.map(describeEvent)).toEqual(['order e1 open', 'order e2 open']);
    exchange.step(50);
    exchange.step(50);
    expect(events).toHaveLength(2); // the fills are queued, not delivered inside step
    await flush();
    expect(events.map(describeEvent)).toEqual(['order e1 open', 'order e2 open', 'fill e1 100', 'order e1 closed', 'fill e2 90', 'order e2 closed']);
    const fill = events[2]!;
    expect(fill.type === 'fill' && fill.fill.takerOrMaker).toBe('maker');
  });

  test('market orders and cancels publish too', async () => {
    const { exchange } = paper();
    const events: ExchangeEvent[] = [];
    exchange.subscribe((event) => events.push(event));
    await market(exchange, 'buy', 0.1, 'em');
    await limit(exchange, 'sell', 120, 0.1, 'ec');
    await exchange.cancelOrder('ec', SYMBOL);
    await flush();
    expect(events.map(describeEvent)).toEqual(['fill em 110', 'order em closed', 'order ec open', 'order ec canceled']);
  });

  test('a listener is not called inside the call that caused the event', async () => {
    const { exchange } = paper();
    let inCall = false;
    let calledInside = false;
    exchange.subscribe(() => {
      if (inCall) calledInside = true;
    });
    inCall = true;
    const pending = limit(exchange, 'buy', 100, 0.1);
    exchange.step(50);
    inCall = false;
    await pending;
    await flush();
    expect(calledInside).toBe(false);
  });

  test('a listener may call the exchange: later events keep their order', async () => {
    const { exchange } = paper();
    const seen: string[] = [];
    exchange.subscribe((event) => {
      seen.push(describeEvent(event));
      // place the counter-order of a filled buy, as the grid does
      if (event.type === 'fill' && event.fill.side === 'buy') void limit(exchange, 'sell', event.fill.price + 10, event.fill.amount, `counter-${event.fill.clientOrderId}`);
    });
    await limit(exchange, 'buy', 100, 0.1, 'lb');
    exchange.step(95);
    await flush();
    await flush();
    expect(seen).toEqual(['order lb open', 'fill lb 100', 'order lb closed', 'order counter-lb open']);
    expect(exchange.openOrderCount).toEqual({ buy: 0, sell: 1 });
  });

  test('every subscriber gets every event; unsubscribe stops delivery', async () => {
    const { exchange } = paper();
    const a: string[] = [];
    const b: string[] = [];
    exchange.subscribe((e) => a.push(describeEvent(e)));
    const unsubscribe = exchange.subscribe((e) => b.push(describeEvent(e)));
    await limit(exchange, 'buy', 100, 0.1, 'u1');
    await flush();
    unsubscribe();
    await limit(exchange, 'buy', 90, 0.1, 'u2');
    await flush();
    expect(a).toEqual(['order u1 open', 'order u2 open']);
    expect(b).toEqual(['order u1 open']);
  });
});

describe('snapshot and restore', () => {
  async function scenario(exchange: PaperExchange, clock: { t: number }, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      clock.t = 1_000 + i * 60_000;
      const target = i % 2 === 0 ? 92 + (i % 5) : 118 - (i % 7);
      for (;;) {
        const before = exchange.lastPrice;
        if (!exchange.step(target)) break;
        // answer every fill at this price with its counter-order, as a grid would
        for (const fill of (await exchange.fetchFills(SYMBOL, clock.t)).filter((f) => f.price === exchange.lastPrice && !f.clientOrderId.startsWith('k'))) {
          const side = fill.side === 'buy' ? 'sell' : 'buy';
          const price = fill.side === 'buy' ? fill.price + 5 : fill.price - 5;
          const id = `k${i}-${fill.clientOrderId}-${before}`;
          if ((await exchange.fetchOrderByClientId(id, SYMBOL)) === undefined) await limit(exchange, side, price, fill.amount, id);
        }
      }
    }
  }

  async function seeded() {
    const h = paper({ base: 1, quote: 10_000 }, 105);
    for (const p of [95, 100]) await limit(h.exchange, 'buy', p, 0.1, `g-b${p}`);
    for (const p of [110, 115]) await limit(h.exchange, 'sell', p, 0.1, `g-s${p}`);
    await market(h.exchange, 'buy', 0.05, 'g-m');
    await limit(h.exchange, 'buy', 90, 0.2, 'g-cancel');
    await h.exchange.cancelOrder('g-cancel', SYMBOL);
    return h;
  }

  async function state(exchange: PaperExchange) {
    return {
      price: exchange.lastPrice,
      wallet: exchange.wallet,
      fees: exchange.feesPaid,
      balance: await exchange.fetchBalance(),
      open: (await exchange.fetchOpenOrders(SYMBOL)).sort((a, b) => a.clientOrderId.localeCompare(b.clientOrderId)),
      fills: await exchange.fetchFills(SYMBOL),
      counts: exchange.openOrderCount,
      canceled: await exchange.fetchOrderByClientId('g-cancel', SYMBOL),
    };
  }

  test('a snapshot survives JSON and the restored exchange continues identically', async () => {
    const original = await seeded();
    await scenario(original.exchange, original.clock, 0, 5);

    const json = JSON.stringify(original.exchange.snapshot());
    const restoredClock = { t: original.clock.t };
    const restored = PaperExchange.restore(
      { ...original.options, balance: { base: 0, quote: 0 }, now: () => restoredClock.t },
      JSON.parse(json) as PaperExchangeState,
    );
    expect(await state(restored)).toEqual(await state(original.exchange));

    await scenario(original.exchange, original.clock, 5, 20);
    await scenario(restored, restoredClock, 5, 20);
    const after = await state(restored);
    expect(after).toEqual(await state(original.exchange));
    expect(after.fills.length).toBeGreaterThan(6); // the scenario did trade after the snapshot
    // new orders get fresh ids on both
    const a = await limit(original.exchange, 'buy', 50, 0.1, 'late');
    const b = await limit(restored, 'buy', 50, 0.1, 'late');
    expect(b.id).toBe(a.id);
    expect((await exchangeErrorOf(limit(restored, 'buy', 50, 0.1, 'g-b95'))).code).toBe('DUPLICATE_CLIENT_ORDER_ID');
  });

  test('a snapshot is a copy: later trading does not change it', async () => {
    const { exchange } = await seeded();
    const snapshot = exchange.snapshot();
    const before = JSON.stringify(snapshot);
    walk(exchange, 80);
    expect(JSON.stringify(snapshot)).toBe(before);
  });

  test('restoring does not share state with the snapshot object', async () => {
    const { exchange, options } = await seeded();
    const snapshot = exchange.snapshot();
    const restored = PaperExchange.restore(options, snapshot);
    walk(restored, 80);
    expect(snapshot.orders.filter((o) => o.status === 'open')).toHaveLength(4);
    const again = PaperExchange.restore(options, snapshot);
    expect(again.openOrderCount).toEqual({ buy: 2, sell: 2 });
  });
});

function describeEvent(event: ExchangeEvent): string {
  return event.type === 'fill' ? `fill ${event.fill.clientOrderId} ${event.fill.price}` : `order ${event.order.clientOrderId} ${event.order.status}`;
}
