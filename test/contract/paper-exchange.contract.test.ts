// The exchange-port contract (exchange-port.contract.ts) against the paper exchange, in process:
// the price is walked with step() until nothing more fills, or jumped with setPrice().
import { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import { describeExchangePortContract } from './exchange-port.contract.js';

describeExchangePortContract(
  'PaperExchange',
  async ({ market, fees, balance, price }) => {
    const exchange = new PaperExchange({ market, fees, balance, now: Date.now });
    exchange.setPrice(price);
    return {
      port: exchange,
      movePriceTo: async (target) => {
        while (exchange.step(target));
      },
      jumpPriceTo: async (to) => exchange.setPrice(to),
      close: async () => {},
    };
  },
);
