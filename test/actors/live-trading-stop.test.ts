// A signal while live trading still waits for the exchange's markets ends the run at once: an
// exchange that does not answer would hold the request for its whole timeout, past the
// shutdown's cut-off, and nothing has started yet.
import { describe, expect, test } from 'vitest';
import { runLiveTrading } from '../../src/actors/trading/live-trading.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { silentLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';

describe('live trading stopped before it starts', () => {
  test('a signal during the market request returns at once, with no session opened', async () => {
    const stop = new AbortController();
    let sessions = 0;
    const run = runLiveTrading({
      grids: [parseGridConfig({ id: 'ls', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 })],
      loadMarket: () => new Promise<MarketInfo>(() => undefined), // the exchange never answers
      openSession: () => {
        sessions++;
        throw new Error('no session may open');
      },
      store: new MemoryStore(),
      logger: silentLogger,
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(), 50);
    const started = Date.now();
    expect(await run).toEqual(new Map());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sessions).toBe(0);
  });
});
