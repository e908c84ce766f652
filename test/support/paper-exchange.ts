// The paper exchange the runtime tests trade on: BTC/USDT at 50,000, 10,000 USDT, 0.1 % fees;
// optionally with partial fills (`splitFill`).
import { PaperExchange, type PaperExchangeOptions } from '../../src/adapters/exchange/paper-exchange.js';

export function paperExchangeAt50k(options: Pick<PaperExchangeOptions, 'splitFill'> = {}): PaperExchange {
  const exchange = new PaperExchange({
    market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 },
    fees: { maker: 0.001, taker: 0.001 },
    balance: { base: 0, quote: 10_000 },
    now: Date.now,
    ...options,
  });
  exchange.setPrice(50_000);
  return exchange;
}
