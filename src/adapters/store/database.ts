// The database connection: postgres.js is the only client, whether the server is a real Postgres
// (DATABASE_URL) or the embedded default: PGlite in-process, served on a loopback socket by
// pglite-socket, its data in a directory (default ./data). The same SQL runs both ways.
//
// PGlite is one connection: postgres.js gets `max: 1` against it, else a second connection would
// wait for ever. Opening a new data directory runs initdb (~4.5 s); reopening one takes ~0.35 s.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Sql } from 'postgres';
import { ConfigError } from '../../config/config-error.js';

export interface Database {
  readonly sql: Sql;
  /** Where the data is, for logs: the server's host/database (no password) or the data directory. */
  readonly description: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without it the embedded PGlite is used. */
  readonly url?: string;
  /** The embedded database's directory (default ./data). */
  readonly dataDir?: string;
  /** Server parameters for every connection, e.g. { search_path: 'test_1' } in tests. */
  readonly connection?: Record<string, string>;
}

/** The URL without its password, for logs. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unreadable DATABASE_URL';
  }
}

/** The embedded database's files, inside the data directory (which may be a volume's mount point). */
const PGLITE_DIR = 'pglite';

/**
 * The PGlite directory inside `dataDir`, made atomically: initdb runs in a scratch directory that
 * is renamed into place only once complete. A process killed during initdb (the kill test did it)
 * otherwise leaves a half-made directory that PGlite can never open again; here the next start
 * throws the scratch away and begins anew.
 */
async function initializedPgliteDir(dataDir: string, PGlite: { create(dir: string): Promise<{ close(): Promise<void> }> }): Promise<string> {
  const target = path.join(dataDir, PGLITE_DIR);
  if (existsSync(target)) return target;
  mkdirSync(dataDir, { recursive: true });
  const scratch = path.join(dataDir, `${PGLITE_DIR}.initdb`);
  rmSync(scratch, { recursive: true, force: true });
  const fresh = await PGlite.create(scratch);
  await fresh.close();
  renameSync(scratch, target);
  return target;
}

/**
 * Seconds before postgres.js connects again after a failed connection: 0.1 s doubling to 1 s, with
 * jitter. Its default grows to 10..20 s over an outage of half a minute (the count of failures is
 * shared by the pool), so queries queued meanwhile (an order's ack, a fill) would wait that long
 * after the database is back. A reconnect a second to a database that is down costs nothing.
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.1 * 2 ** failures, 1) * (0.5 + Math.random() / 2);
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const quiet = { onnotice: () => undefined, backoff: reconnectDelaySeconds, ...(options.connection ? { connection: options.connection } : {}) };
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new ConfigError('DATABASE_URL is not a URL: expected postgres://user:password@host:5432/database');
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new ConfigError(`DATABASE_URL must start with postgres://, not ${parsed.protocol}//`);
    }
    const sql = postgres(options.url, { ...quiet, max: 5, connect_timeout: 10 });
    return { sql, description: describeUrl(options.url), embedded: false, close: () => sql.end({ timeout: 5 }) };
  }
  const dataDir = options.dataDir ?? './data';
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(await initializedPgliteDir(dataDir, PGlite));
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  const sql = postgres({ ...quiet, host: host!, port: Number(port), username: 'postgres', database: 'postgres', max: 1 });
  return {
    sql,
    description: `embedded PGlite in ${path.join(dataDir, PGLITE_DIR)}`,
    embedded: true,
    close: async () => {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
    },
  };
}
