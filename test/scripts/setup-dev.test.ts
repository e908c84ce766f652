// scripts/setup_dev.sh: checks the Node and npm versions, runs npm ci and installs the git hooks;
// --dry-run runs nothing. npm (and, for the version checks, node) are fakes on PATH; the real run
// is in a temporary copy of the project's skeleton, never in this clone.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../support/temp-dir.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return { ...env, ...extra };
}

describe('setup_dev.sh', () => {
  const tmp = useTempDir('btcbot-setup-dev-');
  let project = '';
  let bin = '';

  const fake = (name: string, body: string) => {
    const file = path.join(bin, name);
    writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(file, 0o755);
  };

  beforeAll(() => {
    project = tmp.path('project');
    mkdirSync(path.join(project, 'scripts/git-hooks'), { recursive: true });
    for (const file of ['package.json', 'scripts/setup_dev.sh', 'scripts/install-hooks.mjs', 'scripts/git-hooks/pre-commit']) {
      copyFileSync(path.join(root, file), path.join(project, file));
    }
    spawnSync('git', ['init', '-q'], { cwd: project, env: cleanEnv({}) });
    bin = tmp.path('bin');
    mkdirSync(bin);
    fake('npm', 'if [[ $1 == --version ]]; then echo "${FAKE_NPM_VERSION:-10.9.2}"; else echo "npm $*" >>"$FAKE_LOG"; fi');
  });

  const run = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync('bash', [path.join(project, 'scripts/setup_dev.sh'), ...args], {
      encoding: 'utf8',
      env: cleanEnv({
        PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        FAKE_LOG: tmp.path('npm.log'),
        ...extra,
      }),
    });
  const hooksPath = () => spawnSync('git', ['config', '--get', 'core.hooksPath'], { cwd: project, encoding: 'utf8', env: cleanEnv({}) }).stdout.trim();

  it('with --dry-run checks the versions and prints what it would run, running nothing', () => {
    const dry = run(['--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/setup_dev: node \d+\.\d+\.\d+ \(needs >= 20\.19\)/);
    expect(dry.stdout).toContain('setup_dev: npm 10.9.2');
    expect(dry.stdout).toContain('would run: npm ci --no-audit --no-fund');
    expect(dry.stdout).toContain('would run: node scripts/install-hooks.mjs');
    expect(dry.stdout).toContain('next steps');
    expect(existsSync(tmp.path('npm.log'))).toBe(false);
    expect(hooksPath()).toBe('');
  });

  it('runs npm ci and installs the hooks', () => {
    const real = run([]);
    expect(real.stderr).toBe('');
    expect(real.status).toBe(0);
    expect(readFileSync(tmp.path('npm.log'), 'utf8')).toBe('npm ci --no-audit --no-fund\n');
    expect(real.stdout).toContain('install-hooks: git hooks installed');
    expect(hooksPath()).toBe('scripts/git-hooks');
  });

  it('refuses a Node or npm that is too old, with the reason', () => {
    fake('node', 'echo v18.20.4');
    try {
      const oldNode = run(['--dry-run']);
      expect(oldNode.status).toBe(1);
      expect(oldNode.stderr).toContain('node 18.20.4 is too old: btcbot needs 20.19 or newer');
    } finally {
      spawnSync('rm', ['-f', path.join(bin, 'node')]);
    }
    const oldNpm = run(['--dry-run'], { FAKE_NPM_VERSION: '6.14.18' });
    expect(oldNpm.status).toBe(1);
    expect(oldNpm.stderr).toContain('npm 6.14.18 is too old');
    expect(run(['--bogus']).status).toBe(2);
  });
});
