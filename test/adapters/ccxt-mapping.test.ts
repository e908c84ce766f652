// The ccxt adapter's pure mappings against real ccxt error classes and ccxt's own recorded
// market snapshots (../shared/fixtures/ccxt/markets, read in place).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ccxt from 'ccxt';
import { describe, expect, test } from 'vitest';
import { fromCcxtError, redactSecrets } from '../../src/adapters/exchange/ccxt-errors.js';
import { DECIMAL_PLACES, TICK_SIZE, marketInfoFromCcxt, type CcxtMarket } from '../../src/adapters/exchange/ccxt-market.js';
import { ExchangeError } from '../../src/adapters/exchange/port.js';
import { hasShared, sharedDir, sharedSkipReason } from '../shared.js';

describe('fromCcxtError: ccxt error classes -> port outcomes', () => {
  const cases: Array<[ctor: new (message: string) => Error, kind: string, code: string]> = [
    [ccxt.RateLimitExceeded, 'retryable', 'RATE_LIMIT'],
    [ccxt.RequestTimeout, 'retryable', 'TIMEOUT'],
    [ccxt.ExchangeNotAvailable, 'retryable', 'UNAVAILABLE'],
    [ccxt.OnMaintenance, 'retryable', 'UNAVAILABLE'],
    [ccxt.NetworkError, 'retryable', 'NETWORK'],
    [ccxt.InvalidNonce, 'retryable', 'CLOCK_DRIFT'],
    [ccxt.OrderNotFound, 'notFound', 'ORDER_NOT_FOUND'],
    [ccxt.InsufficientFunds, 'rejected', 'INSUFFICIENT_FUNDS'],
    [ccxt.DuplicateOrderId, 'rejected', 'DUPLICATE_CLIENT_ORDER_ID'],
    [ccxt.InvalidOrder, 'rejected', 'INVALID_ORDER'],
    [ccxt.OrderImmediatelyFillable, 'rejected', 'INVALID_ORDER'],
    [ccxt.AuthenticationError, 'auth', 'AUTH'],
    [ccxt.PermissionDenied, 'auth', 'AUTH'],
    [ccxt.AccountSuspended, 'auth', 'AUTH'],
    [ccxt.BadSymbol, 'rejected', 'BAD_SYMBOL'],
    [ccxt.BadRequest, 'rejected', 'BAD_REQUEST'],
    [ccxt.BadResponse, 'unknown', 'BAD_RESPONSE'],
    [ccxt.ExchangeError, 'unknown', 'EXCHANGE_ERROR'],
  ];
  for (const [ctor, kind, code] of cases) {
    test(`${ctor.name} -> ${kind} ${code}`, () => {
      const mapped = fromCcxtError(new ctor('binance {"code":-1000,"msg":"x"}'), 'binance');
      expect(mapped).toBeInstanceOf(ExchangeError);
      expect([mapped.kind, mapped.code]).toEqual([kind, code]);
    });
  }

  test('"busy, try again" (OperationFailed, BingX 100410) is retryable', () => {
    const mapped = fromCcxtError(new ccxt.OperationFailed('bingx {"code":100410,"msg":"The current system is busy, please try again later"}'), 'bingx');
    expect([mapped.kind, mapped.code]).toEqual(['retryable', 'BUSY']);
  });

  test('BingX 100421 is clock drift, not a bad symbol', () => {
    const mapped = fromCcxtError(new ccxt.BadSymbol('bingx {"code":100421,"msg":"Null timestamp or timestamp mismatch","debugMsg":""}'), 'bingx');
    expect([mapped.kind, mapped.code]).toEqual(['retryable', 'CLOCK_DRIFT']);
    expect(mapped.message).toMatch(/clock is probably off; sync it \(NTP\)/);
    // The same code from another exchange keeps ccxt's class.
    expect(fromCcxtError(new ccxt.BadSymbol('binance {"code":100421}'), 'binance').code).toBe('BAD_SYMBOL');
  });

  test('anything that is not a ccxt error is unknown; a port error passes through', () => {
    expect(fromCcxtError(new TypeError('boom'), 'bingx').kind).toBe('unknown');
    expect(fromCcxtError('a string', 'bingx').kind).toBe('unknown');
    const portError = new ExchangeError('rejected', 'no', 'X');
    expect(fromCcxtError(portError, 'bingx')).toBe(portError);
  });

  test('no secret survives in the message', () => {
    const key = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
    const secret = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
    const error = new ccxt.AuthenticationError(
      `bingx GET https://open-api.bingx.com/openApi/spot/v1/trade/query?timestamp=1&signature=0fa8b2c9d1e3 ${key} {"X-BX-APIKEY":"${key}","secret":"${secret}"}`,
    );
    const mapped = fromCcxtError(error, 'bingx', [key, secret]);
    expect(mapped.message).not.toContain(key);
    expect(mapped.message).not.toContain(secret);
    expect(mapped.message).not.toContain('0fa8b2c9d1e3');
    expect(redactSecrets('apiKey=abcd1234&x=1')).toBe('apiKey=***&x=1');
  });
});

describe.skipIf(!hasShared)(`marketInfoFromCcxt on ccxt's market snapshots${hasShared ? '' : ` (skipped: ${sharedSkipReason})`}`, () => {
  const markets = (exchange: string): Record<string, CcxtMarket> =>
    JSON.parse(readFileSync(path.join(sharedDir, 'fixtures/ccxt/markets', `${exchange}.json`), 'utf8'));

  test('BingX BTC/USDT: tick 0.01, step 0.00001, min notional 5 (the exchange info agrees)', () => {
    const market = markets('bingx')['BTC/USDT']! as CcxtMarket & { info: { tickSize: string; stepSize: string; minNotional: string } };
    const info = marketInfoFromCcxt(market, DECIMAL_PLACES); // the snapshot holds digits
    expect(info).toEqual({ symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 });
    expect([info.priceStep, info.amountStep, info.minNotional]).toEqual([Number(market.info.tickSize), Number(market.info.stepSize), Number(market.info.minNotional)]);
  });

  test('Binance BTC/USDT agrees with its PRICE_FILTER, LOT_SIZE and NOTIONAL filters', () => {
    const market = markets('binance')['BTC/USDT']! as CcxtMarket & { info: { filters: Array<Record<string, string>> } };
    const filter = (type: string) => market.info.filters.find((f) => f.filterType === type)!;
    const info = marketInfoFromCcxt(market, DECIMAL_PLACES);
    expect(info.priceStep).toBe(Number(filter('PRICE_FILTER').tickSize));
    expect(info.amountStep).toBe(Number(filter('LOT_SIZE').stepSize));
    expect(info.minNotional).toBe(Number(filter('NOTIONAL').minNotional));
  });

  test('every spot market of both snapshots maps to positive steps', () => {
    for (const exchange of ['bingx', 'binance']) {
      for (const market of Object.values(markets(exchange)).filter((m) => m.spot)) {
        const info = marketInfoFromCcxt(market, DECIMAL_PLACES);
        expect(info.priceStep, `${exchange} ${market.symbol}`).toBeGreaterThan(0);
        expect(info.amountStep, `${exchange} ${market.symbol}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('marketInfoFromCcxt: precision modes and bad markets', () => {
  const market: CcxtMarket = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', spot: true, precision: { price: 0.1, amount: 0.0001 }, limits: { cost: { min: 10 } } };
  test('TICK_SIZE takes the steps as they are', () => {
    expect(marketInfoFromCcxt(market, TICK_SIZE)).toMatchObject({ priceStep: 0.1, amountStep: 0.0001, minNotional: 10 });
  });
  test('a market without precision, a derivative market or an unknown mode is a clear error', () => {
    expect(() => marketInfoFromCcxt({ ...market, precision: {} }, TICK_SIZE)).toThrow(/has no price precision; the exchange's market data is incomplete/);
    expect(() => marketInfoFromCcxt({ ...market, spot: false, symbol: 'BTC/USDT:USDT' }, TICK_SIZE)).toThrow(/not a spot market/);
    expect(() => marketInfoFromCcxt(market, 3)).toThrow(/precision mode 3 is not supported/);
  });
  test('a missing cost limit means no minimum notional', () => {
    expect(marketInfoFromCcxt({ ...market, limits: {} }, TICK_SIZE).minNotional).toBe(0);
  });
});
