// The exchange port's contract: one behavioural suite that every implementation of ExchangePort
// (src/adapters/exchange/port.ts) must pass, so that the paper exchange (backtest, paper mode) and
// the live adapter (ccxt) cannot drift apart. It covers what the bot relies on: market filters,
// orders by client order id, locked funds, rejections by kind, fills (taker and maker, fees in
// quote), fills since a time, and the own-order stream.
//
// This is the cross-implementation agreement, not a re-test of each implementation: their own
// details live in test/unit/paper-exchange.test.ts, test/adapters/ccxt-exchange.test.ts and
// test/sim/bingx-sim.test.ts.
//
// Every test gets a fresh subject (same market, fees, wallet and start price for all
// implementations, from `contractSetup`) and closes it afterwards. Waits poll with a deadline;
// nothing sleeps for a fixed time.
//
// A case where an implementation is known to be wrong is listed by the implementation's test file
// in `knownDisagreements` (case id -> what is wrong): the case then runs as `test.fails`, still
// asserting the correct behaviour, and its title says so. Fixing the implementation turns the
// case red until the entry is removed.
//
// Agreed behaviour where the implementations could have differed (found by running both):
// - Cancelling an order that is no longer open (already cancelled, or filled) rejects with kind
//   'notFound', like cancelling an unknown client id, and changes nothing. The order machine treats
//   any non-retryable cancel failure as "the exchange refused it; the order is still ours, fills may
//   follow" (src/machines/order.machine.ts), so this must not be 'retryable'. The code is not part
//   of the contract: the paper exchange says ORDER_NOT_OPEN, through ccxt it is ORDER_NOT_FOUND
//   (BingX answers 80016 for both, which ccxt raises as OrderNotFound).
// - Rejection codes are asserted where both give the same one: INSUFFICIENT_FUNDS, ORDER_NOT_FOUND
//   (unknown client id), BAD_SYMBOL, INVALID_ORDER (zero amount or price), and MIN_NOTIONAL for a
//   limit order (the ccxt adapter's own check before sending, the paper exchange's filter). A duplicate client order id is only 'rejected': the paper exchange says
//   DUPLICATE_CLIENT_ORDER_ID, BingX has no such code and answers 100400, which ccxt raises as
//   BadRequest (BAD_REQUEST). A market order below the minimum notional is only 'rejected' too
//   (through ccxt the simulator's 100400: BAD_REQUEST).
// - An order's amount is truncated to the amount step and its price rounded to the nearest price
//   step before the exchange sees it (ccxt's amountToPrecision and priceToPrecision; the paper
//   exchange does the same), and the order holds those numbers.
// - The timestamp of the order a cancel returns is not part of the contract (no caller reads it):
//   the paper exchange returns the creation time, while BingX's cancel answer has no time and the
//   ccxt adapter fills in the time of the answer. Lookups and listings give the creation time.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { AssetBalance, ExchangeError, ExchangeEvent, ExchangeOrder, ExchangePort, MarketInfo } from '../../src/adapters/exchange/port.js';
import type { Fill } from '../../src/domain/trading.js';
import { exchangeErrorOf } from '../support/exchange-error.js';
import { until } from '../support/until.js';

/** What every subject starts from: one market, the fees, the wallet and the market price. */
export interface ContractSetup {
  readonly market: MarketInfo;
  readonly fees: { readonly maker: number; readonly taker: number };
  readonly balance: { readonly base: number; readonly quote: number };
  readonly price: number;
}

export const contractSetup: ContractSetup = {
  market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 },
  fees: { maker: 0.001, taker: 0.002 },
  balance: { base: 0.1, quote: 10_000 },
  price: 50_000,
};

/** One implementation under test, set up from `contractSetup`. */
export interface ExchangePortSubject {
  /** The port the bot would be given (the factory decides: the implementation itself, or a wrapper). */
  readonly port: ExchangePort;
  /** Walks the market price continuously to `target`, filling every resting order it reaches. */
  movePriceTo(target: number): Promise<void>;
  /** Jumps the market price to `price` without filling anything. */
  jumpPriceTo(price: number): Promise<void>;
  /** Releases everything the subject holds (servers, timers). */
  close(): Promise<void>;
}

export type ExchangePortSubjectFactory = (setup: ContractSetup) => Promise<ExchangePortSubject>;

/** The cases of the contract, by id (the keys of `knownDisagreements`). */
export type ContractCaseId =
  | 'loadMarket'
  | 'limitBuy'
  | 'limitSell'
  | 'quantisedToSteps'
  | 'unknownLookup'
  | 'cancel'
  | 'cancelUnknown'
  | 'cancelTwice'
  | 'cancelFilled'
  | 'duplicateClientId'
  | 'insufficientFunds'
  | 'lockedFundsAreNotFree'
  | 'invalidOrder'
  | 'minNotionalLimit'
  | 'minNotionalMarket'
  | 'marketBuy'
  | 'marketSell'
  | 'restingBuyFills'
  | 'restingSellFills'
  | 'noFillShortOrOnJump'
  | 'fillsSince'
  | 'streamFill'
  | 'streamCancel';

export interface ContractOptions {
  /** Cases this implementation is known to fail, each with what is wrong: they run as test.fails. */
  readonly knownDisagreements?: Partial<Record<ContractCaseId, string>>;
}

const { market: MARKET, fees: FEES, balance: START, price: START_PRICE } = contractSetup;
const SYMBOL = MARKET.symbol;
/** Float tolerance of money checks: the simulator writes decimals with 12 places. */
const DIGITS = 8;
/** How long an expected stream event may take: within milliseconds, but a suite running beside others on 2 cores can wait on ccxt's rate limiter and the event loop for seconds. */
const EVENT_DEADLINE_MS = 10_000;

/** Waits until the clock has passed `time` (so the next fill gets a later timestamp). */
async function clockPast(time: number): Promise<void> {
  await until(() => Date.now() > time, `the clock to pass ${time}`, EVENT_DEADLINE_MS);
}

function expectBalance(actual: AssetBalance | undefined, expected: AssetBalance): void {
  expect(actual).toBeDefined();
  expect(actual!.free).toBeCloseTo(expected.free, DIGITS);
  expect(actual!.used).toBeCloseTo(expected.used, DIGITS);
  expect(actual!.total).toBeCloseTo(expected.total, DIGITS);
  expect(actual!.free + actual!.used).toBeCloseTo(actual!.total, DIGITS);
}

/** The wallet's base and quote balances. */
async function expectWallet(port: ExchangePort, expected: { base: AssetBalance; quote: AssetBalance }): Promise<void> {
  const all = await port.fetchBalance();
  expectBalance(all[MARKET.base], expected.base);
  expectBalance(all[MARKET.quote], expected.quote);
}

const untouched = (total: number): AssetBalance => ({ free: total, used: 0, total });
const START_WALLET = { base: untouched(START.base), quote: untouched(START.quote) };

/** The order a successful create should answer (id and timestamp checked separately). */
function expectedOrder(fields: Pick<ExchangeOrder, 'clientOrderId' | 'side' | 'type' | 'price' | 'amount' | 'filled' | 'status'>): ExchangeOrder {
  return { id: expect.any(String) as string, symbol: SYMBOL, timestamp: expect.any(Number) as number, ...fields };
}

function expectTimeWithin(timestamp: number, from: number, to: number): void {
  expect(timestamp).toBeGreaterThanOrEqual(from);
  expect(timestamp).toBeLessThanOrEqual(to);
}

function fillsOf(events: readonly ExchangeEvent[]): Fill[] {
  return events.flatMap((event) => (event.type === 'fill' ? [event.fill] : []));
}

function ordersOf(events: readonly ExchangeEvent[]): ExchangeOrder[] {
  return events.flatMap((event) => (event.type === 'order' ? [event.order] : []));
}

export function describeExchangePortContract(name: string, makeSubject: ExchangePortSubjectFactory, options: ContractOptions = {}): void {
  const known = options.knownDisagreements ?? {};

  /** A case of the contract; a known disagreement runs as test.fails and says so in its title. */
  const contractCase = (id: ContractCaseId, title: string, body: () => Promise<void>): void => {
    const reason = known[id];
    if (reason === undefined) test(title, body);
    else test.fails(`${title} [known disagreement: ${reason}]`, body);
  };

  describe(`exchange port contract: ${name}`, () => {
    let subject: ExchangePortSubject | undefined;
    let port: ExchangePort;

    beforeEach(async () => {
      subject = await makeSubject(contractSetup);
      port = subject.port;
    });

    afterEach(async () => {
      await subject?.close();
      subject = undefined;
    });

    const limit = (clientOrderId: string, side: 'buy' | 'sell', price: number, amount: number) =>
      port.createLimitOrder({ symbol: SYMBOL, side, price, amount, clientOrderId });
    const marketOrder = (clientOrderId: string, side: 'buy' | 'sell', amount: number) => port.createMarketOrder({ symbol: SYMBOL, side, amount, clientOrderId });
    const rejection = (promise: Promise<unknown>): Promise<ExchangeError> => exchangeErrorOf(promise);

    // ---- market ---------------------------------------------------------------------------

    contractCase('loadMarket', 'loadMarket: symbol, base, quote, price step, amount step and min notional as configured; an unknown symbol is rejected', async () => {
      expect(await port.loadMarket(SYMBOL)).toEqual(MARKET);
      expect(await rejection(port.loadMarket('ETH/USDT'))).toMatchObject({ kind: 'rejected', code: 'BAD_SYMBOL' });
    });

    // ---- limit orders -----------------------------------------------------------------------

    contractCase('limitBuy', 'a limit buy rests: open as requested, listed, found by its client id; it locks price*amount*(1+maker) quote', async () => {
      const before = Date.now();
      const order = await limit('ct-b1', 'buy', 49_000, 0.01);
      const after = Date.now();
      expect(order).toEqual(expectedOrder({ clientOrderId: 'ct-b1', side: 'buy', type: 'limit', price: 49_000, amount: 0.01, filled: 0, status: 'open' }));
      expect(order.id).not.toBe('');
      expectTimeWithin(order.timestamp, before, after);

      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([order]);
      expect(await port.fetchOrderByClientId('ct-b1', SYMBOL)).toEqual(order);
      const locked = 0.01 * 49_000 * (1 + FEES.maker); // 490.49
      await expectWallet(port, { base: untouched(START.base), quote: { free: START.quote - locked, used: locked, total: START.quote } });
    });

    contractCase('limitSell', 'a limit sell rests: open as requested, listed, found by its client id; it locks its amount of base', async () => {
      const order = await limit('ct-s1', 'sell', 52_000, 0.02);
      expect(order).toEqual(expectedOrder({ clientOrderId: 'ct-s1', side: 'sell', type: 'limit', price: 52_000, amount: 0.02, filled: 0, status: 'open' }));
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([order]);
      expect(await port.fetchOrderByClientId('ct-s1', SYMBOL)).toEqual(order);
      await expectWallet(port, { base: { free: START.base - 0.02, used: 0.02, total: START.base }, quote: untouched(START.quote) });
    });

    contractCase('quantisedToSteps', 'an amount is truncated to the amount step, a price rounded to the price step: the order holds, locks and fills those', async () => {
      // 13 x 0.00224 in doubles is 0.029119999999999997: ccxt sends 0.02911.
      const order = await limit('ct-q1', 'buy', 49_000.004, 13 * 0.00224);
      expect(order).toEqual(expectedOrder({ clientOrderId: 'ct-q1', side: 'buy', type: 'limit', price: 49_000, amount: 0.02911, filled: 0, status: 'open' }));
      expect(await port.fetchOrderByClientId('ct-q1', SYMBOL)).toEqual(order);
      const locked = 0.02911 * 49_000 * (1 + FEES.maker);
      await expectWallet(port, { base: untouched(START.base), quote: { free: START.quote - locked, used: locked, total: START.quote } });
      const sell = await marketOrder('ct-q2', 'sell', 0.029119999999999997);
      expect(sell).toMatchObject({ amount: 0.02911, filled: 0.02911, status: 'closed' });
    });

    contractCase('unknownLookup', 'fetchOrderByClientId of an unknown client id resolves undefined (not an error)', async () => {
      expect(await port.fetchOrderByClientId('ct-never-placed', SYMBOL)).toBeUndefined();
    });

    // ---- cancel -----------------------------------------------------------------------------

    contractCase('cancel', 'cancelOrder by client id: canceled, gone from the open orders, its funds unlocked; the lookup says canceled', async () => {
      const order = await limit('ct-c1', 'buy', 49_000, 0.01);
      const canceled = await port.cancelOrder('ct-c1', SYMBOL);
      // The cancel answer's timestamp is not part of the contract (see the top of this file).
      expect(canceled).toEqual({ ...order, status: 'canceled', timestamp: expect.any(Number) as number });
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      expect(await port.fetchOrderByClientId('ct-c1', SYMBOL)).toEqual({ ...order, status: 'canceled' });
      await expectWallet(port, START_WALLET);
    });

    contractCase('cancelUnknown', 'cancelling an unknown client id rejects with notFound (ORDER_NOT_FOUND)', async () => {
      expect(await rejection(port.cancelOrder('ct-never-placed', SYMBOL))).toMatchObject({ kind: 'notFound', code: 'ORDER_NOT_FOUND' });
    });

    contractCase('cancelTwice', 'cancelling an already cancelled order rejects with notFound and changes nothing', async () => {
      const order = await limit('ct-c2', 'sell', 52_000, 0.02);
      await port.cancelOrder('ct-c2', SYMBOL);
      expect((await rejection(port.cancelOrder('ct-c2', SYMBOL))).kind).toBe('notFound');
      expect(await port.fetchOrderByClientId('ct-c2', SYMBOL)).toEqual({ ...order, status: 'canceled' });
      await expectWallet(port, START_WALLET);
    });

    contractCase('cancelFilled', 'cancelling a filled order rejects with notFound; it stays filled, with its one fill', async () => {
      const order = await limit('ct-c3', 'buy', 49_000, 0.01);
      await subject!.movePriceTo(48_900);
      expect((await rejection(port.cancelOrder('ct-c3', SYMBOL))).kind).toBe('notFound');
      expect(await port.fetchOrderByClientId('ct-c3', SYMBOL)).toEqual({ ...order, filled: 0.01, status: 'closed' });
      expect((await port.fetchFills(SYMBOL)).map((fill) => fill.clientOrderId)).toEqual(['ct-c3']);
    });

    // ---- rejections -------------------------------------------------------------------------

    contractCase('duplicateClientId', 'a second order with the client id of an open order is rejected; the first is untouched', async () => {
      const first = await limit('ct-dup', 'buy', 49_000, 0.01);
      // Only the kind: the codes differ (DUPLICATE_CLIENT_ORDER_ID / BAD_REQUEST, see the top of this file).
      expect((await rejection(limit('ct-dup', 'buy', 48_000, 0.02))).kind).toBe('rejected');
      expect((await rejection(marketOrder('ct-dup', 'sell', 0.001))).kind).toBe('rejected');
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([first]);
      expect(await port.fetchOrderByClientId('ct-dup', SYMBOL)).toEqual(first);
      expect(await port.fetchFills(SYMBOL)).toEqual([]);
      const locked = 0.01 * 49_000 * (1 + FEES.maker);
      await expectWallet(port, { base: untouched(START.base), quote: { free: START.quote - locked, used: locked, total: START.quote } });
    });

    contractCase('insufficientFunds', 'orders beyond the wallet are rejected with INSUFFICIENT_FUNDS; nothing is placed and the client ids stay unused', async () => {
      const cases: Array<[string, Promise<unknown>]> = [
        ['ct-f1', limit('ct-f1', 'buy', 48_000, 1)], // 48,048 USDT of 10,000
        ['ct-f2', limit('ct-f2', 'sell', 52_000, 0.2)], // 0.2 BTC of 0.1
        ['ct-f3', marketOrder('ct-f3', 'buy', 0.5)], // 25,050 USDT of 10,000
        ['ct-f4', marketOrder('ct-f4', 'sell', 0.2)], // 0.2 BTC of 0.1
      ];
      const outcomes = [];
      for (const [clientOrderId, create] of cases) {
        const error = await rejection(create);
        outcomes.push([clientOrderId, error.kind, error.code]);
      }
      expect(outcomes).toEqual(cases.map(([clientOrderId]) => [clientOrderId, 'rejected', 'INSUFFICIENT_FUNDS']));
      expect(await port.fetchOrderByClientId('ct-f1', SYMBOL)).toBeUndefined();
      expect(await port.fetchOrderByClientId('ct-f3', SYMBOL)).toBeUndefined();
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      expect(await port.fetchFills(SYMBOL)).toEqual([]);
      await expectWallet(port, START_WALLET);
    });

    contractCase('lockedFundsAreNotFree', 'funds locked by resting orders are not free for new ones (the buy lock includes the maker fee)', async () => {
      await limit('ct-l1', 'buy', 49_000, 0.2); // locks 9,809.8 USDT: 190.2 free
      // 0.00396 * 48,000 = 190.08 would fit, but with the maker fee it needs 190.27008.
      expect(await rejection(limit('ct-l2', 'buy', 48_000, 0.00396))).toMatchObject({ kind: 'rejected', code: 'INSUFFICIENT_FUNDS' });
      // 0.00395 * 48,000 * 1.001 = 189.7896 fits.
      expect((await limit('ct-l3', 'buy', 48_000, 0.00395)).status).toBe('open');
      await limit('ct-l4', 'sell', 52_000, 0.08); // locks 0.08 BTC: 0.02 free
      expect(await rejection(limit('ct-l5', 'sell', 53_000, 0.03))).toMatchObject({ kind: 'rejected', code: 'INSUFFICIENT_FUNDS' });
      expect((await port.fetchOpenOrders(SYMBOL)).map((order) => order.clientOrderId).sort()).toEqual(['ct-l1', 'ct-l3', 'ct-l4']);
      const locked = (0.2 * 49_000 + 0.00395 * 48_000) * (1 + FEES.maker);
      await expectWallet(port, { base: { free: 0.02, used: 0.08, total: START.base }, quote: { free: START.quote - locked, used: locked, total: START.quote } });
    });

    contractCase('invalidOrder', 'a zero amount or a non-positive price is rejected; nothing is placed', async () => {
      expect(await rejection(limit('ct-i1', 'buy', 49_000, 0))).toMatchObject({ kind: 'rejected', code: 'INVALID_ORDER' });
      expect(await rejection(limit('ct-i2', 'buy', 0, 0.01))).toMatchObject({ kind: 'rejected', code: 'INVALID_ORDER' });
      expect(await rejection(marketOrder('ct-i3', 'buy', 0))).toMatchObject({ kind: 'rejected', code: 'INVALID_ORDER' });
      // Only the kind: the ccxt adapter's min-notional check comes first (MIN_NOTIONAL), the paper exchange says INVALID_ORDER.
      expect((await rejection(limit('ct-i4', 'buy', -49_000, 0.01))).kind).toBe('rejected');
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      expect(await port.fetchFills(SYMBOL)).toEqual([]);
    });

    contractCase('minNotionalLimit', 'a limit order below the min notional is rejected (MIN_NOTIONAL); nothing is placed', async () => {
      // 0.0001 * 49,000 = 4.9 USDT < 5
      expect(await rejection(limit('ct-n1', 'buy', 49_000, 0.0001))).toMatchObject({ kind: 'rejected', code: 'MIN_NOTIONAL' });
      expect(await port.fetchOrderByClientId('ct-n1', SYMBOL)).toBeUndefined();
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      await expectWallet(port, START_WALLET);
    });

    contractCase('minNotionalMarket', 'a market order below the min notional at the market price is rejected; nothing is traded', async () => {
      // 0.00009 * 50,000 = 4.5 USDT < 5. Only the kind (through ccxt: BAD_REQUEST, see the top of this file).
      expect((await rejection(marketOrder('ct-n2', 'buy', 0.00009))).kind).toBe('rejected');
      expect(await port.fetchOrderByClientId('ct-n2', SYMBOL)).toBeUndefined();
      expect(await port.fetchFills(SYMBOL)).toEqual([]);
      await expectWallet(port, START_WALLET);
    });

    // ---- fills ------------------------------------------------------------------------------

    contractCase('marketBuy', 'a market buy fills at once as taker: one fill at the market price, fee in quote; balances move by amount and price*amount+fee', async () => {
      const before = Date.now();
      const order = await marketOrder('ct-m1', 'buy', 0.01);
      const after = Date.now();
      expect(order).toEqual(expectedOrder({ clientOrderId: 'ct-m1', side: 'buy', type: 'market', price: START_PRICE, amount: 0.01, filled: 0.01, status: 'closed' }));
      expect(await port.fetchOrderByClientId('ct-m1', SYMBOL)).toEqual(order);

      const fills = await port.fetchFills(SYMBOL);
      expect(fills).toHaveLength(1);
      const fee = 0.01 * START_PRICE * FEES.taker; // 1 USDT
      expect(fills[0]).toEqual({
        tradeId: expect.any(String) as string,
        orderId: order.id,
        clientOrderId: 'ct-m1',
        symbol: SYMBOL,
        side: 'buy',
        price: START_PRICE,
        amount: 0.01,
        fee: expect.closeTo(fee, DIGITS) as number,
        takerOrMaker: 'taker',
        timestamp: expect.any(Number) as number,
      });
      expectTimeWithin(fills[0]!.timestamp, before, after);
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      await expectWallet(port, { base: untouched(START.base + 0.01), quote: untouched(START.quote - 0.01 * START_PRICE - fee) });
    });

    contractCase('marketSell', 'a market sell fills at once as taker: balances move by amount and price*amount-fee', async () => {
      const order = await marketOrder('ct-m2', 'sell', 0.05);
      expect(order).toEqual(expectedOrder({ clientOrderId: 'ct-m2', side: 'sell', type: 'market', price: START_PRICE, amount: 0.05, filled: 0.05, status: 'closed' }));
      const fee = 0.05 * START_PRICE * FEES.taker; // 5 USDT
      const [fill, ...more] = await port.fetchFills(SYMBOL);
      expect(more).toEqual([]);
      expect(fill).toMatchObject({ orderId: order.id, clientOrderId: 'ct-m2', side: 'sell', price: START_PRICE, amount: 0.05, takerOrMaker: 'taker' });
      expect(fill!.fee).toBeCloseTo(fee, DIGITS);
      await expectWallet(port, { base: untouched(START.base - 0.05), quote: untouched(START.quote + 0.05 * START_PRICE - fee) });
    });

    contractCase('restingBuyFills', 'a falling price through a resting buy fills it as maker at its own price; the lock is released', async () => {
      const order = await limit('ct-r1', 'buy', 49_000, 0.01);
      const before = Date.now();
      await subject!.movePriceTo(48_500);
      const after = Date.now();
      const fee = 0.01 * 49_000 * FEES.maker; // 0.49 USDT
      const fills = await port.fetchFills(SYMBOL);
      expect(fills).toEqual([
        {
          tradeId: expect.any(String) as string,
          orderId: order.id,
          clientOrderId: 'ct-r1',
          symbol: SYMBOL,
          side: 'buy',
          price: 49_000,
          amount: 0.01,
          fee: expect.closeTo(fee, DIGITS) as number,
          takerOrMaker: 'maker',
          timestamp: expect.any(Number) as number,
        },
      ]);
      expectTimeWithin(fills[0]!.timestamp, before, after);
      expect(await port.fetchOrderByClientId('ct-r1', SYMBOL)).toEqual({ ...order, filled: 0.01, status: 'closed' });
      expect(await port.fetchOpenOrders(SYMBOL)).toEqual([]);
      await expectWallet(port, { base: untouched(START.base + 0.01), quote: untouched(START.quote - 0.01 * 49_000 - fee) });
    });

    contractCase('restingSellFills', 'a rising price through a resting sell fills it as maker at its own price; the lock is released', async () => {
      const order = await limit('ct-r2', 'sell', 51_000, 0.02);
      await subject!.movePriceTo(51_500);
      const fee = 0.02 * 51_000 * FEES.maker; // 1.02 USDT
      const fills = await port.fetchFills(SYMBOL);
      expect(fills).toHaveLength(1);
      expect(fills[0]).toMatchObject({ orderId: order.id, clientOrderId: 'ct-r2', side: 'sell', price: 51_000, amount: 0.02, takerOrMaker: 'maker' });
      expect(fills[0]!.fee).toBeCloseTo(fee, DIGITS);
      expect(await port.fetchOrderByClientId('ct-r2', SYMBOL)).toEqual({ ...order, filled: 0.02, status: 'closed' });
      await expectWallet(port, { base: untouched(START.base - 0.02), quote: untouched(START.quote + 0.02 * 51_000 - fee) });
    });

    contractCase('noFillShortOrOnJump', 'a move that stops short of a resting order, or a price jump, fills nothing', async () => {
      const buy = await limit('ct-j1', 'buy', 49_000, 0.01);
      const sell = await limit('ct-j2', 'sell', 51_000, 0.01);
      await subject!.movePriceTo(49_000.01);
      await subject!.movePriceTo(50_999.99);
      await subject!.jumpPriceTo(50_000);
      expect(await port.fetchFills(SYMBOL)).toEqual([]);
      expect((await port.fetchOpenOrders(SYMBOL)).sort((a, b) => a.clientOrderId.localeCompare(b.clientOrderId))).toEqual([buy, sell]);
    });

    contractCase('fillsSince', 'fetchFills: oldest first, unique fill ids; with `since`, only the fills at or after that time', async () => {
      // Each fill is stamped by the time its call returns: waiting for the clock to pass that
      // moment gives the next fill a later timestamp.
      await marketOrder('ct-t1', 'buy', 0.001);
      await clockPast(Date.now());
      await marketOrder('ct-t2', 'sell', 0.001);
      await limit('ct-t3', 'buy', 49_000, 0.001);
      await clockPast(Date.now());
      await subject!.movePriceTo(48_900);

      const all = await port.fetchFills(SYMBOL);
      expect(all.map((fill) => [fill.clientOrderId, fill.takerOrMaker])).toEqual([
        ['ct-t1', 'taker'],
        ['ct-t2', 'taker'],
        ['ct-t3', 'maker'],
      ]);
      expect(new Set(all.map((fill) => fill.tradeId)).size).toBe(3);
      expect(all.every((fill) => fill.tradeId !== '')).toBe(true);
      expect(all[0]!.timestamp).toBeLessThan(all[1]!.timestamp);
      expect(all[1]!.timestamp).toBeLessThan(all[2]!.timestamp);

      expect(await port.fetchFills(SYMBOL, all[0]!.timestamp)).toEqual(all);
      expect(await port.fetchFills(SYMBOL, all[1]!.timestamp)).toEqual(all.slice(1));
      expect(await port.fetchFills(SYMBOL, all[1]!.timestamp + 1)).toEqual(all.slice(2));
      expect(await port.fetchFills(SYMBOL, all[2]!.timestamp + 1)).toEqual([]);
    });

    // ---- own-order stream -------------------------------------------------------------------

    contractCase('streamFill', 'subscribe: a fill made while subscribed arrives once as a fill event, equal to the fetched fill', async () => {
      const events: ExchangeEvent[] = [];
      const unsubscribe = port.subscribe((event) => events.push(event));
      try {
        await limit('ct-e1', 'buy', 49_000, 0.01);
        await subject!.movePriceTo(48_500);
        await until(() => fillsOf(events).some((fill) => fill.clientOrderId === 'ct-e1'), 'the fill event of ct-e1', EVENT_DEADLINE_MS);
        const [fetched] = await port.fetchFills(SYMBOL);
        expect(fillsOf(events)).toEqual([fetched]);
        // A second fill; once its event is in, the first must still have come exactly once.
        await marketOrder('ct-e2', 'buy', 0.001);
        await until(() => fillsOf(events).some((fill) => fill.clientOrderId === 'ct-e2'), 'the fill event of ct-e2', EVENT_DEADLINE_MS);
        expect(fillsOf(events).map((fill) => fill.clientOrderId)).toEqual(['ct-e1', 'ct-e2']);
        expect(fillsOf(events)[1]).toMatchObject({ side: 'buy', amount: 0.001, price: 48_500, takerOrMaker: 'taker' });
      } finally {
        unsubscribe();
      }
    });

    contractCase('streamCancel', 'subscribe: a cancel made while subscribed arrives as an order event with status canceled', async () => {
      const events: ExchangeEvent[] = [];
      const unsubscribe = port.subscribe((event) => events.push(event));
      try {
        const order = await limit('ct-e3', 'sell', 52_000, 0.01);
        await port.cancelOrder('ct-e3', SYMBOL);
        const canceled = (): ExchangeOrder | undefined => ordersOf(events).find((o) => o.clientOrderId === 'ct-e3' && o.status === 'canceled');
        await until(() => canceled() !== undefined, 'the order event of the cancel of ct-e3', EVENT_DEADLINE_MS);
        expect(canceled()).toEqual({ ...order, status: 'canceled', timestamp: expect.any(Number) as number });
      } finally {
        unsubscribe();
      }
    });
  });
}
