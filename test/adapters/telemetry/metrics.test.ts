import { describe, expect, it } from 'vitest';
import { fromCallback, SimulatedClock } from 'xstate';
import { actorChild, startSupervisor, supervisorChild, type RestartEvent } from '../../../src/actors/supervision/supervisor.js';
import { timedRequests } from '../../../src/adapters/exchange/timed-requests.js';
import type { ExchangeRequests } from '../../../src/adapters/exchange/port.js';
import { createMetrics } from '../../../src/adapters/telemetry/metrics.js';
import type { GridFigures } from '../../../src/domain/figures.js';
import type { HealthReport } from '../../../src/domain/health.js';
import { unknownFigures } from '../../../src/machines/grid-figures.js';
import type { GiveUpReason } from '../../../src/machines/supervisor.machine.js';
import { checkMetrics, promtool } from '../../support/promtool.js';

const restart: RestartEvent = {
  supervisor: 'grid-btc',
  systemId: 'grid-btc/orders',
  child: 'orders',
  cause: 'orders',
  at: 1_700_000_000_000,
  restarts: 1,
  delayMs: 1_000,
  error: 'boom',
};

/** The value of one sample line, e.g. `btcbot_supervisor_restarts_total{supervisor="a",child="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('renders the restart counter, incremented per supervisor and child', async () => {
    const metrics = createMetrics();
    metrics.recordRestart(restart);
    metrics.recordRestart({ ...restart, restarts: 2 });
    metrics.recordRestart({ ...restart, child: 'feed', systemId: 'feed', cause: 'orders' });
    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE btcbot_supervisor_restarts_total counter');
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(2);
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="feed"}')).toBe(1);
    // the default process metrics, under the app's prefix
    expect(text).toMatch(/^btcbot_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^btcbot_nodejs_eventloop_lag_seconds \d/m);
    expect(text).toContain('# TYPE btcbot_nodejs_eventloop_lag_seconds gauge');
  });

  it('keeps each registry to itself (not the global default one)', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordRestart(restart);
    expect(sample(await a.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(1);
    expect(sample(await b.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBeUndefined();
    expect(await b.render()).not.toContain('btcbot_process_');
  });

  it('counts give-ups: the root, and a nested supervisor whose give-up its parent sees', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const reason: GiveUpReason = {
      supervisor: 'root',
      child: 'grid',
      error: 'boom',
      restarts: 3,
      intensity: { maxRestarts: 3, periodMs: 5_000 },
      at: 0,
      downMs: 0,
      message: "supervisor 'root' gave up",
    };
    metrics.recordGiveUp(reason);
    const text = await metrics.render();
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="root"}')).toBe(1);
    expect(text).not.toContain('btcbot_supervisor_gave_up_total{supervisor="grid"}');
  });

  it('reports a real tree: restarts, nested give-ups, and which actors and supervisors are up', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const clock = new SimulatedClock();
    clock.set(1_700_000_000_000);
    const gaveUp: GiveUpReason[] = [];
    // An exchange session that is refused at every start: its supervisor gives up at the first exit,
    // the root restarts that supervisor once, then gives up itself.
    const refusing = fromCallback(() => {
      throw new Error('ECONNREFUSED');
    });
    const steady = fromCallback(() => () => {});
    const root = startSupervisor(
      {
        id: 'root',
        seed: 1,
        intensity: { maxRestarts: 1, periodMs: 60_000 },
        children: [
          { id: 'grid', start: actorChild(steady) },
          supervisorChild({ id: 'exchange', intensity: { maxRestarts: 0 }, children: [{ id: 'session', systemId: 'exchange/session', start: actorChild(refusing) }] }),
        ],
      },
      { clock, onRestart: (event) => metrics.recordRestart(event), onGiveUp: (reason) => (gaveUp.push(reason), metrics.recordGiveUp(reason)) },
    );
    const untrack = metrics.trackSupervisor(root);

    // The nested supervisor gave up at once; the root is waiting out its backoff to restart it.
    let text = await metrics.render();
    expect(sample(text, 'btcbot_actor_up{system_id="grid"}')).toBe(1);
    expect(sample(text, 'btcbot_actor_up{system_id="exchange"}')).toBe(0);
    expect(sample(text, 'btcbot_supervisor_up{supervisor="root"}')).toBe(1);

    clock.increment(5_000); // the restart: refused again, and the root gives up
    expect(gaveUp).toHaveLength(1);
    text = await metrics.render();
    expect(sample(text, 'btcbot_supervisor_restarts_total{supervisor="root",child="exchange"}')).toBe(1);
    // once when the root restarted it, once when the root gave up because of it
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="exchange"}')).toBe(2);
    expect(sample(text, 'btcbot_supervisor_gave_up_total{supervisor="root"}')).toBe(1);
    expect(sample(text, 'btcbot_supervisor_up{supervisor="root"}')).toBe(0);
    expect(sample(text, 'btcbot_actor_up{system_id="grid"}')).toBe(0);

    untrack();
    text = await metrics.render();
    expect(text).not.toContain('btcbot_actor_up{');
  });

  it('leaves out a tracked tree whose status throws, and scrapes the rest', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.trackSupervisor({
      status: () => {
        throw new Error('broken');
      },
    });
    metrics.recordRestart(restart);
    expect(sample(await metrics.render(), 'btcbot_supervisor_restarts_total{supervisor="grid-btc",child="orders"}')).toBe(1);
  });

  it('reports every actor\'s state as btcbot_actor_state{actor,state} = 1', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.trackSupervisor({
      status: () => ({
        id: 'btcbot',
        state: 'running',
        strategy: 'rest_for_one',
        gaveUp: null,
        children: [
          { id: 'exchange', systemId: 'exchange', restart: 'permanent', state: 'restarting', restarts: 1, failures: 1, lastError: 'boom', lastExitAt: 0, restartAt: 1 },
          {
            id: 'grids',
            systemId: 'grids',
            restart: 'permanent',
            state: 'running',
            restarts: 0,
            failures: 0,
            lastError: null,
            lastExitAt: null,
            restartAt: null,
            supervisor: {
              id: 'grids',
              state: 'running',
              strategy: 'one_for_one',
              gaveUp: null,
              children: [{ id: 'btc', systemId: 'grid:btc', restart: 'permanent', state: 'running', restarts: 0, failures: 0, lastError: null, lastExitAt: null, restartAt: null }],
            },
          },
        ],
      }),
    });
    const text = await metrics.render();
    expect(text).toContain('# TYPE btcbot_actor_state gauge');
    expect(sample(text, 'btcbot_actor_state{actor="btcbot",state="running"}')).toBe(1);
    expect(sample(text, 'btcbot_actor_state{actor="exchange",state="restarting"}')).toBe(1);
    expect(sample(text, 'btcbot_actor_state{actor="grids",state="running"}')).toBe(1);
    expect(sample(text, 'btcbot_actor_state{actor="grid:btc",state="running"}')).toBe(1);
    expect(text.split('\n').filter((line) => line.startsWith('btcbot_actor_state{'))).toHaveLength(4);
  });
});

const gridFigures = (id: string, overrides: Partial<GridFigures> = {}): GridFigures => ({
  id,
  symbol: 'BTC/USDT',
  levels: [48_000, 49_000, 50_000, 51_000, 52_000],
  state: 'ACTIVE',
  pendingOrders: 4,
  openPositions: 3,
  gridProfit: 12.5,
  fees: 1.25,
  equity: 1_011.25,
  pnl: -3.5,
  fills: { buy: 5, sell: 4 },
  roundTrips: 4,
  lastPrice: 50_123.4,
  ...overrides,
});

describe('the deployment\'s metrics', () => {
  it('grid gauges read from the tracked grids at each scrape, labelled environment and grid; unknown figures left out', async () => {
    const metrics = createMetrics({ defaultMetrics: false, environment: 'prod' });
    const grids: GridFigures[] = [gridFigures('btc')];
    const untrack = metrics.trackGrids(() => grids);
    let text = await metrics.render();
    const at = (name: string, labels = 'environment="prod",grid="btc"') => sample(text, `${name}{${labels}}`);
    expect(at('btcbot_positions_open')).toBe(3);
    expect(at('btcbot_orders_pending')).toBe(4);
    expect(at('btcbot_pnl_total')).toBe(-3.5);
    expect(at('btcbot_grid_profit')).toBe(12.5);
    expect(at('btcbot_grid_fees')).toBe(1.25);
    expect(at('btcbot_grid_equity')).toBe(1_011.25);
    expect(at('btcbot_grid_round_trips')).toBe(4);
    expect(at('btcbot_grid_fills', 'environment="prod",grid="btc",side="buy"')).toBe(5);
    expect(at('btcbot_grid_fills', 'environment="prod",grid="btc",side="sell"')).toBe(4);
    expect(at('btcbot_grid_state', 'environment="prod",grid="btc",state="ACTIVE"')).toBe(1);
    expect(sample(text, 'btcbot_price_current{symbol="BTC/USDT"}')).toBe(50_123.4);
    // The levels, for the dashboard's price panel.
    expect(at('btcbot_grid_level_price', 'environment="prod",grid="btc",level="0"')).toBe(48_000);
    expect(at('btcbot_grid_level_price', 'environment="prod",grid="btc",level="4"')).toBe(52_000);
    // Trades: every tracked grid's series exist from the start (0), then count each fill.
    expect(at('btcbot_trades_total', 'environment="prod",grid="btc",side="buy"')).toBe(0);
    metrics.recordTrade('btc', 'buy');
    metrics.recordTrade('btc', 'buy');
    metrics.recordTrade('btc', 'sell');
    text = await metrics.render();
    expect(at('btcbot_trades_total', 'environment="prod",grid="btc",side="buy"')).toBe(2);
    expect(at('btcbot_trades_total', 'environment="prod",grid="btc",side="sell"')).toBe(1);
    expect(text).toContain('# TYPE btcbot_trades_total counter');
    expect(text).toContain('# TYPE btcbot_positions_open gauge');
    expect(text).toContain('# TYPE btcbot_orders_pending gauge');
    expect(text).toContain('# TYPE btcbot_price_current gauge');
    expect(text).toContain('# TYPE btcbot_pnl_total untyped'); // a gauge; untyped for its _total name (promtool)

    // A grid that recovers: its state only, no figure (they could be stale).
    grids[0] = unknownFigures('btc', 'BTC/USDT', 'RECOVERING');
    text = await metrics.render();
    expect(at('btcbot_grid_state', 'environment="prod",grid="btc",state="RECOVERING"')).toBe(1);
    expect(at('btcbot_grid_state', 'environment="prod",grid="btc",state="ACTIVE"')).toBeUndefined();
    expect(at('btcbot_positions_open')).toBeUndefined();
    expect(at('btcbot_pnl_total')).toBeUndefined();
    expect(sample(text, 'btcbot_price_current{symbol="BTC/USDT"}')).toBeUndefined();
    expect(at('btcbot_grid_level_price', 'environment="prod",grid="btc",level="0"')).toBeUndefined();
    untrack();
    text = await metrics.render();
    expect(text).not.toContain('btcbot_grid_state{');
  });

  it('the exchange REST calls (through timedRequests), reconnects and store writes', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const exchange = timedRequests(
      { exchangeId: 'bingx', fetchBalance: async () => ({}), fetchOpenOrders: () => Promise.reject(new Error('down')) } as unknown as ExchangeRequests & { exchangeId: string },
      metrics.observeRequest,
    );
    await exchange.fetchBalance();
    await exchange.fetchBalance();
    await expect(exchange.fetchOpenOrders('BTC/USDT')).rejects.toThrow('down');
    metrics.recordReconnect('bingx');
    metrics.observeStoreWrite('recordFill', 0.003);
    const text = await metrics.render();
    expect(text).toContain('# TYPE btcbot_api_latency_seconds histogram');
    expect(sample(text, 'btcbot_api_latency_seconds_count{exchange="bingx",call="fetchBalance"}')).toBe(2);
    expect(sample(text, 'btcbot_api_latency_seconds_count{exchange="bingx",call="fetchOpenOrders"}')).toBe(1);
    expect(sample(text, 'btcbot_api_latency_seconds_bucket{le="0.005",exchange="bingx",call="fetchBalance"}')).toBe(2);
    expect(sample(text, 'btcbot_exchange_reconnects_total{exchange="bingx"}')).toBe(1);
    expect(sample(text, 'btcbot_store_write_duration_seconds_count{operation="recordFill"}')).toBe(1);
    expect(sample(text, 'btcbot_store_write_duration_seconds_bucket{le="0.0025",operation="recordFill"}')).toBe(0);
    expect(sample(text, 'btcbot_store_write_duration_seconds_bucket{le="0.005",operation="recordFill"}')).toBe(1);
  });

  it.skipIf(promtool === undefined)('passes `promtool check metrics` with every metric populated, the process ones included', async () => {
    const metrics = createMetrics({ environment: 'stage' });
    metrics.trackGrids(() => [gridFigures('btc'), gridFigures('eth', { symbol: 'ETH/USDT', state: 'PAUSED' }), unknownFigures('sol', 'SOL/USDT', 'RECOVERING')]);
    metrics.trackSupervisor({ status: () => ({ id: 'btcbot', state: 'running', strategy: 'rest_for_one', gaveUp: null, children: [] }) });
    metrics.recordTrade('btc', 'sell');
    metrics.recordReconnect('bingx');
    metrics.observeStoreWrite('appendEvents', 0.01);
    metrics.observeRequest('bingx', 'createLimitOrder')({ exchange: 'bingx', call: 'createLimitOrder', seconds: 0.2 });
    metrics.recordRestart(restart);
    const text = await metrics.render();
    expect(checkMetrics(text)).toEqual({ code: 0, problems: [] });
  });
});

describe("/health's verdict as metrics", () => {
  it('btcbot_health_up and btcbot_component_up follow the report at each scrape (disabled counts as up)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let database: 'healthy' | 'unhealthy' = 'healthy';
    const report = () =>
      ({
        status: database === 'healthy' ? 'healthy' : 'unhealthy',
        components: { database: { status: database, latency_ms: 1 }, websocket: { status: 'disabled', connected: false }, exchange_api: { status: 'healthy', latency_ms: 20 } },
      }) as unknown as HealthReport;
    const untrack = metrics.trackHealth(report);
    const text = await metrics.render();
    expect(text).toContain('btcbot_health_up 1');
    expect(text).toContain('btcbot_component_up{component="database"} 1');
    expect(text).toContain('btcbot_component_up{component="websocket"} 1');
    database = 'unhealthy';
    const down = await metrics.render();
    expect(down).toContain('btcbot_health_up 0');
    expect(down).toContain('btcbot_component_up{component="database"} 0');
    expect(down).toContain('btcbot_component_up{component="exchange_api"} 1');
    untrack();
    expect(await metrics.render()).not.toContain('btcbot_component_up{');
  });
});
