// scripts/setup_homeserver.sh into a temporary base directory: --dry-run changes nothing, a real
// run makes the layout with its modes, a second run changes nothing and says so. Docker, Compose
// and Watchtower are a fake `docker` (DOCKER=...) so the checks' reports can be told.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../support/temp-dir.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const script = path.join(root, 'scripts/setup_homeserver.sh');

const FAKE_DOCKER = `#!/usr/bin/env bash
case "$1 $2" in
  "version --format") echo 27.3.1 ;;
  "compose version") [[ -n \${FAKE_NO_COMPOSE:-} ]] && exit 1; echo 2.29.7 ;;
  "ps --format") printf '%b' "\${FAKE_PS:-}" ;;
  "inspect -f") printf '%b' "\${FAKE_WATCHTOWER:-}" ;;
  *) echo "fake docker: unsupported: $*" >&2; exit 1 ;;
esac
`;

describe('setup_homeserver.sh', () => {
  const tmp = useTempDir('btcbot-homeserver-');
  let docker = '';
  let examples = '';

  beforeAll(() => {
    mkdirSync(tmp.path('bin'));
    docker = tmp.path('bin/docker');
    writeFileSync(docker, FAKE_DOCKER);
    chmodSync(docker, 0o755);
    examples = tmp.path('examples');
    mkdirSync(examples);
    writeFileSync(path.join(examples, '.env.stage.example'), 'ENVIRONMENT=stage\nPOSTGRES_USER=btcbot\nEXCHANGE_API_SECRET=\n');
    writeFileSync(path.join(examples, '.env.prod.example'), 'ENVIRONMENT=prod\nPOSTGRES_USER=btcbot\nEXCHANGE_API_SECRET=\n');
  });

  const run = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync('bash', [script, ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        DOCKER: docker,
        DOCKER_COMPOSE: tmp.path('bin/no-docker-compose'),
        EXAMPLES_DIR: examples,
        FAKE_PS: 'btcbot-prod ghcr.io/x/btcbot:latest\\nwatchtower containrrr/watchtower:latest\\n',
        FAKE_WATCHTOWER: '--label-enable\\n--interval\\n300\\nPATH=/usr/bin\\n',
        ...extra,
      },
    });
  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
  /** Every path under `dir` with its mode, for comparing before and after. */
  const tree = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .map((p) => `${p} ${mode(path.join(dir, p))}`)
          .sort()
      : [];

  it('with --dry-run prints each action and changes nothing', () => {
    const base = tmp.path('dry/opt/btcbot');
    const dry = run(['--dry-run', '--base', base]);
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(`would create ${base} (mode 755)`);
    expect(dry.stdout).toContain(`would create ${base}/secrets (mode 700)`);
    expect(dry.stdout).toContain(`would create ${base}/.env.prod from ${examples}/.env.prod.example (mode 600)`);
    expect(dry.stdout).toContain(`would install ${base}/scripts/backup_db.sh`);
    expect(dry.stdout).toMatch(/14 action\(s\) to take \(dry run: nothing was changed/);
    expect(existsSync(tmp.path('dry'))).toBe(false);
  });

  it('makes the layout with its modes, and a second run changes nothing and says so', () => {
    const base = tmp.path('real');
    const first = run([`--base=${base}`]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('14 change(s) made');
    for (const dir of ['logs/stage', 'logs/prod', 'backups/stage', 'backups/prod', 'backups/metrics', 'scripts']) {
      expect(statSync(path.join(base, dir)).isDirectory(), dir).toBe(true);
      expect(mode(path.join(base, dir)), dir).toBe('755');
    }
    expect(mode(path.join(base, 'secrets'))).toBe('700');
    expect(mode(path.join(base, '.env.stage'))).toBe('600');
    expect(mode(path.join(base, '.env.prod'))).toBe('600');
    expect(readFileSync(path.join(base, '.env.prod'), 'utf8')).toContain('ENVIRONMENT=prod');
    expect(mode(path.join(base, 'scripts/backup_db.sh'))).toBe('755');
    expect(readFileSync(path.join(base, 'scripts/restore_db.sh'), 'utf8')).toBe(readFileSync(path.join(root, 'scripts/restore_db.sh'), 'utf8'));

    const layout = tree(base);
    const second = run(['--base', base]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`nothing to change: ${base} is already set up`);
    expect(second.stdout).not.toMatch(/ did /);
    expect(tree(base)).toEqual(layout);
    expect(run(['--dry-run', '--base', base]).stdout).toContain('nothing to change');
  });

  it('never overwrites a filled-in env file, and puts wrong modes right', () => {
    const base = tmp.path('existing');
    expect(run(['--base', base]).status).toBe(0);
    writeFileSync(path.join(base, '.env.prod'), 'EXCHANGE_API_SECRET=the-real-one\n');
    chmodSync(path.join(base, '.env.prod'), 0o644);
    chmodSync(path.join(base, 'secrets'), 0o755);
    const again = run(['--base', base]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`did   chmod 600 ${base}/.env.prod (was 644)`);
    expect(again.stdout).toContain(`did   chmod 700 ${base}/secrets (was 755)`);
    expect(readFileSync(path.join(base, '.env.prod'), 'utf8')).toBe('EXCHANGE_API_SECRET=the-real-one\n');
    expect(mode(path.join(base, '.env.prod'))).toBe('600');
    expect(run(['--base', base]).stdout).toContain('nothing to change');
  });

  it('reports Docker, Compose and Watchtower', () => {
    const base = tmp.path('checks');
    const good = run(['--dry-run', '--base', base]);
    expect(good.stdout).toContain('OK    Docker engine 27.3.1');
    expect(good.stdout).toContain('OK    Compose v2 plugin 2.29.7');
    expect(good.stdout).toContain('OK    Watchtower is running (container watchtower)');
    expect(good.stdout).toContain('OK    Watchtower --label-enable');
    expect(good.stdout).toContain('OK    Watchtower polls every 300s');
    expect(good.stdout).not.toContain('WARN');

    const env = run(['--dry-run', '--base', base], { FAKE_WATCHTOWER: 'WATCHTOWER_LABEL_ENABLE=true\\nWATCHTOWER_POLL_INTERVAL=600\\n' });
    expect(env.stdout).toContain('OK    Watchtower --label-enable');
    expect(env.stdout).toContain('OK    Watchtower polls every 600s');

    const loose = run(['--dry-run', '--base', base], { FAKE_WATCHTOWER: 'PATH=/bin\\n', FAKE_NO_COMPOSE: '1' });
    expect(loose.stdout).toContain('WARN  no Compose');
    expect(loose.stdout).toContain('WARN  Watchtower runs without --label-enable');
    expect(loose.stdout).toContain('polls every 86400s (24 h) by default');

    const none = run(['--dry-run', '--base', base], { FAKE_PS: 'btcbot-prod ghcr.io/x/btcbot:latest\\n' });
    expect(none.stdout).toContain('WARN  no Watchtower container running');
    expect(none.status).toBe(0);

    const noDocker = run(['--dry-run', '--base', base], { DOCKER: tmp.path('bin/nothing-here') });
    expect(noDocker.stdout).toContain('WARN  docker not found');
    expect(noDocker.status).toBe(0);
  });

  it('warns when the env examples are missing, and rejects bad usage', () => {
    const missing = run(['--dry-run', '--base', tmp.path('noexamples')], { EXAMPLES_DIR: tmp.path('nowhere') });
    expect(missing.status).toBe(0);
    expect(missing.stdout).toContain(`WARN  no ${tmp.path('nowhere')}/.env.stage.example`);
    expect(run(['--bogus']).status).toBe(2);
    expect(run(['--base']).status).toBe(2);
  });
});
