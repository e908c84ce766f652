// Health is derived from the parts' states when asked; a part that cannot report is unhealthy.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { DISABLED, HealthBoard, lifecycleState } from '../../src/actors/supervision/health.js';
import { StoreMonitor } from '../../src/actors/supervision/store-monitor.js';
import type { Logger } from '../../src/adapters/telemetry/logger.js';
import type { GridFigures } from '../../src/domain/figures.js';
import { unknownFigures } from '../../src/machines/grid-figures.js';
import { until } from '../support/until.js';

/** A board whose components are all disabled (paper mode): only the parts decide. */
function partsOnly(options: ConstructorParameters<typeof HealthBoard>[0] = {}): HealthBoard {
  const board = new HealthBoard(options);
  board.disableComponent('database');
  board.disableComponent('websocket');
  board.disableComponent('exchange_api');
  return board;
}

const figures = (id: string, overrides: Partial<GridFigures> = {}): GridFigures => ({
  id,
  symbol: 'BTC/USDT',
  levels: [48_000, 49_000, 50_000, 51_000, 52_000],
  state: 'ACTIVE',
  pendingOrders: 4,
  openPositions: 2,
  gridProfit: 10,
  fees: 0.7,
  equity: 1_009.3,
  pnl: 9.3,
  fills: { buy: 1, sell: 1 },
  roundTrips: 1,
  lastPrice: 50_000,
  ...overrides,
});

describe('health board', () => {
  test('the report, every field: identity, uptime, timestamp, components, the grid, the parts', () => {
    let now = Date.parse('2026-12-10T08:00:00.000Z');
    const board = new HealthBoard({ version: '0.1.0+abc1234', environment: 'stage', trading_mode: 'live', now: () => now });
    board.register('store', () => ({ healthy: true, state: 'up' }));
    board.registerComponent('database', () => ({ status: 'healthy', latency_ms: 1.2 }));
    board.registerComponent('websocket', () => ({ status: 'healthy', connected: true }));
    board.registerComponent('exchange_api', () => ({ status: 'healthy', latency_ms: 35 }));
    board.trackGrids(() => [figures('btc')]);
    now += 61_400;
    expect(board.report()).toEqual({
      status: 'healthy',
      version: '0.1.0+abc1234',
      uptime_seconds: 61,
      timestamp: '2026-12-10T08:01:01.400Z',
      environment: 'stage',
      trading_mode: 'live',
      components: {
        database: { status: 'healthy', latency_ms: 1.2 },
        websocket: { status: 'healthy', connected: true },
        exchange_api: { status: 'healthy', latency_ms: 35 },
      },
      grid: { state: 'ACTIVE', open_positions: 2, pending_orders: 4 },
      grids: { btc: { state: 'ACTIVE', open_positions: 2, pending_orders: 4 } },
      problems: [],
      parts: { store: { healthy: true, state: 'up' } },
    });
  });

  test('healthy when every part and component is; the unhealthy ones are named with their reasons; read at each report', () => {
    let now = 1_000;
    const board = partsOnly({ now: () => now });
    let storeUp = true;
    board.register('store', () => (storeUp ? { healthy: true, state: 'up' } : { healthy: false, state: 'down', reason: 'the database is unreachable' }));
    const remove = board.register('exchange', () => ({ healthy: true, state: 'connected' }));
    expect(board.report()).toMatchObject({ status: 'healthy', problems: [], parts: { store: { healthy: true, state: 'up' }, exchange: { healthy: true, state: 'connected' } }, uptime_seconds: 0 });
    storeUp = false;
    now += 5_000;
    expect(board.report()).toMatchObject({ status: 'unhealthy', problems: ['store: the database is unreachable'], uptime_seconds: 5 });
    remove();
    expect(Object.keys(board.report().parts)).toEqual(['store']);
    // A component decides too: unhealthy, and back.
    storeUp = true;
    let apiFailing = true;
    board.registerComponent('exchange_api', () => (apiFailing ? { status: 'unhealthy', latency_ms: 40, reason: 'failing for 31 s' } : { status: 'healthy', latency_ms: 40 }));
    expect(board.report()).toMatchObject({ status: 'unhealthy', problems: ['exchange_api: failing for 31 s'] });
    apiFailing = false;
    expect(board.report()).toMatchObject({ status: 'healthy', problems: [] });
  });

  test('disabled components (a mode without a store or an exchange) count as healthy; one nothing reports is unhealthy', () => {
    const board = new HealthBoard();
    board.disableComponent('websocket');
    board.disableComponent('exchange_api');
    const report = board.report();
    expect(report.components).toEqual({
      database: { status: 'unhealthy', latency_ms: null, reason: 'nothing reports it yet' },
      websocket: DISABLED.websocket,
      exchange_api: DISABLED.exchange_api,
    });
    expect(report.components.websocket).toEqual({ status: 'disabled', connected: false });
    expect(report.components.exchange_api).toEqual({ status: 'disabled', latency_ms: null });
    expect(report.problems).toEqual(['database: nothing reports it yet']);
    board.disableComponent('database');
    expect(board.report()).toMatchObject({ status: 'healthy', components: { database: { status: 'disabled', latency_ms: null } } });
  });

  test('grids: `grid` only when there is one; a RECOVERING grid has no figures', () => {
    const board = partsOnly();
    const grids = [figures('a')];
    board.trackGrids(() => grids);
    expect(board.report()).toMatchObject({ grid: { state: 'ACTIVE' }, grids: { a: { state: 'ACTIVE' } } });
    grids.push(unknownFigures('b', 'ETH/USDT', 'RECOVERING'));
    const report = board.report();
    expect(report.grid).toBeUndefined();
    expect(report.grids).toEqual({ a: { state: 'ACTIVE', open_positions: 2, pending_orders: 4 }, b: { state: 'RECOVERING', open_positions: null, pending_orders: null } });
    // Even figures that are known are not shown while a grid recovers (they could be the stale, saved ones).
    grids[1] = figures('b', { state: 'RECOVERING' });
    expect(board.report().grids['b']).toEqual({ state: 'RECOVERING', open_positions: null, pending_orders: null });
  });

  test('a part that throws while reporting is unhealthy, and the others still report', () => {
    const board = partsOnly();
    board.register('grid:a', () => {
      throw new Error('snapshot gone');
    });
    board.register('grid:b', () => ({ healthy: true, state: 'ACTIVE' }));
    const report = board.report();
    expect(report.status).toBe('unhealthy');
    expect(report.parts['grid:a']).toEqual({ healthy: false, state: 'unknown', reason: 'its state could not be read: snapshot gone' });
    expect(report.parts['grid:b']).toEqual({ healthy: true, state: 'ACTIVE' });
    // So is a component, and a grid source that throws leaves its grids out.
    board.registerComponent('database', () => {
      throw new Error('monitor gone');
    });
    board.trackGrids(() => {
      throw new Error('no grids');
    });
    const again = board.report();
    expect(again.components.database).toEqual({ status: 'unhealthy', latency_ms: null, reason: 'its state could not be read: monitor gone' });
    expect(again.grids).toEqual({});
  });

  test('a grid lifecycle state is the top state of its statechart value', () => {
    expect(lifecycleState('idle')).toBe('IDLE');
    expect(lifecycleState({ active: 'running' })).toBe('ACTIVE');
    expect(lifecycleState('error')).toBe('ERROR');
  });
});

describe('store monitor', () => {
  test('says down within a ping when the database stops answering (error or silence), and up again when it returns', async () => {
    let mode: 'up' | 'refuses' | 'hangs' = 'up';
    const logs: string[] = [];
    // What the notifier hears (a database down for over a minute is sent, and its end).
    const changes: string[] = [];
    const logger: Logger = { info: (_, msg) => void logs.push(msg), error: (_, msg) => void logs.push(msg), warn: () => undefined, debug: () => undefined, child: () => logger };
    const monitor = new StoreMonitor({
      ping: () => (mode === 'up' ? Promise.resolve() : mode === 'refuses' ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : new Promise(() => undefined)),
      intervalMs: 20,
      timeoutMs: 50,
      logger,
      onChange: (status, downForMs) => changes.push(`${status.state}${downForMs === undefined ? '' : ' after an outage'}`),
    });
    expect(monitor.health()).toMatchObject({ healthy: true, state: 'checking' });
    monitor.start();
    try {
      await until(() => monitor.status().state === 'up', 'up');
      mode = 'refuses';
      await until(() => monitor.status().state === 'down', 'down on a refused connection');
      expect(monitor.health()).toMatchObject({ healthy: false, state: 'down', reason: expect.stringContaining('ECONNREFUSED') });
      mode = 'up';
      await until(() => monitor.status().state === 'up', 'up again');
      mode = 'hangs';
      await until(() => monitor.status().state === 'down', 'down on a ping with no answer');
      expect(monitor.status().lastError).toBe('no answer within 50 ms');
      mode = 'up';
      await until(() => monitor.status().state === 'up', 'up again');
      // Each change logged once, not each ping.
      expect(logs.filter((msg) => msg.startsWith('the database is unreachable'))).toHaveLength(2);
      expect(logs.filter((msg) => msg.startsWith('the database is reachable again'))).toHaveLength(2);
      expect(changes).toEqual(['up', 'down', 'up after an outage', 'down', 'up after an outage']);
    } finally {
      monitor.stop();
    }
    const stateAtStop = monitor.status();
    await sleep(100);
    expect(monitor.status()).toBe(stateAtStop); // stopped: no more pings
  });

  test("records each answered ping's latency: /health's database component", async () => {
    const monitor = new StoreMonitor({ ping: () => sleep(15), intervalMs: 10 });
    expect(monitor.component()).toEqual({ status: 'healthy', latency_ms: null });
    monitor.start();
    try {
      await until(() => monitor.status().latencyMs !== null, 'a ping answered');
      const { latency_ms } = monitor.component();
      expect(latency_ms).toBeGreaterThanOrEqual(10);
      expect(latency_ms).toBeLessThan(1_000);
      expect(monitor.component().status).toBe('healthy');
    } finally {
      monitor.stop();
    }
  });

  test('a ping outstanding past the 5 s timeout is a failed probe at once, whenever /health reads it', async () => {
    let now = 0;
    let answer: (() => void) | undefined;
    // The default timeout (5 s) on a clock of the test's: a hang is told by the reading, not by waiting.
    const monitor = new StoreMonitor({ ping: () => new Promise<void>((resolve) => (answer = resolve)), intervalMs: 20, now: () => now });
    monitor.start();
    try {
      await until(() => answer !== undefined, 'the first ping');
      answer!();
      await until(() => monitor.status().state === 'up', 'up');
      const hanging = answer;
      // The next ping hangs: the reading turns down 5 s after it was sent, before any timer of the monitor fires.
      await until(() => answer !== hanging, 'the second ping', 5_000);
      expect(monitor.component()).toMatchObject({ status: 'healthy' });
      now += 5_001;
      expect(monitor.status()).toMatchObject({ state: 'down', lastError: 'no answer within 5000 ms' });
      expect(monitor.component()).toEqual({ status: 'unhealthy', latency_ms: expect.any(Number), reason: 'the database is unreachable (no answer within 5000 ms)' });
      expect(monitor.health()).toMatchObject({ healthy: false, state: 'down' });
    } finally {
      monitor.stop();
    }
  });
});
