// Exchange filters (price step, amount step, min notional) from a ccxt market, in either of
// ccxt's precision modes: TICK_SIZE (the step itself, e.g. 0.01; what bingx and binance use now)
// or DECIMAL_PLACES (digits, e.g. 2; older snapshots).
import type { MarketInfo } from './port.js';

/** ccxt's precision mode constants (ccxt/js/src/base/functions/number.js). */
export const DECIMAL_PLACES = 2;
export const TICK_SIZE = 4;

/** The fields of a ccxt market this adapter reads. */
export interface CcxtMarket {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly spot?: boolean;
  readonly active?: boolean | undefined;
  readonly precision: { readonly price?: number | undefined; readonly amount?: number | undefined };
  readonly limits: { readonly cost?: { readonly min?: number | undefined } | undefined };
}

function stepOf(precision: number | undefined, mode: number, what: string, symbol: string): number {
  if (precision === undefined || !(precision >= 0)) {
    throw new Error(`market ${symbol} has no ${what} precision; the exchange's market data is incomplete`);
  }
  if (mode === TICK_SIZE) return precision;
  if (mode === DECIMAL_PLACES) return Number((10 ** -precision).toFixed(precision));
  throw new Error(`market ${symbol}: precision mode ${mode} is not supported (only TICK_SIZE and DECIMAL_PLACES)`);
}

export function marketInfoFromCcxt(market: CcxtMarket, precisionMode: number): MarketInfo {
  if (market.spot === false) throw new Error(`market ${market.symbol} is not a spot market; btcbot trades spot only`);
  return {
    symbol: market.symbol,
    base: market.base,
    quote: market.quote,
    priceStep: stepOf(market.precision.price, precisionMode, 'price', market.symbol),
    amountStep: stepOf(market.precision.amount, precisionMode, 'amount', market.symbol),
    minNotional: market.limits.cost?.min ?? 0,
  };
}
