// The exchange-port contract (exchange-port.contract.ts) against the paper exchange as paper and
// demo mode run it: a PaperAccount, saved to a store before it answers. A price jump is a walk
// here (the account has no jump): the one case that jumps moves across no resting order.
import { PaperAccount } from '../../src/actors/exchange/paper-account.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { describeExchangePortContract } from './exchange-port.contract.js';

describeExchangePortContract('PaperAccount (saved to the store)', async ({ market, fees, balance, price }) => {
  const account = await PaperAccount.create(`paper:${market.symbol}`, new MemoryStore(), { market, fees, now: Date.now }, balance, price);
  const movePriceTo = async (target: number): Promise<void> => {
    while (await account.step(target));
  };
  return { port: account, movePriceTo, jumpPriceTo: movePriceTo, close: async () => {} };
});
