// Two grids on one symbol, one account: each grid stores and answers its own fills only. Fills
// are stored once by trade id, so a grid that stored the other's fill first would take it from
// it: the other's order would never hear of its fill, and its counter-order never be placed.
import { afterEach, expect, test } from 'vitest';
import type { SupervisedSession } from '../../src/actors/trading/live-trading.js';
import { runLiveTrading } from '../../src/actors/trading/live-trading.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { silentLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { until } from '../support/until.js';

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

test('two grids on one symbol: every fill is stored once, by the grid whose order it is, and each places its counter-order', async () => {
  const exchange = paperExchangeAt50k();
  const store = new MemoryStore();
  // Both grids have a buy at 49,000: one price move fills both.
  const grids = [
    parseGridConfig({ id: 'g1', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 }),
    parseGridConfig({ id: 'g2', symbol: 'BTC/USDT', lower: 47_000, upper: 53_000, levels: 7, quantityPerLevel: 0.01 }),
  ];
  const session = (): SupervisedSession => ({ ...paperSession(exchange).session, start: () => undefined, stop: async () => undefined, health: () => ({ healthy: true, state: 'connected' }), onFailure: () => () => undefined });
  const stop = new AbortController();
  const running = runLiveTrading({ grids, loadMarket: (symbol) => exchange.loadMarket(symbol), openSession: session, store, logger: silentLogger, signal: stop.signal });
  stops.push(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });
  await until(() => exchange.openOrderCount.buy === 2 + 3 && exchange.openOrderCount.sell === 2 + 3, 'both grids resting', 10_000);

  while (exchange.step(48_900));
  // Each grid's buy at 49,000 filled; each places its own counter-sell at 50,000.
  await until(async () => (await exchange.fetchOpenOrders('BTC/USDT')).filter((order) => order.side === 'sell' && order.price === 50_000).length === 2, 'both counter-sells', 10_000);
  const stored = [...store.fills.values()];
  expect(stored.filter((fill) => fill.price === 49_000).map((fill) => fill.clientOrderId.split('_')[0]).sort()).toEqual(['bbg1', 'bbg2']);
  expect(stored).toHaveLength(exchange.fillLog.length);
});
