// The databases the store's tests run on: the embedded PGlite always, and the Postgres server of
// TEST_DATABASE_URL when it is set (CI sets it), in a schema of its own dropped afterwards.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { openDatabase, type Database } from '../../src/adapters/store/database.js';
import { migrate } from '../../src/adapters/store/migrations.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import type { GridConfig } from '../../src/config/grid-config.js';

export interface StoreBackend {
  readonly name: string;
  open(): Promise<Database>;
  cleanUp?(database: Database): Promise<void>;
}

/**
 * `pgliteDir()` holds the embedded database (asked when it is opened: a useTempDir path exists only
 * once its beforeAll ran); `schemaPrefix` names the server schema (a random suffix is added).
 */
export function storeBackends(pgliteDir: () => string, schemaPrefix: string): StoreBackend[] {
  const backends: StoreBackend[] = [{ name: 'embedded PGlite', open: () => openDatabase({ dataDir: pgliteDir() }) }];
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    console.warn('SKIP: TEST_DATABASE_URL is not set: the store tests run on the embedded PGlite only');
    return backends;
  }
  const schema = `${schemaPrefix}_${randomBytes(4).toString('hex')}`;
  backends.push({
    name: `Postgres server (TEST_DATABASE_URL, schema ${schema})`,
    open: async () => {
      const admin = await openDatabase({ url: serverUrl });
      await admin.sql.unsafe(`CREATE SCHEMA ${schema}`);
      await admin.close();
      return openDatabase({ url: serverUrl, connection: { search_path: schema } });
    },
    cleanUp: async (database) => {
      await database.sql.unsafe(`DROP SCHEMA ${schema} CASCADE`);
    },
  });
  return backends;
}

export interface OpenedStore {
  readonly database: Database;
  readonly store: PostgresStore;
  /** The migration versions the open applied (all of them on a new database). */
  readonly applied: number[];
}

/**
 * For the enclosing describe: opens `backend` once and migrates it (`opened` is told), empties the
 * tables and registers `grid` before each test, cleans up and closes after all.
 */
export function useMigratedStore(backend: StoreBackend, grid: GridConfig, opened: (store: OpenedStore) => void): void {
  let database: Database | undefined;
  let store: PostgresStore;
  beforeAll(async () => {
    database = await backend.open();
    const applied = await migrate(database.sql);
    store = new PostgresStore(database.sql);
    opened({ database, store, applied });
  }, 60_000);
  afterAll(async () => {
    if (!database) return;
    await backend.cleanUp?.(database);
    await database.close();
  });
  beforeEach(async () => {
    await database!.sql`TRUNCATE fills, orders, events, pnl_snapshots, balance_snapshots, grids`;
    await store.registerGrid(grid);
  });
}
