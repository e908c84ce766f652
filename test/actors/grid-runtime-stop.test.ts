// A runtime's persisted state after stop() is the state at the stop: a snapshot save still under
// way when the process stops (SIGTERM) must not write a grid whose orders lost their actors.
import { describe, expect, test } from 'vitest';
import { startGridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'st', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });

describe('a stopped runtime', () => {
  test('persists what it held when it stopped: every order with its actor', async () => {
    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), journal: true });
    runtime.send({ type: 'START', price: 50_000 });
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2 && runtime.orders.size === 4, 'the grid to rest');
    const before = runtime.persist();
    runtime.stop();
    const after = runtime.persist();
    expect(Object.keys(after.orders).sort()).toEqual(Object.keys(before.orders).sort());
    expect(after).toEqual(before);
  });
});
