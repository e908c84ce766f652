// The compose stacks on a real Docker engine, against `btcbot exchange-sim` on the host:
// - stage (demo mode, its own Postgres): comes up healthy, /health answers its JSON shape, the
//   grid trades on the simulator's price moves; an update as Watchtower makes it (the pre-update
//   hook, a new image under the same tag, stop with the grace period, recreate, start) carries the
//   grid on from the database with no order placed twice, and so does a `docker kill`;
// - prod (live mode): refuses to start without the confirmation or without the keys (exit 2, one
//   clear log line), and trades on the simulator with both.
// Skips with a visible reason when no engine answers (REQUIRE_DOCKER=1: fails instead).
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, killChildren, startExchangeSim, type SimProcess } from '../cli/cli-harness.js';
import { buildImage, compose, containerState, docker, dockerEngine, ensureImage, eventually, forwardToContainers, freePort, run, untilHealthy, DOCKER, type BuiltImage } from './docker-harness.js';

const EXCHANGE = 'exchange: { timeoutMs: 5000, staleAfterMs: 3000, pollIntervalMs: 500, reconcileIntervalMs: 1000 }';
/** A 5-level grid 48000..52000 around the simulator's start price 50000: 2 buys and 2 sells rest. */
const gridConfig = (id: string): string => `${EXCHANGE}\ngrids:\n  - id: ${id}\n    symbol: BTC/USDT\n    lower: 48000\n    upper: 52000\n    levels: 5\n    quantityPerLevel: 0.01\n`;

interface Stack {
  readonly project: string;
  readonly file: string;
  readonly envFile: string;
  readonly url: string;
  readonly token: string;
  readonly dir: string;
  /** Rewrites the env file with `overrides` (a later `up -d` recreates what changed). */
  setEnv(overrides: Record<string, string>): void;
  up(...services: string[]): Promise<string>;
  /** The container id of `service`. */
  id(service: string): Promise<string>;
  down(): Promise<void>;
}

const dirs: string[] = [];

/** A stack's files in a temporary directory (secrets readable by the bot's uid 1000) and its env file. */
async function stack(kind: 'stage' | 'prod', user: string, exchangeUrl: string, gridId: string): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), `btcbot-${kind}-`));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const password = randomBytes(12).toString('hex');
  const token = `token-${randomBytes(12).toString('hex')}`;
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: 0o644 });
    return file;
  };
  write('postgres_password', `${password}\n`);
  write('database_url', `postgres://btcbot:${password}@btcbot-${kind}-db:5432/btcbot\n`);
  write('api_token', `${token}\n`);
  write('exchange_api_key', `key-${randomBytes(8).toString('hex')}\n`);
  write('exchange_api_secret', `secret-${randomBytes(8).toString('hex')}\n`);
  const config = write('grid.yaml', gridConfig(gridId));
  const port = await freePort();
  const project = `btcbot${kind}${randomBytes(4).toString('hex')}`;
  const base = {
    DOCKER_USERNAME: user,
    [kind === 'stage' ? 'BTCBOT_STAGE_BIND' : 'BTCBOT_PROD_BIND']: `127.0.0.1:${port}`,
    BTCBOT_CONFIG_FILE: config,
    BTCBOT_SECRETS_DIR: dir,
    EXCHANGE_URL: exchangeUrl,
    LOG_LEVEL: 'info',
    // The stack's fixed names (container names, its monitoring network) made this run's own: a
    // test never meets a real stack on the same host, nor an earlier run's leftovers.
    [`BTCBOT_${kind.toUpperCase()}_CONTAINER`]: `${project}-bot`,
    [`BTCBOT_${kind.toUpperCase()}_DB_CONTAINER`]: `${project}-db`,
    [`BTCBOT_${kind.toUpperCase()}_MONITORING_NETWORK`]: `${project}-monitoring`,
  };
  const envFile = path.join(dir, `.env.${kind}`);
  const setEnv = (overrides: Record<string, string>): void => {
    writeFileSync(envFile, `${Object.entries({ ...base, ...overrides }).map(([name, value]) => `${name}=${value}`).join('\n')}\n`);
  };
  setEnv({});
  const file = `docker-compose.${kind}.yml`;
  return {
    project,
    file,
    envFile,
    url: `http://127.0.0.1:${port}`,
    token,
    dir,
    setEnv,
    up: (...services) => compose(project, file, envFile, ['up', '-d', ...services]),
    id: (service) => compose(project, file, envFile, ['ps', '-q', service]),
    down: async () => void (await compose(project, file, envFile, ['down', '-v', '--remove-orphans'], 120_000).catch(() => undefined)),
  };
}

interface GridAnswer {
  state: string;
  levels: Array<{ price: number; order: { clientOrderId: string; side: string; state: string } | null }>;
  stats: { buyFills: number; sellFills: number; fills: number; openOrders: number } | null;
}

async function gridOf(target: Stack, id: string): Promise<GridAnswer> {
  const answer = await fetch(`${target.url}/api/v1/grids/${id}`, { headers: { authorization: `Bearer ${target.token}` } });
  if (answer.status !== 200) throw new Error(`GET /api/v1/grids/${id}: HTTP ${answer.status}`);
  return (await answer.json()) as GridAnswer;
}

/** The grid's resting orders by the control API: client order id -> side@price, once every order actor rests. */
async function restingOrders(target: Stack, id: string): Promise<Record<string, string> | undefined> {
  const grid = await gridOf(target, id);
  if (grid.state !== 'ACTIVE' || grid.levels.some((level) => level.order !== null && level.order.state !== 'open')) return undefined;
  return Object.fromEntries(grid.levels.filter((level) => level.order !== null).map((level) => [level.order!.clientOrderId, `${level.order!.side}@${level.price}`]));
}

interface PaperOrder {
  clientOrderId: string;
  status: string;
}

/** Every order the paper exchange's account holds (the paper_accounts row in the stack's Postgres). */
async function paperAccountOrders(dbContainer: string): Promise<PaperOrder[]> {
  const rows = await docker(['exec', dbContainer, 'psql', '-U', 'btcbot', '-d', 'btcbot', '-tAc', 'select state::text from paper_accounts']);
  const orders: PaperOrder[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record.clientOrderId === 'string' && typeof record.status === 'string') orders.push(record as unknown as PaperOrder);
      else Object.values(record).forEach(collect);
    }
  };
  for (const row of rows.split('\n').filter((line) => line.trim() !== '')) collect(JSON.parse(row));
  return orders;
}

/** Checks the account: no client order id twice, and its open orders are exactly the grid's. */
async function expectAccountMatches(dbContainer: string, resting: Record<string, string>): Promise<void> {
  const orders = await paperAccountOrders(dbContainer);
  const ids = orders.map((order) => order.clientOrderId);
  expect(new Set(ids).size, `orders in the paper account: ${JSON.stringify(orders)}`).toBe(ids.length);
  expect(orders.filter((order) => order.status === 'open').map((order) => order.clientOrderId).sort()).toEqual(Object.keys(resting).sort());
}

describe.skipIf(dockerEngine === undefined)('the compose stacks', () => {
  let image: BuiltImage;
  const user = `btcbot-test-${randomBytes(3).toString('hex')}`;
  const stacks: Stack[] = [];
  const forwarders: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    ensureBuilt();
    image = await ensureImage();
    await docker(['tag', image.tag, `${user}/btcbot:stage`]);
    await docker(['tag', image.tag, `${user}/btcbot:latest`]);
  }, 900_000);

  afterAll(async () => {
    for (const one of stacks) await one.down();
    await run(DOCKER, ['rmi', `${user}/btcbot:stage`, `${user}/btcbot:latest`]);
    await Promise.all(forwarders.map((one) => one.close()));
    await killChildren();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  /** A simulator at 50000 on the host, reachable from the containers. */
  async function simulator(): Promise<{ sim: SimProcess; containerUrl: string }> {
    const sim = await startExchangeSim(['--port', '0', '--price', '50000']);
    const forwarder = await forwardToContainers(sim.port);
    forwarders.push(forwarder);
    return { sim, containerUrl: forwarder.url };
  }

  test('stage: healthy, trades, survives a Watchtower-style update and a docker kill from its database; a backup restored over changed data brings the books back', async () => {
    const { sim, containerUrl } = await simulator();
    const stage = await stack('stage', user, containerUrl, 'stage1');
    stacks.push(stage);
    const upStarted = Date.now();
    await stage.up('btcbot-stage');
    let bot = await stage.id('btcbot-stage');
    await untilHealthy(bot);
    console.info(`stage stack: up -> healthy in ${((Date.now() - upStarted) / 1000).toFixed(1)} s (Postgres initialised first)`);
    const db = await stage.id('btcbot-stage-db');

    // The database is never published; the bot only on 127.0.0.1.
    expect(await docker(['port', db])).toBe('');
    const health = (await (await fetch(`${stage.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: 'healthy',
      version: `0.1.0+${image.revision.slice(0, 7)}`,
      environment: 'stage',
      trading_mode: 'demo',
      components: { database: { status: 'healthy' }, websocket: {}, exchange_api: {} },
      grid: { state: 'ACTIVE' },
      grids: { stage1: { state: 'ACTIVE' } },
    });
    expect(typeof health.uptime_seconds).toBe('number');
    expect(typeof health.timestamp).toBe('string');

    // It trades: down through 49000 the paper buy fills and its counter-sell rests at 50000.
    const first = await eventually(() => restingOrders(stage, 'stage1'), 'the grid resting', 30_000);
    expect(Object.values(first).sort()).toEqual(['buy@48000', 'buy@49000', 'sell@51000', 'sell@52000']);
    await sim.post('/__sim/step?target=48500');
    const afterBuy = await eventually(async () => {
      const resting = await restingOrders(stage, 'stage1');
      return resting && Object.values(resting).includes('sell@50000') ? resting : undefined;
    }, 'the buy at 49000 filled and its sell at 50000 resting');
    expect((await gridOf(stage, 'stage1')).stats).toMatchObject({ buyFills: 1, sellFills: 0 });
    await expectAccountMatches(db, afterBuy);

    // A Watchtower update: its pre-update hook says go, then a new image under the same tag, stop
    // with the grace period, recreate, start.
    await eventually(async () => ((await run(DOCKER, ['exec', bot, 'btcbot', 'update-guard'])).code === 0 ? true : undefined), 'update-guard to allow the update');
    const updateRevision = createHash('sha256').update(`${image.revision} update`).digest('hex').slice(0, 16);
    const update = await buildImage(`${user}/btcbot:stage`, updateRevision);
    console.info(`rebuilt for the update (cached): ${(update.ms / 1000).toFixed(1)} s`);
    const stopStarted = Date.now();
    await docker(['stop', '-t', '15', bot]);
    const stopMs = Date.now() - stopStarted;
    expect(await containerState(bot)).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(stopMs).toBeLessThan(15_000);
    await stage.up('btcbot-stage');
    const updated = await stage.id('btcbot-stage');
    expect(updated).not.toBe(bot);
    bot = updated;
    await untilHealthy(bot);
    const afterUpdate = (await (await fetch(`${stage.url}/health`)).json()) as { version: string };
    expect(afterUpdate.version).toBe(`0.1.0+${updateRevision.slice(0, 7)}`);
    const inspected = await docker(['inspect', '-f', '{{index .Config.Labels "org.opencontainers.image.revision"}}', bot]);
    expect(inspected).toBe(updateRevision);
    // The same orders, recovered from the database: none placed again, no fill counted twice.
    expect(await eventually(() => restingOrders(stage, 'stage1'), 'the grid resting after the update', 30_000)).toEqual(afterBuy);
    expect((await gridOf(stage, 'stage1')).stats).toMatchObject({ buyFills: 1, sellFills: 0 });
    await expectAccountMatches(db, afterBuy);

    // It trades on: up through 50000 the sell fills and a buy rests at 49000 again.
    await sim.post('/__sim/step?target=50500');
    const afterSell = await eventually(async () => {
      const resting = await restingOrders(stage, 'stage1');
      return resting && Object.values(resting).includes('buy@49000') && !Object.values(resting).includes('sell@50000') ? resting : undefined;
    }, 'the sell at 50000 filled and a buy at 49000 resting');
    expect((await gridOf(stage, 'stage1')).stats).toMatchObject({ buyFills: 1, sellFills: 1 });

    // docker kill (SIGKILL, no shutdown at all): started again, the grid carries on the same way.
    await docker(['kill', bot]);
    await eventually(async () => ((await containerState(bot)).status === 'running' ? undefined : true), 'the killed container down', 10_000);
    if ((await containerState(bot)).status !== 'running') await docker(['start', bot]);
    await untilHealthy(bot);
    expect(await eventually(() => restingOrders(stage, 'stage1'), 'the grid resting after the kill', 30_000)).toEqual(afterSell);
    expect((await gridOf(stage, 'stage1')).stats).toMatchObject({ buyFills: 1, sellFills: 1 });
    await expectAccountMatches(db, afterSell);

    // Backup, change the data, restore, with the scripts a user runs (scripts/backup_db.sh,
    // restore_db.sh) on this stack's containers: the books come back whole, and the bot with them.
    const books = async (): Promise<string> =>
      docker(['exec', db, 'psql', '-U', 'btcbot', '-d', 'btcbot', '-Atc', "SELECT (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM fills) || ' fills, ' || (SELECT coalesce(sum(amount), 0) FROM fills) || ' filled, ' || (SELECT count(*) FROM events) || ' events'"]);
    const before = await books();
    const backups = mkdtempSync(path.join(tmpdir(), 'btcbot-backups-'));
    dirs.push(backups);
    const scriptEnv = { DOCKER, BACKUP_DIR: backups, PG_CONTAINER: `${stage.project}-db`, BOT_CONTAINER: `${stage.project}-bot`, ENV_FILE: stage.envFile };
    const backup = await run('bash', ['scripts/backup_db.sh', 'stage'], { env: scriptEnv });
    expect(backup.code, backup.stderr + backup.stdout).toBe(0);
    const dump = (await run('sh', ['-c', `ls ${backups}/stage/*.dump`])).stdout.trim();
    expect(dump).toMatch(/btcbot-stage-\d{8}T\d{6}Z\.dump$/);
    await docker(['exec', db, 'psql', '-U', 'btcbot', '-d', 'btcbot', '-c', 'UPDATE fills SET amount = amount * 2; DELETE FROM events WHERE id = (SELECT max(id) FROM events)']);
    expect(await books()).not.toBe(before);
    const restore = await run('bash', ['scripts/restore_db.sh', '--yes', 'stage', dump], { env: scriptEnv, timeoutMs: 180_000 });
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    expect(await books()).toBe(before);
    await untilHealthy(bot);
    expect(await eventually(() => restingOrders(stage, 'stage1'), 'the grid resting after the restore', 30_000)).toEqual(afterSell);
    expect((await gridOf(stage, 'stage1')).stats).toMatchObject({ buyFills: 1, sellFills: 1 });

    await sim.post('/__sim/step?target=48500');
    await eventually(async () => ((await gridOf(stage, 'stage1')).stats?.buyFills === 2 ? true : undefined), 'a buy filled after the kill');
    expect(await sim.get<unknown[]>('/__sim/orders')).toEqual([]); // demo mode never reaches the exchange's book
  }, 400_000);

  test('prod: refuses without the confirmation or the keys (exit 2, one clear line), trades with both', async () => {
    const { sim, containerUrl } = await simulator();
    const prod = await stack('prod', user, containerUrl, 'prod1');
    stacks.push(prod);

    /** Brings the bot up and waits for its first exit: code 2 and `message` in its log. */
    const expectRefusal = async (message: string): Promise<void> => {
      await prod.up('btcbot-prod');
      const id = await prod.id('btcbot-prod');
      // Its next exit (restart: unless-stopped starts it again after each, with back-off).
      expect(await docker(['wait', id], { timeoutMs: 60_000 })).toBe('2');
      const logs = await run(DOCKER, ['logs', id]);
      expect(logs.stderr + logs.stdout).toContain(message);
      expect(logs.stderr + logs.stdout).not.toMatch(/^\s+at /m);
    };
    prod.setEnv({ CONFIRM_LIVE_TRADING: 'no' });
    await expectRefusal('confirm it with CONFIRM_LIVE_TRADING=yes');
    writeFileSync(path.join(prod.dir, 'exchange_api_key'), '');
    prod.setEnv({ CONFIRM_LIVE_TRADING: 'yes' });
    await expectRefusal('EXCHANGE_API_KEY_FILE');
    expect(await sim.get<unknown[]>('/__sim/orders')).toEqual([]);

    writeFileSync(path.join(prod.dir, 'exchange_api_key'), `key-${randomBytes(8).toString('hex')}\n`);
    // The key file changed, not the env: force the recreate.
    await compose(prod.project, prod.file, prod.envFile, ['up', '-d', '--force-recreate', 'btcbot-prod']);
    const bot = await prod.id('btcbot-prod');
    await untilHealthy(bot);
    const health = (await (await fetch(`${prod.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'healthy', environment: 'prod', trading_mode: 'live', components: { database: { status: 'healthy' }, exchange_api: { status: 'healthy' } } });
    /** The simulator's resting orders as sorted side@price, once they are `expected`. */
    const simResting = async (expected: string[]): Promise<string[] | undefined> => {
      const open = (await sim.get<Array<{ side: string; price: number; status: string }>>('/__sim/orders')).filter((order) => order.status === 'open');
      const levels = open.map((order) => `${order.side}@${order.price}`).sort();
      return JSON.stringify(levels) === JSON.stringify(expected) ? levels : undefined;
    };
    await eventually(() => simResting(['buy@48000', 'buy@49000', 'sell@51000', 'sell@52000']), 'the grid resting on the simulator', 30_000);
    // Down through 49000: that buy fills on the exchange, its counter-sell at 50000 appears there.
    await sim.post('/__sim/step?target=48500');
    await eventually(() => simResting(['buy@48000', 'sell@50000', 'sell@51000', 'sell@52000']), 'the counter-sell of the buy at 49000', 30_000);
    await eventually(async () => ((await gridOf(prod, 'prod1')).stats?.buyFills === 1 ? true : undefined), 'the bot told of its fill');
    const stopStarted = Date.now();
    await docker(['stop', '-t', '15', bot]);
    expect(Date.now() - stopStarted).toBeLessThan(15_000);
    expect(await containerState(bot)).toMatchObject({ status: 'exited', exitCode: 0 });
  }, 400_000);
});
