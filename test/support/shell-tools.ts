// Tools the scripts' tests need (shellcheck; the Postgres client tools and a server for the
// backup/restore round trip). A user's clone without them skips those tests with a visible reason;
// CI (CI or REQUIRE_SHARED set) fails instead, as for promtool (test/support/promtool.ts).
import { spawnSync } from 'node:child_process';

const required = (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') || process.env.REQUIRE_SHARED === '1';

/** The path of `tool` on PATH, or undefined. */
export function which(tool: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/** Undefined when available; else the skip reason (printed), or a throw under CI. */
export function requireTool(available: boolean, reason: string): string | undefined {
  if (available) return undefined;
  if (required) throw new Error(`CI or REQUIRE_SHARED is set but ${reason}`);
  console.warn(`SKIP: ${reason}`);
  return reason;
}

export const shellcheck = which('shellcheck');
export const shellcheckSkipReason = 'shellcheck not found on PATH (Debian: apt-get install shellcheck): the lint of scripts/*.sh is skipped';

/** Where a local Postgres server is: TEST_DATABASE_URL's server when set, else 127.0.0.1:5432 as postgres (trust). */
export function localPostgres(): { host: string; port: string; user: string; password: string } {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port || '5432',
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
}

/** The libpq environment for the local server (PGHOST, PGPORT, PGUSER, PGPASSWORD). */
export function postgresEnv(): Record<string, string> {
  const pg = localPostgres();
  const env: Record<string, string> = { PGHOST: pg.host, PGPORT: pg.port, PGUSER: pg.user };
  if (pg.password !== '') env.PGPASSWORD = pg.password;
  return env;
}

function postgresReachable(): boolean {
  if (!which('psql') || !which('pg_dump') || !which('pg_restore')) return false;
  const probe = spawnSync('psql', ['-X', '-tAc', 'select 1', '-d', 'postgres'], {
    encoding: 'utf8',
    env: { ...process.env, ...postgresEnv() },
    timeout: 10_000,
  });
  return probe.status === 0 && probe.stdout.trim() === '1';
}

export const hasPostgres = postgresReachable();
export const postgresSkipReason = (() => {
  const pg = localPostgres();
  return `no Postgres server at ${pg.host}:${pg.port} as ${pg.user} (or psql/pg_dump/pg_restore missing): the backup/restore round trip is skipped`;
})();
