// The database goes away for 30 s while `btcbot run` trades live against `btcbot exchange-sim`
// (real processes; the database behind a loopback proxy the test cuts). Meanwhile the price walks
// through a buy level: the exchange fills it, and the bot can store neither the fill nor the
// counter-order's intent, nor the acks of the orders it placed just before the cut. Required: /health turns unhealthy (the store down) within seconds; no
// order reaches the exchange during the outage (nothing unrecorded is sent); when the database
// returns, /health turns healthy and trading resumes by itself (the fill is stored, the counter-
// sell placed, once; each held-up ack stored); at the end the simulator and the store agree,
// every order written ahead.
//
// It runs on the real Postgres when TEST_DATABASE_URL is set (a database of its own), else on a
// PGlite served over a socket by the test process (what the bot's embedded mode runs in-process).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, test } from 'vitest';
import { openDatabase } from '../../src/adapters/store/database.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { btcbot, ensureBuilt, killChildren, liveSimEnv, spawnCli, startExchangeSim } from '../cli/cli-harness.js';
import { startCuttableProxy } from '../support/cuttable-proxy.js';
import { expectBooksAgree, expectWrittenAhead, type SimFill, type SimOrder } from '../support/sim-books.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 30_000);
const serverUrl = process.env.TEST_DATABASE_URL;
const tmp = useTempDir('btcbot-db-outage-');
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  killChildren();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The database behind the proxy: its port and the URL path/user to reach it through the proxy. */
async function openBackend(): Promise<{ name: string; port: number; database: string }> {
  if (serverUrl) {
    const database = `btcbot_outage_${randomBytes(4).toString('hex')}`;
    const admin = await openDatabase({ url: serverUrl });
    await admin.sql.unsafe(`CREATE DATABASE ${database}`);
    await admin.close();
    cleanups.push(async () => {
      const again = await openDatabase({ url: serverUrl });
      await again.sql.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await again.close();
    });
    return { name: `Postgres (TEST_DATABASE_URL, database ${database})`, port: Number(new URL(serverUrl).port || 5432), database };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(tmp.path('pglite'));
  // Several client connections multiplexed onto PGlite's one (the bot's pool has up to 5).
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 10 });
  await server.start();
  cleanups.push(() => db.close(), () => server.stop()); // run in reverse: the server first
  const port = Number(/:(\d+)$/.exec(server.getServerConn())![1]);
  return { name: 'PGlite served over a socket', port, database: 'postgres' };
}

test(`the database is cut for ${OUTAGE_MS / 1000} s mid-run: unhealthy, nothing unrecorded sent, trading resumes by itself, nothing lost`, async () => {
  ensureBuilt();
  const backend = await openBackend();
  const proxy = await startCuttableProxy(backend.port);
  cleanups.push(() => proxy.close());
  const databaseUrl = `postgres://postgres@127.0.0.1:${proxy.port}/${backend.database}`;

  // Every order's answer is held back 2 s after the simulator takes it: the cut comes as soon as
  // the grid rests there, so the acks arrive while the database is down and wait to be stored.
  const sim = await startExchangeSim(['--port', '0', '--price', '50000', '--quote', '100000', '--state', tmp.path('sim.json'), '--faults', 'timeoutAfterAccept=1,hold=2000']);
  const config = tmp.file(
    'outage.yaml',
    'exchange: { timeoutMs: 5000, staleAfterMs: 3000, pollIntervalMs: 300, reconcileIntervalMs: 1000 }\n' +
      'grids:\n  - id: cut1\n    symbol: BTC/USDT\n    lower: 48000\n    upper: 52000\n    levels: 5\n    quantityPerLevel: 0.01\n',
  );
  const bot = spawnCli(['run', '--config', config, '--log-level', 'debug'], {
    ...liveSimEnv(sim.url),
    DATABASE_URL: databaseUrl,
    DATA_DIR: tmp.path('unused'),
  });
  const serving = { url: String((await bot.waitFor((line) => line.msg.startsWith('serving '), 'the HTTP endpoints', 20_000))['url']) };
  type HealthBody = { status: string; parts: Record<string, { state: string; detail?: { orders?: Record<string, number> } }> };
  const health = async (): Promise<{ code: number; body: HealthBody }> => {
    const response = await fetch(`${serving.url}/health`);
    return { code: response.status, body: (await response.json()) as HealthBody };
  };
  const simOpen = async () => (await sim.get<SimOrder[]>('/__sim/orders')).filter((order) => order.status === 'open');

  await bot.waitFor((line) => line.msg === 'grid started on the exchange', 'the grid trading', 30_000);
  await until(async () => (await simOpen()).length === 4, 'the grid to rest on the exchange', 15_000);
  await until(async () => (await health()).code === 200, 'healthy while trading', 10_000);
  const ordersBefore = (await sim.get<SimOrder[]>('/__sim/orders')).length;

  // The outage.
  const cutAt = Date.now();
  proxy.cut();
  await until(async () => (await health()).code === 503, '/health to turn unhealthy', 10_000);
  const down = await health();
  expect(down.body.parts['store']).toMatchObject({ state: 'down' });
  const check = btcbot(['health', '--url', serving.url]); // the container healthcheck says so too
  expect(check.status).toBe(1);
  expect(check.stdout).toMatch(/^unhealthy \(HTTP 503\): store: the database is unreachable/);
  const unhealthyAfterMs = Date.now() - cutAt;
  // The price walks through the 49,000 buy: the exchange fills it; its counter-sell must wait for the store.
  await sim.post('/__sim/step?target=48500');
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
  const duringOutage = (await sim.get<SimOrder[]>('/__sim/orders')).filter((order) => order.timestamp >= cutAt);
  expect(duringOutage.map((order) => order.clientOrderId), 'orders sent while the store was down').toEqual([]);
  expect((await health()).code).toBe(503);
  const restoredAt = Date.now();
  proxy.restore();

  // Back: healthy again, the fill stored, the counter-sell placed.
  await until(async () => (await health()).code === 200, '/health to turn healthy again', 20_000);
  const healthyAfterMs = Date.now() - restoredAt;
  await until(async () => (await simOpen()).filter((order) => order.side === 'sell').length === 3, 'the counter-sell after the outage', 20_000);
  expect((await sim.get<SimOrder[]>('/__sim/orders')).length).toBe(ordersBefore + 1);
  // The held-up acks, the counter-sell's too, reach the grid: its 4 order actors rest (open).
  await until(async () => JSON.stringify((await health()).body.parts['grid:cut1']?.detail?.orders) === '{"open":4}', "the grid's orders acked", 10_000);

  bot.terminate();
  expect((await bot.exited).code, bot.output().slice(-2_000)).toBe(0);
  const simOrders = await sim.get<SimOrder[]>('/__sim/orders');
  const simFills = await sim.get<SimFill[]>('/__sim/fills');
  // The start's market buy, and the 49,000 buy filled during the outage (in one fill or in parts).
  expect(new Set(simFills.map((fill) => `${fill.side}@${fill.price}`))).toContain('buy@49000');
  const database = await openDatabase({ url: databaseUrl });
  try {
    await expectBooksAgree(simOrders, simFills, new PostgresStore(database.sql), 'cut1', 'BTC/USDT').catch((error: unknown) => {
      // What the bot did with each order (its last states) and its errors: why the books differ.
      const story = bot.lines.filter((line) => (line.msg === 'order state' && line['state'] !== 'lookupBackoff') || (line.level ?? 0) >= 50);
      console.error(`the bot's orders and errors:\n${story.slice(-40).map((line) => JSON.stringify(line)).join('\n')}`);
      throw error;
    });
    await expectWrittenAhead(simOrders, database.sql);
  } finally {
    await database.close();
  }
  console.log(`database outage on ${backend.name}: ${OUTAGE_MS} ms cut; unhealthy ${unhealthyAfterMs} ms after the cut, healthy ${healthyAfterMs} ms after the restore`);
}, 120_000);
