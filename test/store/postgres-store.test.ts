// The Postgres store on both backends: the embedded PGlite (always) and a real Postgres server
// when TEST_DATABASE_URL is set (CI sets it; each run gets its own schema, dropped afterwards).
// The StorePort contract is checked on the memory store too, so the two cannot drift apart.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { beforeEach, describe, expect, test } from 'vitest';
import { openDatabase, type Database } from '../../src/adapters/store/database.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { migrate, readMigrations } from '../../src/adapters/store/migrations.js';
import type { StorePort } from '../../src/adapters/store/port.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import type { Fill, OrderIntent } from '../../src/domain/trading.js';
import { storeBackends, useMigratedStore } from '../support/store-backends.js';
import { useTempDir } from '../support/temp-dir.js';

const grid = parseGridConfig({ id: 'g1', symbol: 'BTC/USDT', lower: 90_000, upper: 110_000, levels: 5, quantityPerLevel: 0.001 });
/** A limit buy at `price`, or with price null a market buy. */
const intent = (clientOrderId: string, amount = 0.001, price: number | null = 95_000): OrderIntent => ({
  clientOrderId,
  symbol: 'BTC/USDT',
  side: 'buy',
  type: price === null ? 'market' : 'limit',
  ...(price === null ? {} : { price }),
  amount,
  level: price === null ? -1 : 1,
});
const fill = (tradeId: string, clientOrderId: string, amount: number, price = 95_000): Fill => ({
  tradeId,
  orderId: `X-${clientOrderId}`,
  clientOrderId,
  symbol: 'BTC/USDT',
  side: 'buy',
  price,
  amount,
  fee: amount * price * 0.001,
  takerOrMaker: 'maker',
  timestamp: 1_700_000_000_000 + Number(tradeId.replace(/\D/g, '')),
});

/** The StorePort contract: what the runtime relies on, whatever the store. */
function describeStoreContract(name: string, makeStore: () => Promise<StorePort>): void {
  describe(`StorePort contract: ${name}`, () => {
    let store: StorePort;
    beforeEach(async () => {
      store = await makeStore();
    });

    test('an intent is stored once: true the first time, false after (it may have been sent)', async () => {
      expect(await store.recordIntent('g1', intent('bbg1_1b1'))).toBe(true);
      expect(await store.recordIntent('g1', intent('bbg1_1b1'))).toBe(false);
    });

    test('a fill is stored once: true the first time, false after', async () => {
      await store.recordIntent('g1', intent('bbg1_1b1'));
      expect(await store.recordFill(fill('T1', 'bbg1_1b1', 0.001))).toBe(true);
      expect(await store.recordFill(fill('T1', 'bbg1_1b1', 0.001))).toBe(false);
      expect(await store.recordFill(fill('T2', 'bbg1_1b1', 0.001))).toBe(true);
    });

    test("the grid's exchange order ids since a time: from the ack, else from the first fill; older orders left out", async () => {
      const before = Date.now() - 1_000;
      await store.recordIntent('g1', intent('bbg1_1b1'));
      await store.recordOrderUpdate('bbg1_1b1', { status: 'open', exchangeOrderId: 'X-1' });
      await store.recordIntent('g1', intent('bbg1_2b1'));
      await store.recordFill({ ...fill('T1', 'bbg1_2b1', 0.001), orderId: 'X-2' }); // its ack was never stored
      await store.recordIntent('g1', intent('bbg1_3b1')); // never acknowledged, never filled
      expect(await store.exchangeOrderIds('g1', before)).toEqual(new Map([['X-1', 'bbg1_1b1'], ['X-2', 'bbg1_2b1']]));
      expect(await store.exchangeOrderIds('g1', Date.now() + 60_000)).toEqual(new Map());
    });
  });
}

describeStoreContract('MemoryStore', async () => new MemoryStore());

const temp = useTempDir('btcbot-store-');
const backends = storeBackends(() => temp.path('pglite'), 'btcbot_test');

for (const backend of backends) {
  describe(`PostgresStore on ${backend.name}`, () => {
    let database: Database;
    let store: PostgresStore;
    let applied: number[];
    useMigratedStore(backend, grid, (opened) => ({ database, store, applied } = opened));

    test('a new database gets every migration', () => {
      expect(applied).toEqual(readMigrations().map((m) => m.version));
    });

    describeStoreContract('(same database)', async () => store);

    test('migrations apply once: a second run, or two at once, apply nothing', async () => {
      expect(await migrate(database.sql)).toEqual([]);
      expect(await Promise.all([migrate(database.sql), migrate(database.sql)])).toEqual([[], []]);
      const versions = await database.sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`;
      expect(versions.map((row) => row.version)).toEqual(readMigrations().map((m) => m.version));
    });

    test('money and quantities are NUMERIC columns, never floating point', async () => {
      const columns = await database.sql<{ table_name: string; column_name: string; data_type: string }[]>`
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_name IN ('price', 'amount', 'filled', 'fee', 'free', 'used', 'total', 'grid_profit', 'fees', 'position', 'equity')`;
      expect(columns).toHaveLength(13);
      expect(columns.filter((column) => column.data_type !== 'numeric')).toEqual([]);
    });

    test('an intent is stored with its exact values, as status intent', async () => {
      await store.recordIntent('g1', intent('bbg1_1b1', 0.30000000000000004, 95_000.12));
      await store.recordIntent('g1', intent('bbg1_m1', 0.002, null));
      expect(await store.orders('g1')).toEqual([
        { clientOrderId: 'bbg1_1b1', gridId: 'g1', symbol: 'BTC/USDT', side: 'buy', type: 'limit', level: 1, price: 95_000.12, amount: 0.30000000000000004, filled: 0, status: 'intent' },
        { clientOrderId: 'bbg1_m1', gridId: 'g1', symbol: 'BTC/USDT', side: 'buy', type: 'market', level: -1, price: undefined, amount: 0.002, filled: 0, status: 'intent' },
      ]);
    });

    test('fills add up on their order: partial, then filled; a repeated fill changes nothing', async () => {
      await store.recordIntent('g1', intent('bbg1_1b1', 0.003));
      await store.recordFill(fill('T1', 'bbg1_1b1', 0.001));
      expect((await store.orders('g1'))[0]).toMatchObject({ filled: 0.001, status: 'intent' });
      await store.recordFill(fill('T2', 'bbg1_1b1', 0.002));
      await store.recordFill(fill('T2', 'bbg1_1b1', 0.002));
      expect((await store.orders('g1'))[0]).toMatchObject({ filled: 0.003, status: 'filled' });
      expect(await store.fills('BTC/USDT')).toEqual([fill('T1', 'bbg1_1b1', 0.001), fill('T2', 'bbg1_1b1', 0.002)]);
    });

    test('a fill of an order the store does not know is still stored (it is reported, not lost)', async () => {
      expect(await store.recordFill(fill('T9', 'someone-else', 0.5))).toBe(true);
      expect((await store.fills('BTC/USDT')).map((f) => f.clientOrderId)).toEqual(['someone-else']);
    });

    test('order updates: the exchange id and status are kept; an order the fills completed stays filled', async () => {
      await store.recordIntent('g1', intent('bbg1_1b1', 0.001));
      await store.recordOrderUpdate('bbg1_1b1', { status: 'open', exchangeOrderId: 'X-1' });
      expect((await store.orders('g1'))[0]).toMatchObject({ status: 'open' });
      await store.recordFill(fill('T1', 'bbg1_1b1', 0.001));
      await store.recordOrderUpdate('bbg1_1b1', { status: 'canceled' });
      expect((await store.orders('g1'))[0]).toMatchObject({ status: 'filled', filled: 0.001 });
      const [row] = await database.sql<{ exchange_order_id: string }[]>`SELECT exchange_order_id FROM orders WHERE client_order_id = 'bbg1_1b1'`;
      expect(row!.exchange_order_id).toBe('X-1');
    });

    test('the grid snapshot is saved with its state and machine version', async () => {
      expect(await store.gridSnapshot('g1')).toEqual({ state: 'idle', snapshot: null, machineVersion: null });
      await store.saveGridSnapshot('g1', '{"active":"running"}', { grid: { value: { active: 'running' } }, orders: {} }, 1);
      expect(await store.gridSnapshot('g1')).toEqual({ state: '{"active":"running"}', snapshot: { grid: { value: { active: 'running' } }, orders: {} }, machineVersion: 1 });
    });

    test('an intent for an unknown grid is refused (the grid is registered first)', async () => {
      await expect(store.recordIntent('nosuchgrid', intent('bbx_1b1'))).rejects.toThrow(/foreign key/);
    });
  });
}

describe('the embedded database keeps its data across restarts', () => {
  test('reopening the data directory finds what was written', async () => {
    const dataDir = temp.path('reopen');
    const first = await openDatabase({ dataDir });
    await migrate(first.sql);
    await new PostgresStore(first.sql).registerGrid(grid);
    await new PostgresStore(first.sql).recordIntent('g1', intent('bbg1_2b1'));
    await first.close();
    const started = performance.now();
    const second = await openDatabase({ dataDir });
    const reopenMs = performance.now() - started;
    try {
      expect(await migrate(second.sql)).toEqual([]);
      expect((await new PostgresStore(second.sql).orders('g1')).map((o) => o.clientOrderId)).toEqual(['bbg1_2b1']);
      console.log(`embedded PGlite: reopened an existing data directory in ${reopenMs.toFixed(0)} ms`);
    } finally {
      await second.close();
    }
  }, 60_000);

  test('an initdb cut short (a kill during the first start) leaves nothing that blocks the next start', async () => {
    const dataDir = temp.path('cut-short');
    mkdirSync(`${dataDir}/pglite.initdb/base`, { recursive: true });
    writeFileSync(`${dataDir}/pglite.initdb/PG_VERSION`, '17\n'); // what a killed initdb leaves behind
    const database = await openDatabase({ dataDir });
    try {
      expect(await migrate(database.sql)).toEqual(readMigrations().map((m) => m.version));
      expect(existsSync(`${dataDir}/pglite.initdb`)).toBe(false);
      expect(database.description).toBe(`embedded PGlite in ${dataDir}/pglite`);
    } finally {
      await database.close();
    }
  }, 60_000);

  test('DATABASE_URL mistakes are named without the password', async () => {
    await expect(openDatabase({ url: 'mysql://u:hunter2@h/db' })).rejects.toThrow(/must start with postgres:\/\//);
    await expect(openDatabase({ url: 'not a url' })).rejects.toThrow(/not a URL/);
  });
});
