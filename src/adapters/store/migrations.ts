// Schema migrations: db/migrations/NNN_name.sql, applied in order, each in its own transaction,
// recorded in schema_migrations. A session-level advisory lock makes two instances starting at
// once (a Watchtower update racing a restart) apply them one after the other, never twice.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';

/** db/migrations, from src/adapters/store or dist/adapters/store alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../db/migrations/', import.meta.url));

/** pg_advisory_lock key: "btcbot" as a number, so other applications' locks do not collide. */
const MIGRATION_LOCK = 0x6274_6362;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new Error(`${dir}${file}: a migration is named NNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(`${dir}${file}`, 'utf8') };
    });
}

/** Applies the migrations not applied yet; returns the versions it applied. */
export async function migrate(sql: Sql, migrations: readonly Migration[] = readMigrations()): Promise<number[]> {
  const reserved = await sql.reserve();
  try {
    await reserved`SELECT pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      await reserved`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;
      const done = new Set((await reserved<{ version: number }[]>`SELECT version FROM schema_migrations`).map((row) => row.version));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await reserved`BEGIN`;
        try {
          await reserved.unsafe(migration.sql);
          await reserved`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
          await reserved`COMMIT`;
        } catch (error) {
          await reserved`ROLLBACK`;
          throw new Error(`migration ${migration.version}_${migration.name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await reserved`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    reserved.release();
  }
}
