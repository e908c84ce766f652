// Live trading under supervision: a grid whose actors crash is restarted through recovery (its
// saved state, reconciled with the exchange), never placing an order twice; one that keeps crashing
// is given up, its orders left resting, the process unhealthy; a failed exchange session is replaced
// and the grids restart on the new one. Against the BingX simulator through unmodified ccxt.
import { afterEach, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import type { NotificationEvent } from '../../src/domain/notifications.js';
import { HealthBoard } from '../../src/actors/supervision/health.js';
import { runLiveTrading } from '../../src/actors/trading/live-trading.js';
import type { RestartEvent } from '../../src/actors/supervision/supervisor.js';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { until } from '../support/until.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const config = parseGridConfig({ id: 'sup', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A runtime whose grid actor the test can crash: the error reaches every error observer, as an XState actor error does. */
function crashable(runtimes: Array<{ runtime: GridRuntime; crash: (error: Error) => void }>): typeof startGridRuntime {
  return (options) => {
    const runtime = startGridRuntime(options);
    const onError: Array<(error: unknown) => void> = [];
    const actor = new Proxy(runtime.actor, {
      get(target, key, receiver) {
        if (key !== 'subscribe') return Reflect.get(target, key, receiver) as unknown;
        return (observer: { next?: () => void; error?: (error: unknown) => void }) => {
          if (observer.error) onError.push(observer.error);
          return target.subscribe(observer);
        };
      },
    });
    const wrapped = { ...runtime, actor, orders: runtime.orders, persist: () => runtime.persist(), deliverFills: runtime.deliverFills, stop: () => runtime.stop() };
    runtimes.push({ runtime: wrapped, crash: (error) => onError.forEach((report) => report(error)) });
    return wrapped;
  };
}

/** Sessions the test can fail, as a failing connection actor would: the `exchange` child's error. */
function failable(open: () => ExchangeSession, sessions: Array<{ session: ExchangeSession; fail: (error: Error) => void }>): () => ExchangeSession {
  return () => {
    const session = open();
    const listeners: Array<(error: unknown) => void> = [];
    const onFailure = session.onFailure.bind(session);
    session.onFailure = (listener) => (listeners.push(listener), onFailure(listener));
    sessions.push({ session, fail: (error) => listeners.forEach((listener) => listener(error)) });
    return session;
  };
}

async function setUp() {
  const sim: BingxSimulator = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 0, quote: 10_000 }, price: 50_000 });
  cleanups.push(() => sim.close());
  const exchange = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'k', secret: 's', exchangeUrl: sim.url });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const openSession = () => new ExchangeSession({ exchange, symbols: ['BTC/USDT'], own: true, since: Date.now() - 1_000, logger, pollIntervalMs: 100, reconcileIntervalMs: 500 });
  const stop = new AbortController();
  cleanups.push(() => stop.abort());
  const runtimes: Array<{ runtime: GridRuntime; crash: (error: Error) => void }> = [];
  const sessions: Array<{ session: ExchangeSession; fail: (error: Error) => void }> = [];
  const health = new HealthBoard();
  const restarts: RestartEvent[] = [];
  const notified: NotificationEvent[] = [];
  const running = runLiveTrading({
    grids: [config],
    loadMarket: (symbol) => exchange.loadMarket(symbol),
    openSession: failable(openSession, sessions),
    store: new MemoryStore(),
    logger,
    signal: stop.signal,
    startRuntime: crashable(runtimes),
    health,
    onRestart: (event) => restarts.push(event),
    notifier: { notify: (event) => notified.push(event), close: async () => undefined },
    // Shorter waits than the defaults (1 s doubling), the same intensities.
    supervision: { backoff: { baseMs: 100, maxMs: 400 } },
  });
  running.catch(() => undefined);
  return { sim, logs, runtimes, sessions, health, restarts, notified, stop, running };
}

const open = (sim: BingxSimulator) => sim.exchange.allOrders().filter((order) => order.status === 'open');

describe('live trading under supervision', () => {
  test('a grid whose actors crash is restarted from its saved state and reconciled: nothing placed twice, trading on', async () => {
    const { sim, logs, runtimes, health, restarts, stop, running } = await setUp();
    await until(() => open(sim).length === 4, 'the grid to rest');
    const placed = sim.exchange.allOrders().length;

    // The exchange shows the orders before the grid has every ack: wait for the order actors to be open.
    const orderStates = () => (health.report().parts['grid:sup']?.detail as { orders?: Record<string, number> } | undefined)?.orders;
    await until(() => orderStates()?.['open'] === 4, 'the order actors to be open');
    expect(health.report()).toMatchObject({ status: 'healthy', parts: { 'grid:sup': { state: 'ACTIVE', detail: { openOrders: 4, orders: { open: 4 } } }, exchange: { healthy: true } } });
    runtimes[0]!.crash(new Error('boom: a bug in an action'));
    await until(() => logs.some((line) => line['msg'] === 'grid recovered: reconciled with the exchange, trading'), 'the recovery', 15_000);
    expect(restarts).toMatchObject([{ supervisor: 'grids', child: 'sup', systemId: 'grid:sup', restarts: 1, error: expect.stringContaining('boom') }]);
    await until(() => health.report().status === 'healthy', 'health to come back');
    expect(logs.some((line) => line['msg'] === 'restarting the grid from its saved state')).toBe(true);
    expect(runtimes).toHaveLength(2);
    expect(sim.exchange.allOrders()).toHaveLength(placed); // nothing placed twice

    // Trading on: a fill's counter-order comes from the restarted grid.
    sim.step(48_500);
    await until(() => open(sim).filter((order) => order.side === 'sell').length === 3, 'the counter-sell', 15_000);
    stop.abort();
    const reports = await running;
    expect(Object.keys(reports.get('sup')!.openOrders).sort()).toEqual(open(sim).map((order) => order.clientOrderId).sort());
  }, 60_000);

  test('a failed exchange session is replaced and the grids after it restart on the new one (rest_for_one): nothing placed twice', async () => {
    const { sim, logs, sessions, restarts, stop, running } = await setUp();
    await until(() => open(sim).length === 4, 'the grid to rest');
    const placed = sim.exchange.allOrders().length;
    sessions[0]!.fail(new Error('the connection actor failed'));
    await until(() => logs.filter((line) => line['msg'] === 'grid recovered: reconciled with the exchange, trading').length === 1, 'the grid to recover on the new session', 15_000);
    expect(sessions).toHaveLength(2);
    expect(restarts.map((event) => `${event.supervisor}/${event.child} caused by ${event.cause}`)).toEqual(['btcbot/exchange caused by exchange', 'btcbot/grids caused by exchange']);
    expect(sim.exchange.allOrders()).toHaveLength(placed);
    // The new session carries the fills: a counter-order follows.
    sim.step(48_500);
    await until(() => open(sim).filter((order) => order.side === 'sell').length === 3, 'the counter-sell', 15_000);
    stop.abort();
    await running;
  }, 60_000);

  test('a grid that keeps crashing is given up: its orders stay resting, the error is logged', async () => {
    const { sim, logs, runtimes, health, restarts, notified, stop, running } = await setUp();
    await until(() => open(sim).length === 4, 'the grid to rest');
    // Each start crashes once it trades: 1 s, 2 s and 4 s of backoff, then the supervisor gives up.
    let crashed = 0;
    const crashLatest = setInterval(() => {
      if (runtimes.length > crashed) runtimes[crashed++]!.crash(new Error(`boom ${crashed}`));
    }, 50);
    cleanups.push(() => clearInterval(crashLatest));
    await until(() => logs.some((line) => String(line['msg']).startsWith('supervision gave up')), 'the give-up', 30_000);
    expect(open(sim)).toHaveLength(4); // left resting
    // The grids' supervisor gave up on it (3 restarts), escalated, the root restarted `grids` until
    // its own intensity (5 restarts) was spent: then the whole tree stopped and reports unhealthy.
    expect(restarts.filter((event) => event.supervisor === 'btcbot' && event.child === 'grids')).toHaveLength(5);
    const report = health.report();
    expect(report.status).toBe('unhealthy');
    expect(report.parts['grid:sup']).toMatchObject({ healthy: false, state: 'ERROR' });
    expect(report.parts['supervision']).toMatchObject({ healthy: false, state: 'gaveUp' });
    expect(new Set(sim.exchange.allOrders().map((order) => order.clientOrderId)).size).toBe(sim.exchange.allOrders().length);
    // The operator hears of it (Telegram, Discord, a webhook): the start buy's fill, then the give-up.
    expect(notified.filter((event) => event.kind === 'supervisorGaveUp')).toEqual([{ kind: 'supervisorGaveUp', supervisor: 'btcbot', reason: expect.stringContaining('grids') }]);
    expect(notified.filter((event) => event.kind === 'fill').map((event) => event.kind === 'fill' && event.clientOrderId)).toContain('bbsup_m1');
    stop.abort();
    await running;
  }, 60_000);
});
