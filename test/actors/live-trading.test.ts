// Live trading under supervision: a grid whose actors crash is restarted through recovery (its
// saved state, reconciled with the exchange), never placing an order twice; one that keeps crashing
// is given up, its orders left resting. Against the BingX simulator through unmodified ccxt.
import { afterEach, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange-session.js';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid-runtime.js';
import { runLiveTrading } from '../../src/actors/live-trading.js';
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

async function setUp() {
  const sim: BingxSimulator = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 0, quote: 10_000 }, price: 50_000 });
  cleanups.push(() => sim.close());
  const exchange = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'k', secret: 's', exchangeUrl: sim.url });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const session = new ExchangeSession({ exchange, symbols: ['BTC/USDT'], own: true, since: Date.now() - 1_000, logger, pollIntervalMs: 100, reconcileIntervalMs: 500 });
  session.start();
  cleanups.push(() => session.stop());
  const stop = new AbortController();
  cleanups.push(() => stop.abort());
  const runtimes: Array<{ runtime: GridRuntime; crash: (error: Error) => void }> = [];
  const running = runLiveTrading({ grids: [config], session, store: new MemoryStore(), logger, signal: stop.signal, startRuntime: crashable(runtimes) });
  running.catch(() => undefined);
  return { sim, logs, runtimes, stop, running };
}

const open = (sim: BingxSimulator) => sim.exchange.allOrders().filter((order) => order.status === 'open');

describe('live trading under supervision', () => {
  test('a grid whose actors crash is restarted from its saved state and reconciled: nothing placed twice, trading on', async () => {
    const { sim, logs, runtimes, stop, running } = await setUp();
    await until(() => open(sim).length === 4, 'the grid to rest');
    const placed = sim.exchange.allOrders().length;

    runtimes[0]!.crash(new Error('boom: a bug in an action'));
    await until(() => logs.some((line) => line['msg'] === 'grid recovered: reconciled with the exchange, trading'), 'the recovery', 15_000);
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

  test('a grid that keeps crashing is given up: its orders stay resting, the error is logged', async () => {
    const { sim, logs, runtimes, stop, running } = await setUp();
    await until(() => open(sim).length === 4, 'the grid to rest');
    // Each start crashes once it trades: 1 s, 2 s and 4 s of backoff, then the supervisor gives up.
    let crashed = 0;
    const crashLatest = setInterval(() => {
      if (runtimes.length > crashed) runtimes[crashed++]!.crash(new Error(`boom ${crashed}`));
    }, 50);
    cleanups.push(() => clearInterval(crashLatest));
    await until(() => logs.some((line) => String(line['msg']).startsWith('a grid kept failing')), 'the give-up', 30_000);
    expect(open(sim)).toHaveLength(4); // left resting
    expect(new Set(sim.exchange.allOrders().map((order) => order.clientOrderId)).size).toBe(sim.exchange.allOrders().length);
    stop.abort();
    await running;
  }, 60_000);
});
