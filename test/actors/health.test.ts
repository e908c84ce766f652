// Health is derived from the parts' states when asked; a part that cannot report is unhealthy.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { HealthBoard, lifecycleState } from '../../src/actors/supervision/health.js';
import { StoreMonitor } from '../../src/actors/supervision/store-monitor.js';
import type { Logger } from '../../src/adapters/telemetry/logger.js';
import { until } from '../support/until.js';

describe('health board', () => {
  test('healthy when every part is; the unhealthy parts are named with their reasons; read at each report', () => {
    let now = 1_000;
    const board = new HealthBoard(() => now);
    let storeUp = true;
    board.register('store', () => (storeUp ? { healthy: true, state: 'up' } : { healthy: false, state: 'down', reason: 'the database is unreachable' }));
    const remove = board.register('exchange', () => ({ healthy: true, state: 'connected' }));
    expect(board.report()).toEqual({ status: 'healthy', problems: [], parts: { store: { healthy: true, state: 'up' }, exchange: { healthy: true, state: 'connected' } }, uptimeSeconds: 0 });
    storeUp = false;
    now += 5_000;
    expect(board.report()).toMatchObject({ status: 'unhealthy', problems: ['store: the database is unreachable'], uptimeSeconds: 5 });
    remove();
    expect(Object.keys(board.report().parts)).toEqual(['store']);
  });

  test('a part that throws while reporting is unhealthy, and the others still report', () => {
    const board = new HealthBoard();
    board.register('grid:a', () => {
      throw new Error('snapshot gone');
    });
    board.register('grid:b', () => ({ healthy: true, state: 'ACTIVE' }));
    const report = board.report();
    expect(report.status).toBe('unhealthy');
    expect(report.parts['grid:a']).toEqual({ healthy: false, state: 'unknown', reason: 'its state could not be read: snapshot gone' });
    expect(report.parts['grid:b']).toEqual({ healthy: true, state: 'ACTIVE' });
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
    const logger: Logger = { info: (_, msg) => void logs.push(msg), error: (_, msg) => void logs.push(msg), warn: () => undefined, debug: () => undefined, child: () => logger };
    const monitor = new StoreMonitor({
      ping: () => (mode === 'up' ? Promise.resolve() : mode === 'refuses' ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : new Promise(() => undefined)),
      intervalMs: 20,
      timeoutMs: 50,
      logger,
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
    } finally {
      monitor.stop();
    }
    const stateAtStop = monitor.status();
    await sleep(100);
    expect(monitor.status()).toBe(stateAtStop); // stopped: no more pings
  });
});
