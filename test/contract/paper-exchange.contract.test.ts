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
  {
    knownDisagreements: {
      // By design: the paper exchange follows ../shared/spec/grid-semantics.md, where only missing
      // funds refuse an order (min notional is a start-time config rule there). Checking it here
      // makes backtests disagree with the spec (tried: the reference-agreement properties fail on
      // start buys worth less than the minimum). A real exchange refuses them: paper and backtest
      // results can differ from live for orders below the minimum, which the config rules keep rare.
      minNotionalLimit: 'by design (spec): the paper exchange accepts a limit order below minNotional',
      minNotionalMarket: 'by design (spec): the paper exchange fills a market order below minNotional',
    },
  },
);
