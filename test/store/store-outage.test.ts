// A database outage mid-run: the grid trades on a paper exchange with its books in Postgres (the
// embedded PGlite) behind a loopback proxy that the test cuts for a few seconds. While the store is
// down nothing unrecorded may reach the exchange and no level may be lost; when it returns, trading
// resumes by itself with nothing lost.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { startGridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { openDatabase, reconnectDelaySeconds } from '../../src/adapters/store/database.js';
import { migrate } from '../../src/adapters/store/migrations.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { storeErrorOf } from '../../src/adapters/store/store-errors.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { startCuttableProxy } from '../support/cuttable-proxy.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

const tmp = useTempDir('btcbot-outage-');
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('store errors', () => {
  test('connection failures are retryable; data the database refuses is rejected', () => {
    expect(storeErrorOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })).kind).toBe('retryable');
    expect(storeErrorOf(Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' })).kind).toBe('retryable');
    expect(storeErrorOf(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' })).kind).toBe('retryable');
    expect(storeErrorOf(Object.assign(new Error('violates foreign key constraint'), { code: '23503', severity: 'ERROR' })).kind).toBe('rejected');
  });
});

describe('reconnecting after an outage', () => {
  test('a failed connection is tried again within 1 s however long the outage (postgres.js would wait 10-20 s after a few failures)', async () => {
    for (let failures = 0; failures <= 40; failures++) {
      expect(reconnectDelaySeconds(failures)).toBeGreaterThan(0);
      expect(reconnectDelaySeconds(failures)).toBeLessThanOrEqual(1);
    }
    const database = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' }); // postgres.js connects at the first query
    try {
      expect(database.sql.options.backoff).toBe(reconnectDelaySeconds);
    } finally {
      await database.close();
    }
  });
});

/** A database the proxy can stand in front of: the embedded PGlite, and the real Postgres when TEST_DATABASE_URL is set. */
interface Backend {
  readonly name: string;
  /** Starts it; returns the port to proxy and the connection settings behind the proxy. */
  open(): Promise<{ port: number; username: string; database: string; connection?: Record<string, string> }>;
}

const backends: Backend[] = [
  {
    name: 'the embedded PGlite',
    open: async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      const db = await PGlite.create(tmp.path('pglite'));
      const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
      await server.start();
      cleanups.push(() => db.close(), () => server.stop());
      return { port: Number(server.getServerConn().split(':')[1]), username: 'postgres', database: 'postgres' };
    },
  },
];
const serverUrl = process.env.TEST_DATABASE_URL;
if (serverUrl) {
  backends.push({
    name: 'Postgres (TEST_DATABASE_URL)',
    open: async () => {
      const { default: postgres } = await import('postgres');
      const schema = `btcbot_outage_${randomBytes(4).toString('hex')}`;
      const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`CREATE SCHEMA ${schema}`);
      cleanups.push(async () => {
        await admin.unsafe(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      });
      const url = new URL(serverUrl);
      return { port: Number(url.port || 5432), username: decodeURIComponent(url.username || 'postgres'), database: url.pathname.slice(1) || 'postgres', connection: { search_path: schema } };
    },
  });
}

describe.each(backends)('a database outage mid-run, on $name', (backend) => {
  test('nothing unrecorded reaches the exchange, no level is lost, trading resumes by itself', async () => {
    const { default: postgres } = await import('postgres');
    const target = await backend.open();
    const proxy = await startCuttableProxy(target.port);
    cleanups.push(() => proxy.close());
    const sql = postgres({
      host: '127.0.0.1',
      port: proxy.port,
      username: target.username,
      database: target.database,
      max: 1,
      onnotice: () => undefined,
      connect_timeout: 2,
      ...(target.connection ? { connection: target.connection } : {}),
    });
    cleanups.push(() => sql.end({ timeout: 1 }));
    await migrate(sql);
    const store = new PostgresStore(sql);
    const config = parseGridConfig({ id: 'out', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
    await store.registerGrid(config);

    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store });
    cleanups.push(() => runtime.stop());
    runtime.actor.send({ type: 'START', price: 50_000 });
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2, 'the grid to rest');

    /** Every order the exchange ever got has its intent stored (checked once the store is back). */
    const unrecorded = async (): Promise<string[]> => {
      const stored = new Set((await store.orders('out')).map((order) => order.clientOrderId));
      return exchange.allOrders().map((order) => order.clientOrderId).filter((id) => !stored.has(id));
    };
    expect(await unrecorded()).toEqual([]);

    // The store goes away; the price falls through 49,000: that buy fills.
    proxy.cut();
    const ordersBefore = exchange.allOrders().length;
    while (exchange.step(48_500));
    await sleep(3_000);
    // Down: the fill could not be stored, so its counter-sell was not placed; the level is kept.
    expect(exchange.allOrders().length).toBe(ordersBefore);
    expect(runtime.actor.getSnapshot().context.stats.skippedOrders).toBe(0);

    proxy.restore();
    await until(() => exchange.openOrderCount.sell === 3, 'the counter-sell once the store is back', 20_000);
    expect(await unrecorded()).toEqual([]);
    expect((await store.fills('BTC/USDT')).map((fill) => fill.price)).toEqual([50_000, 49_000]); // the start buy, then the fill made during the outage
    const { stats, slots } = runtime.actor.getSnapshot().context;
    expect(stats).toMatchObject({ buyFills: 1, skippedOrders: 0 });
    expect(slots.filter((slot) => slot !== null)).toHaveLength(4);
  }, 60_000);
});
