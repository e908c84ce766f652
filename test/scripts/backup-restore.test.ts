// scripts/backup_db.sh and scripts/restore_db.sh against a real Postgres 15, without a Docker
// engine: a fake `docker` (DOCKER=...) runs `docker exec <container> CMD...` as CMD on this machine,
// where libpq's PGHOST/PGPORT point at the local server. Each test file run gets a fresh database
// with the project's migrations. Backup -> change the books -> restore -> the counts and sums are
// the backed-up ones; plus retention, the .prom file, confirmation and failure paths.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMetrics, promtool } from '../support/promtool.js';
import { hasPostgres, postgresEnv, postgresSkipReason, requireTool } from '../support/shell-tools.js';
import { useTempDir } from '../support/temp-dir.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const backupScript = path.join(root, 'scripts/backup_db.sh');
const restoreScript = path.join(root, 'scripts/restore_db.sh');
const skip = requireTool(hasPostgres, postgresSkipReason);

const FAKE_DOCKER = `#!/usr/bin/env bash
# A stand-in for docker: logs each call; exec runs the command here (libpq env points at the server).
echo "$*" >>"$FAKE_DOCKER_LOG"
case "$1" in
  exec)
    shift
    while [[ $1 == -* ]]; do shift; done
    shift
    if [[ $1 == pg_dump && -n \${FAKE_DUMP_CUT:-} ]]; then
      # A dump cut short: its first FAKE_DUMP_CUT bytes, then exit FAKE_DUMP_EXIT.
      "$@" | head -c "$FAKE_DUMP_CUT"
      exit "\${FAKE_DUMP_EXIT:-0}"
    fi
    exec "$@"
    ;;
  inspect) echo "\${FAKE_BOT_RUNNING:-true}" ;;
  stop | start) echo "$2" ;;
  *) echo "fake docker: unsupported: $*" >&2; exit 1 ;;
esac
`;

describe.skipIf(skip !== undefined)('backup_db.sh / restore_db.sh on a real Postgres', () => {
  const tmp = useTempDir('btcbot-backup-');
  const db = `btcbot_backup_test_${process.pid}_${Date.now()}`;
  const pgEnv = postgresEnv();
  let backups = '';
  let log = '';

  const psql = (sql: string, database = db): string => {
    const run = spawnSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-tA', '-d', database, '-c', sql], {
      encoding: 'utf8',
      env: { ...process.env, ...pgEnv },
    });
    if (run.status !== 0) throw new Error(`psql failed: ${run.stderr}`);
    return run.stdout.trim();
  };

  const run = (script: string, args: string[], extra: Record<string, string> = {}, input = '') =>
    spawnSync('bash', [script, ...args], {
      encoding: 'utf8',
      input,
      cwd: tmp.dir,
      env: {
        ...process.env,
        ...pgEnv,
        DOCKER: path.join(tmp.dir, 'bin/docker'),
        FAKE_DOCKER_LOG: log,
        BACKUP_DIR: backups,
        ENV_FILE: path.join(tmp.dir, 'no-such.env'),
        PG_USER: pgEnv.PGUSER,
        PG_DB: db,
        ...extra,
      },
    });

  /** What the restore must bring back: row counts and sums over the books. */
  const books = () =>
    psql(`select json_build_object(
      'grids', (select count(*) from grids),
      'orders', (select count(*) from orders),
      'orderAmount', (select coalesce(sum(amount), 0)::text from orders),
      'orderFilled', (select coalesce(sum(filled), 0)::text from orders),
      'fills', (select count(*) from fills),
      'fillAmount', (select coalesce(sum(amount), 0)::text from fills),
      'fillCost', (select coalesce(sum(amount * price), 0)::text from fills),
      'states', (select string_agg(id || '=' || state, ',' order by id) from grids))`);

  const dumps = (env = 'stage') =>
    existsSync(path.join(backups, env)) ? readdirSync(path.join(backups, env)).sort() : [];

  beforeAll(() => {
    backups = tmp.path('backups');
    log = tmp.path('docker.log');
    mkdirSync(tmp.path('bin'));
    writeFileSync(tmp.path('bin/docker'), FAKE_DOCKER);
    chmodSync(tmp.path('bin/docker'), 0o755);
    writeFileSync(log, '');
    psql(`create database ${db}`, 'postgres');
    for (const file of readdirSync(path.join(root, 'db/migrations')).sort()) {
      const sql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', path.join(root, 'db/migrations', file)], {
        encoding: 'utf8',
        env: { ...process.env, ...pgEnv },
      });
      if (sql.status !== 0) throw new Error(`migration ${file}: ${sql.stderr}`);
    }
    psql(`
      insert into grids (id, symbol, config, state) values
        ('g1', 'BTC/USDT', '{"levels": 10}', 'running'), ('g2', 'ETH/USDT', '{"levels": 4}', 'stopped');
      insert into orders (client_order_id, grid_id, symbol, side, type, level, price, amount, filled, status)
        select 'o' || n, case when n % 2 = 0 then 'g1' else 'g2' end, 'BTC/USDT',
               case when n % 3 = 0 then 'sell' else 'buy' end, 'limit', n % 10,
               60000 + n * 12.5, 0.001 * n, case when n % 4 = 0 then 0.001 * n else 0 end,
               case when n % 4 = 0 then 'filled' else 'open' end
        from generate_series(1, 200) n;
      insert into fills (symbol, trade_id, client_order_id, exchange_order_id, side, price, amount, fee, taker_or_maker, executed_at)
        select 'BTC/USDT', 't' || n, 'o' || n, 'x' || n, 'buy', 60000 + n * 12.5, 0.001 * n, 0.0000001 * n, 'maker', 1700000000000 + n
        from generate_series(4, 200, 4) n;`);
  });

  afterAll(() => {
    if (skip === undefined) psql(`drop database if exists ${db} with (force)`, 'postgres');
  });

  it('backs up, and a restore after the books changed brings back the backed-up rows, stopping the bot meanwhile', () => {
    const before = books();
    const backup = run(backupScript, ['stage']);
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    const files = dumps();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^btcbot-stage-\d{8}T\d{6}Z\.dump$/);
    expect((statSync(path.join(backups, 'stage', files[0]!)).mode & 0o777).toString(8)).toBe('600');

    psql(`delete from fills where trade_id in ('t4', 't8');
          update orders set amount = amount * 3, status = 'canceled' where level = 3;
          delete from orders where client_order_id = 'o1';
          insert into grids (id, symbol, config) values ('g3', 'SOL/USDT', '{}');
          update grids set state = 'error' where id = 'g1';`);
    expect(books()).not.toBe(before);

    writeFileSync(log, '');
    const restore = run(restoreScript, ['--yes', 'stage', path.join(backups, 'stage', files[0]!)]);
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);
    expect(books()).toBe(before);

    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const stop = calls.indexOf('stop btcbot-stage');
    const restoreCall = calls.findIndex((c) => c.includes('pg_restore --clean --if-exists'));
    const start = calls.indexOf('start btcbot-stage');
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(restoreCall).toBeGreaterThan(stop);
    expect(start).toBeGreaterThan(restoreCall);
    expect(calls[restoreCall]).toContain('btcbot-postgres-stage');
  });

  it('writes the alert\'s textfile: the success time for the environment, atomically', () => {
    const started = Math.floor(Date.now() / 1000);
    const backup = run(backupScript, ['prod']);
    expect(backup.status).toBe(0);
    const metrics = readdirSync(path.join(backups, 'metrics'));
    expect(metrics).toContain('backup-prod.prom');
    expect(metrics.filter((f) => f !== 'backup-prod.prom' && f !== 'backup-stage.prom')).toEqual([]);
    const text = readFileSync(path.join(backups, 'metrics/backup-prod.prom'), 'utf8');
    const match = /^btcbot_backup_last_success_timestamp_seconds\{environment="prod"\} (\d+)$/m.exec(text);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(started);
    expect(Number(match![1])).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(text).toContain('# TYPE btcbot_backup_last_success_timestamp_seconds gauge');
    if (promtool !== undefined) expect(checkMetrics(text)).toEqual({ code: 0, problems: [] });
    // The container name comes from the environment, and can be overridden.
    expect(readFileSync(log, 'utf8')).toContain('exec btcbot-postgres-prod pg_dump -Fc');
    // POSTGRES_USER / POSTGRES_DB come from the env file when PG_USER / PG_DB are not set.
    const envFile = tmp.file('.env.prod', `# prod\nPOSTGRES_USER="${pgEnv.PGUSER}"\nPOSTGRES_DB=${db}\nEXCHANGE_ID=binance\n`);
    const custom = run(backupScript, ['prod'], { PG_CONTAINER: 'my-pg', BACKUP_DIR: tmp.path('custom'), ENV_FILE: envFile, PG_USER: '', PG_DB: '' });
    expect(custom.stderr).toBe('');
    expect(custom.status).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain(`exec my-pg pg_dump -Fc -U ${pgEnv.PGUSER} -d ${db}`);
  });

  it('keeps the newest 30 dumps of the environment and leaves the other environment alone', () => {
    mkdirSync(path.join(backups, 'stage'), { recursive: true });
    const old = Array.from({ length: 32 }, (_, i) => `btcbot-stage-20200101T0000${String(i).padStart(2, '0')}Z.dump`);
    for (const name of old) writeFileSync(path.join(backups, 'stage', name), 'old');
    const prodBefore = dumps('prod');
    const existing = dumps('stage').filter((f) => !old.includes(f));
    const backup = run(backupScript, ['stage']);
    expect(backup.status).toBe(0);
    const after = dumps('stage');
    expect(after).toHaveLength(30);
    // The newest: every real dump (the one just written included) and the 2020 ones after the cut.
    const expected = [...old, ...existing, after.at(-1)!].sort().slice(-30);
    expect(after).toEqual(expected);
    expect(after.filter((f) => !old.includes(f)).length).toBe(existing.length + 1);
    expect(dumps('prod')).toEqual(prodBefore);
  });

  it('fails with a clear message and leaves no file when pg_dump fails', () => {
    const prom = path.join(backups, 'metrics/backup-stage.prom');
    const promBefore = readFileSync(prom, 'utf8');
    const before = dumps();
    const failed = run(backupScript, ['stage'], { PG_DB: `${db}_missing` });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/backup_db: ERROR: pg_dump in container btcbot-postgres-stage failed/);
    expect(dumps()).toEqual(before);
    expect(readdirSync(path.join(backups, 'stage')).some((f) => f.startsWith('.'))).toBe(false);
    expect(readFileSync(prom, 'utf8')).toBe(promBefore);
  });

  it('leaves no file when the dump is cut short, whether or not pg_dump says so', () => {
    const before = dumps();
    const size = statSync(path.join(backups, 'stage', before.at(-1)!)).size;
    for (const [cut, exit] of [['100', '1'], ['100', '0'], [String(Math.floor(size * 0.8)), '0']] as const) {
      const failed = run(backupScript, ['stage'], { FAKE_DUMP_CUT: cut, FAKE_DUMP_EXIT: exit });
      expect(failed.status, `${cut} bytes, exit ${exit}`).toBe(1);
      expect(failed.stderr).toMatch(exit === '1' ? /pg_dump in container .* failed/ : /the dump does not read back/);
      expect(readdirSync(path.join(backups, 'stage')).sort()).toEqual(before);
    }
  });

  it('rejects bad usage', () => {
    expect(run(backupScript, []).status).toBe(2);
    expect(run(backupScript, ['dev']).status).toBe(2);
    expect(run(restoreScript, ['stage']).status).toBe(2);
    expect(run(restoreScript, ['qa', 'x.dump']).status).toBe(2);
  });

  it('asks for the environment name before a restore, and changes nothing unless it is typed', () => {
    const file = path.join(backups, 'stage', dumps().at(-1)!);
    psql(`update grids set state = 'paused' where id = 'g2'`);
    const changed = books();
    writeFileSync(log, '');
    const refused = run(restoreScript, ['stage', file], {}, 'prod\n');
    expect(refused.status).toBe(3);
    expect(refused.stdout).toContain('Type the environment name (stage)');
    expect(refused.stderr).toContain('not confirmed; nothing was changed');
    expect(readFileSync(log, 'utf8')).toBe('');
    expect(books()).toBe(changed);

    const confirmed = run(restoreScript, ['stage', file], {}, 'stage\n');
    expect(confirmed.status).toBe(0);
    expect(books()).not.toBe(changed);
    expect(psql(`select state from grids where id = 'g2'`)).toBe('stopped');
  });

  it('does not stop the bot for a file that is not a dump, and does not start a bot that was not running', () => {
    const junk = tmp.file('junk.dump', 'not a dump');
    writeFileSync(log, '');
    const bad = run(restoreScript, ['--yes', 'stage', junk]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('does not read as a pg_dump custom-format archive');
    expect(readFileSync(log, 'utf8')).not.toMatch(/^stop /m);

    // A copy cut short: its table of contents reads, its data does not.
    const whole = readFileSync(path.join(backups, 'stage', dumps().at(-1)!));
    const cut = tmp.path('cut.dump');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    writeFileSync(log, '');
    const truncated = run(restoreScript, ['--yes', 'stage', cut]);
    expect(truncated.status).toBe(1);
    expect(readFileSync(log, 'utf8')).not.toMatch(/^stop /m);

    const missing = run(restoreScript, ['--yes', 'stage', tmp.path('nope.dump')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no readable backup file");

    // pg_restore itself fails (here: no such database): the bot stays stopped, and the message says how to start it.
    writeFileSync(log, '');
    const file = path.join(backups, 'stage', dumps().at(-1)!);
    const failed = run(restoreScript, ['--yes', 'stage', file], { PG_DB: `${db}_missing` });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('pg_restore failed; nothing of it was kept (one transaction); btcbot-stage is left stopped');
    expect(readFileSync(log, 'utf8')).toMatch(/^stop btcbot-stage$/m);
    expect(readFileSync(log, 'utf8')).not.toMatch(/^start /m);

    writeFileSync(log, '');
    const stopped = run(restoreScript, ['--yes', 'stage', file], { FAKE_BOT_RUNNING: 'false' });
    expect(stopped.status).toBe(0);
    expect(readFileSync(log, 'utf8')).not.toMatch(/^(stop|start) /m);
  });
});
