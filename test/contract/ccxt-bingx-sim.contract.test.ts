// The exchange-port contract (exchange-port.contract.ts) against the live adapter: CcxtExchange on
// unmodified ccxt (bingx), its URLs rebased onto the BingX simulator on loopback. The simulator's
// step() walks the price and fills, setPrice() jumps.
import { afterAll, beforeAll } from 'vitest';
import { CcxtExchange, rebaseApiUrls } from '../../src/adapters/exchange/ccxt-exchange.js';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { contractSetup, describeExchangePortContract } from './exchange-port.contract.js';

const credentials = { apiKey: 'contract-key', secret: 'contract-secret' };

/**
 * The simulator's markets as unmodified ccxt loads them from it, once for the file: each subject's
 * adapter starts from this snapshot instead of loading the markets again (five requests, ~0.7 s
 * through ccxt's rate limiter), so every test stays well under a second or two.
 */
let markets: Record<string, unknown> | undefined;
let marketSource: BingxSimulator | undefined;

beforeAll(async () => {
  marketSource = await startBingxSimulator({ port: 0, ...contractSetup });
  const ccxt = await import('ccxt');
  const bingx = new ccxt.bingx({ ...credentials });
  bingx.urls['api'] = rebaseApiUrls(bingx.urls['api'], marketSource.url) as typeof bingx.urls.api;
  markets = (await bingx.loadMarkets()) as unknown as Record<string, unknown>;
});

afterAll(async () => {
  await marketSource?.close();
});

describeExchangePortContract(
  'CcxtExchange (bingx) on the BingX simulator',
  async ({ market, fees, balance, price }) => {
    const sim = await startBingxSimulator({ port: 0, market, fees, balance, price });
    try {
      const ccxt = await CcxtExchange.create({ exchangeId: 'bingx', ...credentials, exchangeUrl: sim.url, ...(markets ? { markets } : {}) });
      // The live mode's port: the session over the adapter, its own-order stream over WebSocket
      // (watchOrders / watchMyTrades), REST polling while the stream is down.
      const port = new ExchangeSession({ exchange: ccxt, symbols: [market.symbol], own: true, since: 0, pollIntervalMs: 50, connectTimeoutMs: 5_000 });
      port.start();
      await port.firstTick(market.symbol);
      return {
        port,
        movePriceTo: async (target) => {
          sim.step(target);
        },
        jumpPriceTo: async (to) => sim.setPrice(to),
        close: async () => {
          await port.stop();
          await sim.close();
        },
      };
    } catch (error) {
      await sim.close();
      throw error;
    }
  }
);
