// /health during a recovery: a restarted grid is RECOVERING (unhealthy, no figures: they would be
// the saved, stale ones) until it is reconciled with the exchange, then ACTIVE with its figures.
import { describe, expect, test } from 'vitest';
import { gridHealth } from '../../src/actors/supervision/health.js';
import { GridService } from '../../src/actors/trading/grid-service.js';
import type { Fill } from '../../src/domain/trading.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { silentLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'hr', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });

describe('a grid while it recovers', () => {
  test('is RECOVERING and unhealthy, without figures, until reconciled; then ACTIVE', async () => {
    const exchange = paperExchangeAt50k();
    const { session } = paperSession(exchange);
    const store = new MemoryStore();
    const launch = (): GridService => {
      const service = new GridService({ config, session, store, logger: silentLogger, signal: new AbortController().signal });
      service.start();
      return service;
    };
    const first = launch();
    await first.ready;
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2, 'the grid to rest');
    await first.settled();
    first.stop();

    // The catch-up of fills is held: the recovery cannot finish until it is answered.
    let answer!: (fills: Fill[]) => void;
    session.fetchFills = () => new Promise<Fill[]>((resolve) => (answer = resolve));
    const second = launch();
    expect(second.health()).toMatchObject({ healthy: false, state: 'RECOVERING' });
    await until(() => answer !== undefined, 'the catch-up request');
    const during = second.health();
    expect(during).toEqual({ healthy: false, state: 'RECOVERING', reason: 'starting: reconciling with the exchange before it trades' });
    // No figure while recovering: /health's grid shows nulls, the metrics leave the series out (NaN).
    expect(second.figures()).toMatchObject({ id: 'hr', symbol: 'BTC/USDT', state: 'RECOVERING', pendingOrders: Number.NaN, openPositions: Number.NaN, pnl: Number.NaN });
    expect(gridHealth(second.figures())).toEqual({ state: 'RECOVERING', open_positions: null, pending_orders: null });
    answer([]);
    await second.ready;
    expect(second.health()).toMatchObject({ healthy: true, state: 'ACTIVE', detail: { openOrders: 4 } });
    // Reconciled: the saved books' figures (2 buys and 2 sells rest; the 2 sells are the start buy's lots).
    expect(second.figures()).toMatchObject({ state: 'ACTIVE', pendingOrders: 4, openPositions: 2, fills: { buy: 0, sell: 0 }, roundTrips: 0, gridProfit: 0 });
    expect(gridHealth(second.figures())).toEqual({ state: 'ACTIVE', open_positions: 2, pending_orders: 4 });
    second.stop();
  });
});
