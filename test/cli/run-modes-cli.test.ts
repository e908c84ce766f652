// `btcbot run` in live and demo mode end to end, as real processes: the built CLI (with unmodified
// ccxt inside) against `btcbot exchange-sim`, the BingX simulator, spawned as a second child
// process. The simulator's test endpoints (/__sim/orders, /__sim/step) are the judge of what
// reached the exchange; the bot's JSON log lines on stderr of what it did.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, expectNoStackTrace, killChildren, spawnCli, startExchangeSim, type CliProcess, type LogLine, type SimProcess } from './cli-harness.js';
import { openDatabase } from '../../src/adapters/store/database.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

beforeAll(ensureBuilt);
afterAll(() => killChildren());
const tmp = useTempDir('btcbot-run-modes-');

// Short exchange timings: a lost stream is noticed and REST is polled within a second. Requests get
// 5 s: on a loaded CI machine (the kill test replaying beside this file) ccxt's first requests have
// taken over 2 s, and a dead simulator refuses at once anyway.
const EXCHANGE = 'exchange: { timeoutMs: 5000, staleAfterMs: 3000, pollIntervalMs: 500, reconcileIntervalMs: 1000 }';

/** A 5-level grid 48000..52000 around the simulator's start price 50000: 2 buys and 2 sells rest. */
function gridFile(name: string, id: string): string {
  return tmp.file(name, `${EXCHANGE}\ngrids:\n  - id: ${id}\n    symbol: BTC/USDT\n    lower: 48000\n    upper: 52000\n    levels: 5\n    quantityPerLevel: 0.01\n`);
}

// Keys the simulator accepts (any); random, so that finding one in the output is a real leak.
const KEY = `key-${randomBytes(12).toString('hex')}`;
const SECRET = `secret-${randomBytes(16).toString('hex')}`;

/** Every setting the bot reads from the environment, so that the test's own environment leaks nothing in. */
const NO_EXCHANGE_ENV = {
  TRADING_MODE: '',
  EXCHANGE_ID: '',
  EXCHANGE_URL: '',
  CONFIRM_LIVE_TRADING: '',
  EXCHANGE_API_KEY: '',
  EXCHANGE_API_SECRET: '',
  EXCHANGE_API_KEY_FILE: '',
  EXCHANGE_API_SECRET_FILE: '',
  DATABASE_URL: '',
};

/** Live mode writes ahead to the embedded database: one data directory per simulator (a new one costs ~4.5 s of initdb). */
function liveEnv(url: string, keys: Record<string, string> = { EXCHANGE_API_KEY: KEY, EXCHANGE_API_SECRET: SECRET }): NodeJS.ProcessEnv {
  return { ...NO_EXCHANGE_ENV, TRADING_MODE: 'live', EXCHANGE_URL: url, CONFIRM_LIVE_TRADING: 'yes', DATA_DIR: tmp.path(`data-${new URL(url).port}`), ...keys };
}

interface SimOrder {
  id: string;
  clientOrderId: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  price: number;
  amount: number;
  filled: number;
  status: string;
  timestamp: number;
}

interface LiveReport {
  state: unknown;
  startPrice: number;
  lastPrice: number;
  fills: { buy: number; sell: number };
  roundTrips: number;
  openOrders: Record<string, string>;
  stopped: string | null;
}

/** The simulator's resting orders in the report's shape: client order id -> side@price. */
function resting(orders: readonly SimOrder[]): Record<string, string> {
  return Object.fromEntries(orders.filter((order) => order.status === 'open').map((order) => [order.clientOrderId, `${order.side}@${order.price}`]));
}

/** The simulator's resting orders as sorted side@price. */
async function restingLevels(sim: SimProcess): Promise<string[]> {
  return Object.values(resting(await sim.get<SimOrder[]>('/__sim/orders'))).sort();
}

/** Waits until the simulator's resting orders are exactly `levels` (side@price). */
async function untilResting(sim: SimProcess, levels: string[], what: string, timeoutMs = 6_000): Promise<void> {
  let last: string[] = [];
  await until(
    async () => JSON.stringify((last = await restingLevels(sim))) === JSON.stringify([...levels].sort()),
    `${what}: resting ${JSON.stringify([...levels].sort())}`,
    timeoutMs,
    50,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n(last seen ${JSON.stringify(last)})`);
  });
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (text: string) => (line: LogLine) => line.msg === text;

/** SIGTERM; the process must exit 0 within 5 s. Returns its grid report lines. */
async function stopWithSigterm(bot: CliProcess): Promise<Array<LogLine & { grid: string; report: unknown }>> {
  bot.terminate();
  const exit = await within(bot.exited, 8_000, 'btcbot run exiting after SIGTERM');
  expect(exit, `output:\n${bot.output()}`).toMatchObject({ code: 0, signal: null });
  expect(exit.ms).toBeLessThan(5_000);
  expect(bot.lines.some(message('stopping: orders stay resting, reports follow'))).toBe(true);
  return bot.lines.filter(message('grid report')) as Array<LogLine & { grid: string; report: unknown }>;
}

/** No secret in the output, no failure: no error-level line, no stray text, no stack trace, no unhandled rejection. */
function expectCleanOutput(bot: CliProcess): void {
  const output = bot.output();
  expect(output).not.toContain(KEY);
  expect(output).not.toContain(SECRET);
  expect(bot.stdout()).toBe('');
  expect(bot.lines.filter((line) => line.raw === true || (line.level ?? 0) >= 50)).toEqual([]);
  expect(output).not.toMatch(/unhandled|uncaught/i);
  expectNoStackTrace(output);
}

describe('btcbot run in live mode against the simulator', () => {
  let sim: SimProcess;
  beforeAll(async () => {
    sim = await startExchangeSim(['--port', '0', '--price', '50000', '--quote', '10000']);
  });
  afterEach(() => killChildren([sim.process]));
  afterAll(() => killChildren());

  test('places the grid, answers fills with counter-orders, and on SIGTERM exits 0 with a report matching the exchange', async () => {
    const bot = spawnCli(['run', '--config', gridFile('live.yaml', 'live1')], liveEnv(sim.url));
    const banner = await bot.waitFor((line) => line.msg.includes('LIVE TRADING'), 'the LIVE banner');
    expect(banner.level).toBe(40); // warn
    expect(banner.msg).toBe(`${'!'.repeat(12)} LIVE TRADING on bingx at ${sim.url}: REAL ORDERS WITH REAL FUNDS ${'!'.repeat(12)}`);
    expect(banner).toMatchObject({ exchange: 'bingx', url: sim.url, grids: ['live1'] });
    await bot.waitFor(message('exchange streams up'), 'exchange streams up');
    expect(await bot.waitFor(message('grid started on the exchange'), 'grid started on the exchange')).toMatchObject({ grid: 'live1', price: 50_000 });

    // The start: a market buy of 2 x 0.01 for the two sell levels, then 2 buys and 2 sells rest.
    const start = ['buy@48000', 'buy@49000', 'sell@51000', 'sell@52000'];
    await untilResting(sim, start, 'the grid on the simulator');
    // /health: the actor tree, each part in its own state.
    const serving = bot.lines.find((line) => line.msg.startsWith('serving '))!;
    const health = await fetch(`${String(serving['url'])}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      parts: {
        supervision: { state: 'running', detail: { children: { store: { state: 'running' }, exchange: { state: 'running' }, grids: { state: 'running' }, 'grid:live1': { state: 'running', restarts: 0 } } } },
        store: { healthy: true, state: 'up' },
        exchange: { healthy: true, state: 'connected' },
        'grid:live1': { healthy: true, state: 'ACTIVE', detail: { openOrders: 4 } },
      },
    });
    const placed = await sim.get<SimOrder[]>('/__sim/orders');
    expect(placed.map((order) => order.clientOrderId)).toEqual(placed.map(() => expect.stringMatching(/^bblive1_/)));
    expect(placed.filter((order) => order.type === 'market')).toMatchObject([{ side: 'buy', amount: 0.02, status: 'closed' }]);
    const firstBuy = Object.entries(resting(placed)).find(([, level]) => level === 'buy@49000')![0];

    // Down through 49000: that buy fills, its counter sell at 50000 appears on the exchange.
    await sim.post('/__sim/step?target=48500');
    await untilResting(sim, ['buy@48000', 'sell@50000', 'sell@51000', 'sell@52000'], 'the counter sell of the buy at 49000');
    // Back up through 50000: that sell fills (a round trip), its counter buy at 49000 appears, a new order.
    await sim.post('/__sim/step?target=50500');
    await untilResting(sim, start, 'the counter buy of the sell at 50000');
    const open = resting(await sim.get<SimOrder[]>('/__sim/orders'));
    expect(Object.keys(open)).not.toContain(firstBuy);

    const reports = await stopWithSigterm(bot);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.grid).toBe('live1');
    const report = reports[0]!.report as LiveReport;
    // The bot's books and the exchange agree exactly: same client ids, sides and prices.
    expect(report.openOrders).toEqual(resting(await sim.get<SimOrder[]>('/__sim/orders')));
    expect(report).toMatchObject({ state: { active: 'running' }, startPrice: 50_000, lastPrice: 50_500, fills: { buy: 1, sell: 1 }, roundTrips: 1, stopped: null });
    expectCleanOutput(bot);
    // Written ahead to the embedded database: every order the exchange got, every fill it made.
    const database = await openDatabase({ dataDir: liveEnv(sim.url)['DATA_DIR']! });
    try {
      const store = new PostgresStore(database.sql);
      const simOrders = await sim.get<SimOrder[]>('/__sim/orders');
      // Each order's status as the exchange has it (closed = filled by the stored fills).
      const status = { open: 'open', closed: 'filled', canceled: 'canceled' } as Record<string, string>;
      expect((await store.orders('live1')).map((order) => `${order.clientOrderId} ${order.status}`).sort()).toEqual(
        simOrders.map((order) => `${order.clientOrderId} ${status[order.status]}`).sort(),
      );
      // The grid's actors, persisted after each change.
      expect(await store.gridSnapshot('live1')).toMatchObject({ state: '{"active":"running"}', machineVersion: 1, snapshot: { grid: { status: 'active' } } });
      const simFills = await sim.get<Array<{ clientOrderId: string; price: number; amount: number }>>('/__sim/fills');
      expect((await store.fills('BTC/USDT')).map(({ clientOrderId, price, amount }) => ({ clientOrderId, price, amount }))).toEqual(
        simFills.map(({ clientOrderId, price, amount }) => ({ clientOrderId, price, amount })),
      );
    } finally {
      await database.close();
    }
  });

  test('SIGTERM during start-up: the start stops there, nothing is placed, exit 0 within 8 s', async () => {
    const bot = spawnCli(['run', '--config', gridFile('early.yaml', 'early1')], { ...liveEnv(sim.url), DATA_DIR: tmp.path('data-early') });
    await bot.waitFor((line) => line.msg.includes('LIVE TRADING'), 'the LIVE banner');
    bot.terminate();
    const { code, ms } = await bot.exited;
    expect(code, bot.output().slice(-2_000)).toBe(0);
    // Within the cut-off: a new embedded database's initdb (~4.5 s, over 8 s on a loaded machine) is
    // not waited for, nothing has been placed, and the next start begins it anew.
    expect(ms).toBeLessThan(8_000);
    expect(bot.lines.some((line) => line.msg.startsWith('shutdown is taking too long'))).toBe(false);
    // The simulator is shared by this block's tests: none of this grid's orders reached it.
    expect((await sim.get<SimOrder[]>('/__sim/orders')).filter((order) => order.clientOrderId.startsWith('bbearly1_'))).toEqual([]);
    expect(bot.lines.some((line) => line.msg === 'grid started on the exchange')).toBe(false);
  });

  test("a second run on another database refuses to start over the first run's resting orders (exit 2) and places nothing", async () => {
    const before = await sim.get<SimOrder[]>('/__sim/orders');
    const leftovers = Object.keys(resting(before)).filter((id) => id.startsWith('bblive1_'));
    expect(leftovers, 'the first test leaves its grid resting on the simulator').toHaveLength(4);

    const bot = spawnCli(['run', '--config', gridFile('again.yaml', 'live1')], { ...liveEnv(sim.url), DATA_DIR: tmp.path('another-database') });
    const exit = await within(bot.exited, 30_000, 'the refused start exiting'); // a new database: initdb first
    expect(exit, `output:\n${bot.output()}`).toMatchObject({ code: 2, signal: null });
    const refusal = bot.lines.filter((line) => line.raw === true).map((line) => line.msg);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatch(/^btcbot run: grid live1: 4 open order\(s\) of an earlier run are on the exchange \(bblive1_/);
    expect(refusal[0]).toContain('no saved state in this database');
    expect(bot.lines.some(message('grid started on the exchange'))).toBe(false);
    expect(await sim.get<SimOrder[]>('/__sim/orders')).toEqual(before);

    const output = bot.output();
    expect(output).not.toContain(KEY);
    expect(output).not.toContain(SECRET);
    expect(bot.stdout()).toBe('');
    expectNoStackTrace(output);
  });

  test('a restart on the same database recovers the grid: reconciled, nothing placed twice, trading on', async () => {
    const before = await sim.get<SimOrder[]>('/__sim/orders');
    // While the bot was down the price fell through 49000: the buy there filled, nobody listened.
    await sim.post(`/__sim/step?target=48800`);
    const bot = spawnCli(['run', '--config', gridFile('again.yaml', 'live1')], liveEnv(sim.url));
    const recovered = await bot.waitFor(message('grid recovered: reconciled with the exchange, trading'), 'the recovery');
    expect(recovered).toMatchObject({ grid: 'live1', state: { active: 'running' }, caughtUpFills: 1, unknownOrders: [] });
    // The missed fill's counter-sell at 50000 is placed once; nothing else is new.
    await until(async () => (await sim.get<SimOrder[]>('/__sim/orders')).length === before.length + 1, 'the counter-order of the missed fill', 10_000);
    const after = await sim.get<SimOrder[]>('/__sim/orders');
    const added = after.filter((order) => !before.some((old) => old.clientOrderId === order.clientOrderId));
    expect(added).toMatchObject([{ side: 'sell', price: 50_000, status: 'open' }]);
    expect(new Set(after.map((order) => order.clientOrderId)).size).toBe(after.length);
    const reports = await stopWithSigterm(bot);
    expect((reports[0]!.report as LiveReport).openOrders).toEqual(resting(await sim.get<SimOrder[]>('/__sim/orders')));
    expectCleanOutput(bot);
  });
});

describe('btcbot run in live mode with shutdown.cancelOrders', () => {
  afterEach(() => killChildren());

  test('SIGTERM cancels the grid\'s orders before the exit (0, within 8 s)', async () => {
    const sim = await startExchangeSim(['--port', '0', '--price', '50000']);
    const file = tmp.file('cancel.yaml', `shutdown: { cancelOrders: true }\n${readFileSync(gridFile('cancel-grid.yaml', 'cancel1'), 'utf8')}`);
    const bot = spawnCli(['run', '--config', file], liveEnv(sim.url));
    await bot.waitFor(message('grid started on the exchange'), 'grid started on the exchange');
    await until(async () => Object.keys(resting(await sim.get<SimOrder[]>('/__sim/orders'))).length === 4, 'the grid to rest', 10_000);
    bot.terminate();
    const exit = await within(bot.exited, 8_000, 'btcbot run exiting after SIGTERM');
    expect(exit, `output:\n${bot.output()}`).toMatchObject({ code: 0, signal: null });
    expect(bot.lines.some(message('stopping: cancelling the orders (shutdown.cancelOrders), reports follow'))).toBe(true);
    expect(bot.lines.find(message('orders cancelled on stop'))).toMatchObject({ grid: 'cancel1', done: true });
    expect(resting(await sim.get<SimOrder[]>('/__sim/orders'))).toEqual({});
    expectCleanOutput(bot);
  });
});

describe('btcbot run in demo mode against the simulator', () => {
  afterEach(() => killChildren());

  test('trades a paper grid on the live ticker, never places a real order, and exits 0 on SIGTERM', async () => {
    const sim = await startExchangeSim(['--port', '0', '--price', '50000']);
    const token = 'demo-token-0123456789';
    const bot = spawnCli(['run', '--config', gridFile('demo.yaml', 'demo1')], { ...NO_EXCHANGE_ENV, TRADING_MODE: 'demo', EXCHANGE_URL: sim.url, DATA_DIR: tmp.path('data-demo'), API_TOKEN: token });
    const { url } = (await bot.waitFor((line) => line.msg.startsWith('serving '), 'serving')) as LogLine & { url: string };
    expect(await bot.waitFor(message('demo mode: live prices from the exchange, orders matched by the paper exchange (its account kept in the database)'), 'the demo banner')).toMatchObject({ exchange: 'bingx', url: sim.url });
    expect(await bot.waitFor(message('grid started on the exchange'), 'grid started on the exchange')).toMatchObject({ grid: 'demo1', price: 50_000 });
    // The grid rests on the paper exchange (the control API says so): two buys, two sells.
    const restingOrders = async (): Promise<number> => {
      const answer = await fetch(`${url}/api/v1/grids/demo1`, { headers: { authorization: `Bearer ${token}` } });
      return ((await answer.json()) as { stats?: { openOrders: number } | null }).stats?.openOrders ?? 0;
    };
    await until(async () => (await restingOrders()) === 4, 'the grid resting on the paper exchange', 10_000);

    // Down through 49000 on the simulator's ticker: the paper buy fills, at its own price.
    await sim.post('/__sim/step?target=48500');
    const filled = await bot.waitFor(message('buy filled at 49000'), 'the buy filled');
    expect(filled).toMatchObject({ grid: 'demo1', side: 'buy', price: 49_000, takerOrMaker: 'maker' });
    // The walk goes on to the ticker's price once the grid has answered the fill (50 ms without a request).
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Demo mode never reaches the exchange's order book.
    expect(await sim.get<SimOrder[]>('/__sim/orders')).toEqual([]);
    expect(await sim.get<unknown[]>('/__sim/fills')).toEqual([]);

    const reports = await stopWithSigterm(bot);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ grid: 'demo1', report: { startPrice: 50_000, lastPrice: 48_500, fills: { buy: 1, sell: 0 } } });
    expect(await sim.get<SimOrder[]>('/__sim/orders')).toEqual([]);
    expectCleanOutput(bot);
  });
});

describe('btcbot run in live mode when the simulator dies mid-run', () => {
  afterEach(() => killChildren());

  test('falls back to polling, keeps running, reconnects to the restarted simulator, and exits 0 on SIGTERM', async () => {
    const state = tmp.path('sim-state.json');
    const first = await startExchangeSim(['--port', '0', '--state', state, '--price', '50000']);
    // The keys as Docker secrets: files with a trailing newline.
    const keys = { EXCHANGE_API_KEY_FILE: tmp.file('api-key', `${KEY}\n`), EXCHANGE_API_SECRET_FILE: tmp.file('api-secret', `${SECRET}\n`) };
    const bot = spawnCli(['run', '--config', gridFile('dies.yaml', 'dies1')], liveEnv(first.url, keys));
    await bot.waitFor(message('grid started on the exchange'), 'grid started on the exchange');
    await untilResting(first, ['buy@48000', 'buy@49000', 'sell@51000', 'sell@52000'], 'the grid on the simulator');
    const placed = await first.get<SimOrder[]>('/__sim/orders');

    first.process.child.kill('SIGKILL');
    await within(first.process.exited, 5_000, 'the simulator dying');
    const killedAt = Date.now();
    const down = await bot.waitFor((line) => line.msg.startsWith('exchange streams down'), 'exchange streams down', 5_000);
    expect(down).toMatchObject({ level: 40, exchange: 'bingx', msg: 'exchange streams down, polling REST every 500 ms' });
    // It keeps running on REST polling, which fails (and says so) while the simulator is gone.
    const pollFailures = (): number => bot.lines.filter(message('price poll failed; it is tried again')).length;
    await until(() => pollFailures() >= 3 && Date.now() - killedAt >= 2_500, 'three failed polls over 2.5 s', 6_000, 50);
    expect(bot.running()).toBe(true);

    const second = await startExchangeSim(['--port', String(first.port), '--state', state]);
    expect(second.url).toBe(first.url);
    expect(await second.get<SimOrder[]>('/__sim/orders')).toEqual(placed); // restored from --state
    const downIndex = bot.lines.indexOf(down);
    await bot.waitFor(message('exchange streams up'), 'exchange streams up again', 10_000, downIndex + 1);

    // Trading goes on after the reconnect: a fill is answered by its counter-order.
    await second.post('/__sim/step?target=48500');
    await untilResting(second, ['buy@48000', 'sell@50000', 'sell@51000', 'sell@52000'], 'the counter sell after the reconnect');

    const reports = await stopWithSigterm(bot);
    expect(reports).toHaveLength(1);
    expect((reports[0]!.report as LiveReport).openOrders).toEqual(resting(await second.get<SimOrder[]>('/__sim/orders')));
    expect(reports[0]!.report).toMatchObject({ fills: { buy: 1, sell: 0 }, stopped: null });
    expectCleanOutput(bot);
  });
});
