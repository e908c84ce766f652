// Opens the store of the long-running modes: the database (DATABASE_URL or the embedded PGlite),
// its migrations applied first, as every start does (crash-only: start-up is the recovery path).
import { moduleLogger, type Logger } from '../telemetry/logger.js';
import { openDatabase, type Database } from './database.js';
import { migrate } from './migrations.js';
import { PostgresStore } from './postgres-store.js';

export interface OpenedStore {
  readonly store: PostgresStore;
  readonly database: Database;
}

export async function openStore(settings: { readonly url?: string; readonly dataDir: string }, logger: Logger): Promise<OpenedStore> {
  const started = performance.now();
  const database = await openDatabase(settings.url === undefined ? { dataDir: settings.dataDir } : { url: settings.url });
  try {
    const applied = await migrate(database.sql);
    moduleLogger(logger, 'store').info({ database: database.description, migrationsApplied: applied, ms: Math.round(performance.now() - started) }, 'database ready');
    return { store: new PostgresStore(database.sql), database };
  } catch (error) {
    await database.close();
    throw error;
  }
}
