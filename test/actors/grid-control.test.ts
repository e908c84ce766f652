// The control API over a live supervision tree (runLiveTrading on a paper exchange, through the
// HTTP app as a client sees it): the grid's state, levels, orders and figures; commands taken in
// the states whose transitions take them, refused (409, saying why) elsewhere and while the grid
// recovers; a command journaled before the grid gets it, so that a grid paused through the API is
// still paused after a kill and a recovery from the store, even with its last snapshot lost.
import { afterEach, describe, expect, test } from 'vitest';
import type { LiveSession } from '../../src/actors/trading/grid-service.js';
import { liveGridControl } from '../../src/actors/trading/grid-control.js';
import { runLiveTrading, type SupervisedSession } from '../../src/actors/trading/live-trading.js';
import type { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import type { Tick } from '../../src/adapters/exchange/port.js';
import { createHttpApp } from '../../src/adapters/http/http-app.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import type { GridControl, GridView } from '../../src/domain/grid-control.js';
import { HealthBoard } from '../../src/actors/supervision/health.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'ctl', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The paper exchange as the tree's exchange child; `firstTick` can be held to keep the grid starting. */
function supervisedPaper(exchange: PaperExchange, firstTick?: Promise<Tick>): () => SupervisedSession {
  return () => {
    const { session } = paperSession(exchange);
    const live: LiveSession = firstTick === undefined ? session : { ...session, firstTick: () => firstTick };
    return { ...live, start: () => undefined, stop: async () => undefined, health: () => ({ healthy: true, state: 'connected' }), onFailure: () => () => undefined };
  };
}

/** One run of the bot on `store`: the tree, its control and the HTTP app over it. */
function startBot(exchange: PaperExchange, store: MemoryStore, firstTick?: Promise<Tick>) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  let control: GridControl | undefined;
  const stop = new AbortController();
  const running = runLiveTrading({
    grids: [config],
    loadMarket: (symbol) => exchange.loadMarket(symbol),
    openSession: supervisedPaper(exchange, firstTick),
    store,
    logger,
    signal: stop.signal,
    onControl: (given) => (control = given),
  });
  running.catch(() => undefined);
  cleanups.push(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });
  const app = createHttpApp({ health: () => new HealthBoard().report(), metrics: { contentType: 'text/plain', render: async () => '' }, api: { token: TOKEN, control: () => control, logger } });
  const get = async (path: string) => {
    const response = await app.request(path, { headers: auth });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const post = async (path: string, body?: unknown) => {
    const response = await app.request(path, { method: 'POST', headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const grid = async () => (await get('/api/v1/grids/ctl')).body as unknown as GridView;
  /** Stops the run (the tree stops, orders stay resting); resolves when it has ended. */
  const kill = async () => {
    stop.abort();
    await running;
  };
  return { logs, get, post, grid, kill, control: () => control, running };
}

const settle = async (exchange: PaperExchange, price: number) => {
  while (exchange.step(price));
};

describe('the control API over live trading', () => {
  test('shows the grid: state, statechart, levels with their orders, figures; fills newest first', async () => {
    const exchange = paperExchangeAt50k();
    const bot = startBot(exchange, new MemoryStore());
    await until(async () => (await bot.grid()).state === 'ACTIVE' && (await bot.grid()).levels.filter((level) => level.order?.state === 'open').length === 4, 'the grid to rest');
    const grid = await bot.grid();
    expect(grid).toMatchObject({
      id: 'ctl',
      symbol: 'BTC/USDT',
      state: 'ACTIVE',
      statechart: { active: 'running' },
      stopReason: null,
      accepts: { pause: true, resume: false, stop: true },
      waitingOrders: [],
      stats: { fills: 0, buyFills: 0, sellFills: 0, roundTrips: 0, gridProfit: 0, position: 0.02, startPrice: 50_000, lastPrice: 50_000, openOrders: 4, skippedOrders: 0 },
    });
    expect(grid.stats!.fees).toBeGreaterThan(0); // the start buy's
    expect(grid.levels.map((level) => `${level.price} ${level.order ? `${level.order.side} ${level.order.clientOrderId} ${level.order.state}` : '-'}`)).toEqual([
      '48000 buy bbctl_0b1 open',
      '49000 buy bbctl_1b1 open',
      '50000 -',
      '51000 sell bbctl_3s1 open',
      '52000 sell bbctl_4s1 open',
    ]);
    expect((await bot.get('/api/v1/grids')).body).toEqual({ grids: [grid] });

    // The buy at 49000 fills: its counter-sell at 50000 rests; the fill is stored and listed.
    await settle(exchange, 48_500);
    await until(async () => (await bot.grid()).levels[2]!.order?.state === 'open', 'the counter-sell');
    expect((await bot.grid()).stats).toMatchObject({ fills: 1, buyFills: 1 });
    const fills = await bot.get('/api/v1/grids/ctl/fills');
    expect(fills.status).toBe(200);
    // Newest first: the buy at 49000, then the start's market buy.
    expect(fills.body).toMatchObject({
      grid: 'ctl',
      nextCursor: null,
      next: null,
      fills: [
        { clientOrderId: 'bbctl_1b1', side: 'buy', price: 49_000, amount: 0.01, takerOrMaker: 'maker' },
        { clientOrderId: 'bbctl_m1', side: 'buy', price: 50_000, amount: 0.02, takerOrMaker: 'taker' },
      ],
    });
    const [newest] = fills.body['fills'] as Array<{ time: string; timestamp: number }>;
    expect(newest!.time).toBe(new Date(newest!.timestamp).toISOString());
    // Page by page: the next link of the first page gives the second, the last page has none.
    const first = await bot.get('/api/v1/grids/ctl/fills?limit=1');
    expect(first.body).toMatchObject({ fills: [{ clientOrderId: 'bbctl_1b1' }], nextCursor: expect.any(String), next: `/api/v1/grids/ctl/fills?limit=1&before=${first.body['nextCursor']}` });
    expect((await bot.get(first.body['next'] as string)).body).toMatchObject({ fills: [{ clientOrderId: 'bbctl_m1' }], nextCursor: null, next: null });
    expect((await bot.get(`/api/v1/grids/ctl/fills?before=${newest!.timestamp}`)).body).toMatchObject({ fills: [{ clientOrderId: 'bbctl_m1' }] });
    expect((await bot.get('/api/v1/grids/nope/fills')).status).toBe(404);
  });

  test('pause, resume and stop in the states that take them; 409 with the reason and the state elsewhere', async () => {
    const exchange = paperExchangeAt50k();
    const bot = startBot(exchange, new MemoryStore());
    await until(async () => (await bot.grid()).stats?.openOrders === 4, 'the grid to rest');

    const resumeActive = await bot.post('/api/v1/grids/ctl/resume');
    expect(resumeActive).toMatchObject({ status: 409, body: { grid: 'ctl', command: 'resume', state: 'ACTIVE', statechart: { active: 'running' }, accepts: { pause: true, resume: false, stop: true } } });
    expect(resumeActive.body['error']).toBe('grid ctl is ACTIVE ({"active":"running"}): it is not paused: nothing to resume. It takes pause, stop now');

    const paused = await bot.post('/api/v1/grids/ctl/pause');
    expect(paused).toMatchObject({ status: 200, body: { command: { type: 'pause' }, journaled: true, grid: { state: 'PAUSED', statechart: 'paused', accepts: { pause: false, resume: true, stop: true } } } });
    const again = await bot.post('/api/v1/grids/ctl/pause');
    expect(again).toMatchObject({ status: 409, body: { state: 'PAUSED', error: 'grid ctl is PAUSED ("paused"): it is already paused. It takes resume, stop now' } });

    // Paused: a fill is booked, its counter-order waits; resume places it.
    await settle(exchange, 48_500);
    await until(async () => (await bot.grid()).waitingOrders.length === 1, 'the counter-sell to wait');
    expect((await bot.grid()).waitingOrders).toEqual([{ side: 'sell', level: 2, price: 50_000 }]);
    expect((await bot.post('/api/v1/grids/ctl/resume')).body).toMatchObject({ grid: { state: 'ACTIVE', waitingOrders: [] } });
    await until(async () => (await bot.grid()).levels[2]!.order?.state === 'open', 'the counter-sell to rest');

    const stopped = await bot.post('/api/v1/grids/ctl/stop', { sellBase: true });
    expect(stopped).toMatchObject({ status: 200, body: { command: { type: 'stop', sellBase: true }, journaled: true } });
    await until(async () => (await bot.grid()).state === 'IDLE', 'the stop to finish');
    expect(exchange.openOrderCount).toEqual({ buy: 0, sell: 0 });
    expect(await bot.grid()).toMatchObject({ stopReason: 'command', stats: { position: 0 }, accepts: { pause: false, resume: false, stop: false, start: true } });
    expect((await bot.post('/api/v1/grids/ctl/stop')).body['error']).toBe('grid ctl is IDLE ("idle"): it is stopped; start it again with POST .../start. It takes start now');
    expect((await bot.post('/api/v1/grids/nope/pause')).status).toBe(404);
    // Started again by the operator, at the last price: a new run, new client ids.
    const started = await bot.post('/api/v1/grids/ctl/start');
    expect(started).toMatchObject({ status: 200, body: { command: { type: 'start' }, journaled: true, grid: { state: 'ACTIVE', accepts: { start: false } } } });
    await until(async () => (await bot.grid()).stats?.openOrders === 4, 'the grid to rest again');

    // Every command logged with its outcome.
    const commands = bot.logs.filter((line) => line['command'] !== undefined).map((line) => `${line['command']} ${line['result']} ${line['status']} ${line['state']}`);
    expect(commands).toEqual([
      'resume refused 409 ACTIVE',
      'pause accepted 200 PAUSED',
      'pause refused 409 PAUSED',
      'resume accepted 200 ACTIVE',
      'stop accepted 200 STOPPING',
      'stop refused 409 IDLE',
      'pause unknown grid 404 undefined',
      'start accepted 200 ACTIVE',
    ]);
  });

  test('a grid still starting is RECOVERING: no figures, and it refuses commands (409); the API is 503 once the run stops', async () => {
    const exchange = paperExchangeAt50k();
    let firstTick!: (tick: Tick) => void;
    const bot = startBot(exchange, new MemoryStore(), new Promise<Tick>((resolve) => (firstTick = resolve)));
    await until(() => bot.control() !== undefined, 'the control');
    expect(await bot.grid()).toMatchObject({ state: 'RECOVERING', statechart: null, stats: null, levels: [], reason: 'starting: reconciling with the exchange before it trades' });
    const refused = await bot.post('/api/v1/grids/ctl/pause');
    expect(refused).toMatchObject({ status: 409, body: { state: 'RECOVERING', accepts: { pause: false, resume: false, stop: false, start: false } } });
    expect(refused.body['error']).toMatch(/^grid ctl is RECOVERING: it is starting: reconciling with the exchange before it trades; commands are taken once it trades/);
    firstTick({ symbol: 'BTC/USDT', price: 50_000, timestamp: Date.now() });
    await until(async () => (await bot.grid()).state === 'ACTIVE', 'the grid to trade');
    await bot.kill();
    expect(bot.control()).toBeUndefined();
    expect((await bot.get('/api/v1/grids')).status).toBe(503);
  });

  test('a grid paused through the API is still paused after a kill and a recovery from the store, its last snapshot lost', async () => {
    const exchange = paperExchangeAt50k();
    const store = new MemoryStore();
    // Snapshot saves can be dropped: the process "dies" before it saves the paused state.
    let dropSaves = false;
    const save = store.saveGridSnapshot.bind(store);
    store.saveGridSnapshot = async (...args) => {
      if (!dropSaves) await save(...args);
    };
    const first = startBot(exchange, store);
    await until(async () => (await first.grid()).stats?.openOrders === 4 && (await first.grid()).levels.every((level) => level.order === null || level.order.state === 'open'), 'the grid to rest');
    await until(() => (store.gridSnapshots.get('ctl')?.state ?? '').includes('running'), 'the running state saved');
    dropSaves = true;
    expect(await first.post('/api/v1/grids/ctl/pause')).toMatchObject({ status: 200, body: { journaled: true, grid: { state: 'PAUSED' } } });
    await first.kill();
    expect(store.gridSnapshots.get('ctl')!.state).toBe('{"active":"running"}'); // the snapshot never heard of the pause
    expect(store.journals.get('ctl')!.map((entry) => entry.type)).toContain('PAUSE');

    dropSaves = false;
    const second = startBot(exchange, store);
    await until(async () => ![undefined, 'RECOVERING'].includes((await second.grid()).state), 'the recovery', 15_000);
    expect(await second.grid()).toMatchObject({ state: 'PAUSED', statechart: 'paused', accepts: { pause: false, resume: true, stop: true }, stats: { openOrders: 4 } });
    expect(second.logs.some((line) => line['msg'] === 'grid recovered: reconciled with the exchange, trading' && line['replayedEvents'] === 1)).toBe(true);
    expect((await second.post('/api/v1/grids/ctl/resume')).body).toMatchObject({ grid: { state: 'ACTIVE' } });
  });

  test('a grid stopped through the API stays stopped after a restart (no new start at the new price); start starts it again', async () => {
    const exchange = paperExchangeAt50k();
    const store = new MemoryStore();
    const first = startBot(exchange, store);
    await until(async () => (await first.grid()).stats?.openOrders === 4, 'the grid to rest');
    expect((await first.post('/api/v1/grids/ctl/stop')).status).toBe(200);
    await until(async () => (await first.grid()).state === 'IDLE', 'the stop to finish');
    await first.kill();

    const second = startBot(exchange, store);
    await until(async () => ![undefined, 'RECOVERING'].includes((await second.grid()).state), 'the recovery', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await second.grid()).toMatchObject({ state: 'IDLE', stopReason: 'command', accepts: { start: true } });
    expect(exchange.openOrderCount).toEqual({ buy: 0, sell: 0 });
    expect(second.logs.some((line) => line['msg'] === 'grid started on the exchange')).toBe(false);
    expect((await second.post('/api/v1/grids/ctl/start')).body).toMatchObject({ grid: { state: 'ACTIVE' } });
    await until(() => exchange.openOrderCount.buy + exchange.openOrderCount.sell === 4, 'the grid placed again');
  });

  test('once supervision gave up, every grid is ERROR with the reason and takes no command', async () => {
    const control = liveGridControl({
      configs: [config],
      service: () => undefined,
      store: new MemoryStore(),
      gaveUp: () => ({ supervisor: 'btcbot', child: 'grids', error: 'boom', restarts: 5, intensity: { maxRestarts: 5, periodMs: 60_000 }, at: 0, downMs: 0, message: 'grids exited 6 times in 60 s' }),
    });
    const reason = 'supervision gave up (grids exited 6 times in 60 s); its orders stay resting on the exchange: restart btcbot';
    expect(control.get('ctl')).toMatchObject({ state: 'ERROR', statechart: null, stats: null, reason, accepts: { pause: false, resume: false, stop: false, start: false } });
    const outcome = await control.command('ctl', { type: 'stop', sellBase: false });
    expect(outcome).toMatchObject({ outcome: 'refused', reason: `grid ctl is ERROR: ${reason}. It takes no command now` });
    expect(await control.command('nope', { type: 'pause' })).toEqual({ outcome: 'unknownGrid' });
    expect(await control.fills('nope', { limit: 5 })).toBeUndefined();
  });
});
