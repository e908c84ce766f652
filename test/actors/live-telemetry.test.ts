// /health and /metrics of a live bot, wired as `btcbot run` wires live mode: the ccxt adapter's REST
// calls timed (timedRequests: the metrics' histogram and /health's exchange_api), the metrics as the
// trading observer, the health board with the process's identity; a grid trading on the BingX
// simulator through unmodified ccxt, served over HTTP and scraped as Prometheus would.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import { HealthBoard } from '../../src/actors/supervision/health.js';
import { runLiveTrading } from '../../src/actors/trading/live-trading.js';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { RecentRequests, timedRequests } from '../../src/adapters/exchange/timed-requests.js';
import { createHttpApp } from '../../src/adapters/http/http-app.js';
import { startHttpServer } from '../../src/adapters/http/http-server.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { createMetrics } from '../../src/adapters/telemetry/metrics.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { buildVersion } from '../../src/config/version.js';
import { checkMetrics, promtool } from '../support/promtool.js';
import { until } from '../support/until.js';

const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const config = parseGridConfig({ id: 'tel', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
// Random, so that finding one in a response is a real leak.
const KEY = `key-${randomBytes(8).toString('hex')}`;
const SECRET = `secret-${randomBytes(12).toString('hex')}`;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The value of one sample line of an exposition, e.g. `btcbot_orders_pending{environment="stage",grid="tel"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function startBot() {
  const sim = await startBingxSimulator({ port: 0, market, fees: { maker: 0.001, taker: 0.001 }, balance: { base: 0, quote: 10_000 }, price: 50_000 });
  cleanups.push(() => sim.close());
  const metrics = createMetrics({ environment: 'stage' });
  const requests = new RecentRequests();
  const exchange = timedRequests(await CcxtExchange.create({ exchangeId: 'bingx', apiKey: KEY, secret: SECRET, exchangeUrl: sim.url }), metrics.observeRequest, requests.observe);
  const logger = createLogger({ format: 'json', level: 'silent' });
  const openSession = () => new ExchangeSession({ exchange, symbols: ['BTC/USDT'], own: true, since: Date.now() - 1_000, logger, pollIntervalMs: 100, reconcileIntervalMs: 500 });
  const health = new HealthBoard({ version: buildVersion({ GIT_SHA: 'abc1234def5678abc1234def5678abc1234def56' }), environment: 'stage', trading_mode: 'live' });
  /** The database as the store's watcher pings it: the test cuts it. */
  let database: 'up' | 'refusing' = 'up';
  const stop = new AbortController();
  cleanups.push(() => stop.abort());
  const running = runLiveTrading({
    grids: [config],
    loadMarket: (symbol) => exchange.loadMarket(symbol),
    openSession,
    store: new MemoryStore(),
    // The driver's error message carries the password and the key, as a careless one might.
    pingStore: async () => {
      if (database === 'refusing') throw new Error(`connect ECONNREFUSED (postgres://bot:${SECRET}@db/btcbot, key ${KEY})`);
    },
    logger,
    signal: stop.signal,
    health,
    trackSupervisor: (root) => metrics.trackSupervisor(root),
    onRestart: (event) => metrics.recordRestart(event),
    observe: metrics,
    exchangeApi: () => requests.health(),
    supervision: { backoff: { baseMs: 100, maxMs: 400 } },
  });
  running.catch(() => undefined);
  const server = await startHttpServer(createHttpApp({ health: () => health.report(), metrics, secrets: [KEY, SECRET] }), '127.0.0.1', 0);
  cleanups.push(() => server.close());
  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`);
    return { code: response.status, text: await response.text() };
  };
  return { sim, get, stop, running, setDatabase: (state: typeof database) => (database = state) };
}

const open = (sim: Awaited<ReturnType<typeof startBot>>['sim']) => sim.exchange.allOrders().filter((order) => order.status === 'open');

describe('/health and /metrics of a live bot', () => {
  test("/health in the deployment's shape, 200 and 503 and back, no secret; /metrics with the deployment's names, clean for promtool", async () => {
    const { sim, get, stop, running, setDatabase } = await startBot();
    await until(() => open(sim).length === 4, 'the grid to rest', 15_000);
    await until(async () => (await get('/health')).code === 200, 'healthy', 15_000);

    // Every field.
    const healthy = JSON.parse((await get('/health')).text) as Record<string, unknown>;
    expect(healthy).toEqual({
      status: 'healthy',
      version: expect.stringMatching(/^\d+\.\d+\.\d+\+abc1234$/),
      uptime_seconds: expect.any(Number),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      environment: 'stage',
      trading_mode: 'live',
      components: {
        database: { status: 'healthy', latency_ms: expect.any(Number) },
        websocket: { status: 'healthy', connected: true },
        exchange_api: { status: 'healthy', latency_ms: expect.any(Number) },
      },
      grid: { state: 'ACTIVE', open_positions: 2, pending_orders: 4 },
      grids: { tel: { state: 'ACTIVE', open_positions: 2, pending_orders: 4 } },
      problems: [],
      parts: {
        supervision: { healthy: true, state: 'running', detail: { children: expect.objectContaining({ 'grid:tel': { state: 'running', restarts: 0 } }) } },
        exchange: expect.objectContaining({ healthy: true, state: 'connected' }),
        store: expect.objectContaining({ healthy: true, state: 'up' }),
        'grid:tel': expect.objectContaining({ healthy: true, state: 'ACTIVE' }),
      },
    });
    expect(Date.now() - Date.parse(healthy['timestamp'] as string)).toBeLessThan(10_000);

    // A buy fills: its counter-sell rests, one more lot is held, one more trade is counted.
    sim.step(48_500);
    await until(() => open(sim).filter((order) => order.side === 'sell').length === 3, 'the counter-sell', 15_000);
    await until(async () => (JSON.parse((await get('/health')).text) as { grid: { open_positions: number } }).grid.open_positions === 3, 'the lot on /health', 10_000);
    expect(JSON.parse((await get('/health')).text)).toMatchObject({ grid: { state: 'ACTIVE', open_positions: 3, pending_orders: 4 } });

    const scraped = await get('/metrics');
    expect(scraped.code).toBe(200);
    const text = scraped.text;
    const grid = 'environment="stage",grid="tel"';
    // Trades: every fill, the start's market buy included; the grid's fills: its limit orders.
    expect(sample(text, `btcbot_trades_total{${grid},side="buy"}`)).toBe(2);
    expect(sample(text, `btcbot_trades_total{${grid},side="sell"}`)).toBe(0);
    expect(sample(text, `btcbot_positions_open{${grid}}`)).toBe(3);
    expect(sample(text, `btcbot_orders_pending{${grid}}`)).toBe(4);
    expect(sample(text, 'btcbot_price_current{symbol="BTC/USDT"}')).toBeGreaterThan(0);
    // Bought 0.02 at 50,000 and 0.01 at 49,000, valued at the last price, fees paid: a small loss below the start price.
    const pnl = sample(text, `btcbot_pnl_total{${grid}}`)!;
    expect(pnl).toBeLessThan(0);
    expect(pnl).toBeGreaterThan(-100);
    expect(sample(text, `btcbot_grid_equity{${grid}}`)).toBeGreaterThan(0);
    expect(sample(text, `btcbot_grid_fills{${grid},side="buy"}`)).toBe(1);
    expect(sample(text, `btcbot_grid_state{${grid},state="ACTIVE"}`)).toBe(1);
    expect(sample(text, `btcbot_grid_fees{${grid}}`)).toBeGreaterThan(0);
    expect(sample(text, `btcbot_grid_profit{${grid}}`)).toBe(0);
    expect(sample(text, `btcbot_grid_round_trips{${grid}}`)).toBe(0);
    expect(sample(text, 'btcbot_actor_state{actor="grid:tel",state="running"}')).toBe(1);
    expect(sample(text, 'btcbot_api_latency_seconds_count{exchange="bingx",call="createLimitOrder"}')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'btcbot_api_latency_seconds_count{exchange="bingx",call="createMarketOrder"}')).toBe(1);
    expect(sample(text, 'btcbot_store_write_duration_seconds_count{operation="recordIntent"}')).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'btcbot_store_write_duration_seconds_count{operation="recordFill"}')).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^btcbot_nodejs_eventloop_lag_seconds \d/m);
    if (promtool !== undefined) expect(checkMetrics(text)).toEqual({ code: 0, problems: [] });

    // The database goes away: 503, and the driver's message reaches /health without its secrets.
    setDatabase('refusing');
    await until(async () => (await get('/health')).code === 503, 'unhealthy', 10_000);
    const unhealthy = await get('/health');
    expect(unhealthy.text).not.toContain(SECRET);
    expect(unhealthy.text).not.toContain(KEY);
    expect(JSON.parse(unhealthy.text)).toMatchObject({
      status: 'unhealthy',
      components: { database: { status: 'unhealthy', reason: 'the database is unreachable (connect ECONNREFUSED (postgres://bot:[redacted]@db/btcbot, key [redacted]))' } },
      problems: expect.arrayContaining([expect.stringMatching(/^database: the database is unreachable/)]),
    });
    setDatabase('up');
    await until(async () => (await get('/health')).code === 200, 'healthy again', 10_000);
    expect((await get('/metrics')).text).not.toContain(SECRET);

    stop.abort();
    await running;
  }, 60_000);
});
