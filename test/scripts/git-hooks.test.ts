// The pre-commit hook (scripts/git-hooks/pre-commit), its secret scan (scripts/secret-scan.mjs)
// and the hook installer run by npm's prepare (scripts/install-hooks.mjs). The sample secrets are
// assembled at run time so this file itself passes the scan.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../support/temp-dir.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const scanner = path.join(root, 'scripts/secret-scan.mjs');

// Made-up secrets, built so no line here matches.
const telegramToken = `${'1234567890'}:${'AAH'}${'x9'.repeat(16)}`;
const privateKeyHeader = `-----BEGIN ${'OPENSSH'} PRIVATE KEY-----`;
const rsaKeyHeader = `-----BEGIN ${'RSA'} PRIVATE KEY-----`;
const awsKeyId = `${'AKIA'}${'IOSFODNN7EXAMPLE'}`;
const awsSecret = `${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY'}${'EXAMPLEKEY'}`;
const exchangeSecret = `${'Zk3pQ9vL0s'}${'df8923jkdfs9023jKq'}`;

/** Git without whatever GIT_* a surrounding hook or worktree set. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', HOME: process.env.HOME ?? '/tmp', ...extra };
}

function scan(diff: string, allowFile?: string) {
  const args = [scanner, ...(allowFile ? ['--allow-file', allowFile] : [])];
  const run = spawnSync(process.execPath, args, { input: diff, encoding: 'utf8' });
  return { code: run.status, findings: run.stderr.split('\n').filter((l) => /^secret-scan: .*:\d+: /.test(l)) };
}

/** A unified diff adding `lines` to `file` from line `start`. */
function diffAdding(file: string, lines: string[], start = 1): string {
  return [
    `diff --git a/${file} b/${file}`,
    'index 0000000..1111111 100644',
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -${start - 1},0 +${start},${lines.length} @@`,
    ...lines.map((l) => `+${l}`),
    '',
  ].join('\n');
}

describe('secret scan of a staged diff', () => {
  const tmp = useTempDir('btcbot-scan-');

  it('finds each kind of secret on the line it was added', () => {
    const cases: Array<[string, string]> = [
      [privateKeyHeader, 'private key'],
      [rsaKeyHeader, 'private key'],
      [`EXCHANGE_API_SECRET=${exchangeSecret}`, 'exchange API secret or key value'],
      [`export EXCHANGE_API_KEY="${exchangeSecret}"`, 'exchange API secret or key value'],
      [`      EXCHANGE_API_SECRET: '${exchangeSecret}'`, 'exchange API secret or key value'],
      [`aws_access_key_id = ${awsKeyId}`, 'AWS access key id'],
      [`aws_secret_access_key = ${awsSecret}`, 'AWS secret access key'],
      [`TELEGRAM_BOT_TOKEN=${telegramToken}`, 'Telegram bot token'],
      [`const url = 'https://api.telegram.org/bot${telegramToken}/sendMessage';`, 'Telegram bot token'],
    ];
    for (const [line, what] of cases) {
      const result = scan(diffAdding('config/.env.prod', ['# prod', line], 10));
      expect(result.code, line).toBe(1);
      expect(result.findings, line).toEqual([`secret-scan: config/.env.prod:11: ${what}`]);
    }
  });

  it('lets placeholders, references and short test values through', () => {
    const clean = [
      'EXCHANGE_API_SECRET=',
      'EXCHANGE_API_SECRET=changeme',
      'EXCHANGE_API_KEY=<your exchange API key>',
      'EXCHANGE_API_SECRET=${EXCHANGE_API_SECRET}',
      'EXCHANGE_API_SECRET_FILE=/run/secrets/exchange_api_secret',
      "const keys = { EXCHANGE_API_KEY: 'key-4f1a', EXCHANGE_API_SECRET: 'secret-9b2c' };",
      "EXCHANGE_API_KEY: `k-${randomBytes(6).toString('hex')}`,",
      'TELEGRAM_BOT_TOKEN=123456:replace-me',
      '# -----BEGIN PUBLIC KEY-----',
      'const price = 12345:0;',
    ];
    expect(scan(diffAdding('.env.stage.example', clean))).toEqual({ code: 0, findings: [] });
  });

  it('looks only at added lines, and counts lines through context and removals', () => {
    const diff = [
      'diff --git a/a.env b/a.env',
      '--- a/a.env',
      '+++ b/a.env',
      '@@ -5,3 +5,3 @@',
      ` context ${'x'}`,
      `-TELEGRAM_BOT_TOKEN=${telegramToken}`,
      '+TELEGRAM_BOT_TOKEN=',
      ' more context',
      '@@ -20,0 +20,2 @@',
      '+fine',
      `+BOT=${telegramToken}`,
      'diff --git a/gone.txt b/gone.txt',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      `-${privateKeyHeader}`,
      '',
    ].join('\n');
    expect(scan(diff)).toEqual({ code: 1, findings: ['secret-scan: a.env:21: Telegram bot token'] });
  });

  it('allows test fixtures by the allow-list and single lines by a marker', () => {
    const allow = tmp.file('allow', '# fixtures\ntest/fixtures/**\n*.fixture.json\n');
    const fixture = diffAdding('test/fixtures/telegram/update.json', [`{"token": "${telegramToken}"}`]);
    const named = diffAdding('test/unit/deep/bot.fixture.json', [`"${telegramToken}"`]);
    const marked = diffAdding('test/unit/notify.test.ts', [`const token = '${telegramToken}'; // secret-scan: allow`]);
    const elsewhere = diffAdding('src/notify/token.ts', [`const token = '${telegramToken}';`]);
    expect(scan(fixture, allow).code).toBe(0);
    expect(scan(named, allow).code).toBe(0);
    expect(scan(marked, allow).code).toBe(0);
    expect(scan(elsewhere, allow)).toEqual({ code: 1, findings: ['secret-scan: src/notify/token.ts:1: Telegram bot token'] });
    // Without the allow-list the fixture is caught too.
    expect(scan(fixture, tmp.path('no-such-allow-file')).code).toBe(1);
  });

  const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root, encoding: 'utf8' }).stdout.trim() === 'true';
  if (!inGit) console.warn('SKIP: not a git clone: the scan of the whole project is skipped');
  it.skipIf(!inGit)('passes every file of the project as it stands (no false alarm on its own test values)', () => {
    const emptyTree = spawnSync('git', ['hash-object', '-t', 'tree', '/dev/null'], { cwd: root, encoding: 'utf8' }).stdout.trim();
    const all = spawnSync('git', ['diff', '--no-color', '-U0', emptyTree, 'HEAD'], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect(all.status).toBe(0);
    expect(scan(all.stdout)).toEqual({ code: 0, findings: [] });
  });
});

describe('the pre-commit hook in a repository', () => {
  const tmp = useTempDir('btcbot-hook-');

  const git = (repo: string, ...args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: cleanEnv() });

  function newRepo(name: string): string {
    const repo = tmp.path(name);
    mkdirSync(path.join(repo, 'scripts/git-hooks'), { recursive: true });
    for (const file of ['scripts/secret-scan.mjs', 'scripts/git-hooks/pre-commit', '.secret-scan-allow', 'eslint.config.js']) {
      copyFileSync(path.join(root, file), path.join(repo, file));
    }
    chmodSync(path.join(repo, 'scripts/git-hooks/pre-commit'), 0o755);
    symlinkSync(path.join(root, 'node_modules'), path.join(repo, 'node_modules'));
    writeFileSync(path.join(repo, '.gitignore'), 'node_modules\n');
    for (const args of [['init', '-q', '-b', 'main'], ['config', 'user.email', 't@example.com'], ['config', 'user.name', 'T'], ['add', '.']]) {
      expect(git(repo, ...args).status).toBe(0);
    }
    expect(git(repo, 'commit', '-q', '-m', 'base').status).toBe(0);
    expect(git(repo, 'config', 'core.hooksPath', 'scripts/git-hooks').status).toBe(0);
    return repo;
  }

  it('refuses a commit that adds a secret and takes it once the secret is gone or allowed', () => {
    const repo = newRepo('secrets');
    writeFileSync(path.join(repo, '.env.prod'), `EXCHANGE_ID=binance\nTELEGRAM_BOT_TOKEN=${telegramToken}\n`);
    git(repo, 'add', '-f', '.env.prod');
    const refused = git(repo, 'commit', '-m', 'env');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('secret-scan: .env.prod:2: Telegram bot token');
    expect(refused.stderr).toContain('pre-commit: commit refused');

    writeFileSync(path.join(repo, '.env.prod'), 'EXCHANGE_ID=binance\nTELEGRAM_BOT_TOKEN=\n');
    git(repo, 'add', '-f', '.env.prod');
    expect(git(repo, 'commit', '-q', '-m', 'env').status).toBe(0);

    mkdirSync(path.join(repo, 'test/fixtures'), { recursive: true });
    writeFileSync(path.join(repo, 'test/fixtures/key.pem'), `${privateKeyHeader}\nnot really\n`);
    git(repo, 'add', 'test/fixtures/key.pem');
    expect(git(repo, 'commit', '-q', '-m', 'fixture').status).toBe(0);
  });

  it('refuses whitespace errors and eslint problems in the staged files', () => {
    const repo = newRepo('lint');
    writeFileSync(path.join(repo, 'notes.md'), 'trailing   \n');
    git(repo, 'add', 'notes.md');
    const whitespace = git(repo, 'commit', '-m', 'notes');
    expect(whitespace.status).not.toBe(0);
    expect(whitespace.stderr).toContain('trailing whitespace');
    git(repo, 'rm', '-q', '--cached', 'notes.md');

    writeFileSync(path.join(repo, 'bad.ts'), 'const unused = 1;\nexport const x: number = 2;\n');
    git(repo, 'add', 'bad.ts');
    const lint = git(repo, 'commit', '-m', 'bad');
    expect(lint.status).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toContain("'unused' is assigned a value but never used");

    writeFileSync(path.join(repo, 'bad.ts'), 'export const x: number = 2;\n');
    git(repo, 'add', 'bad.ts');
    const good = git(repo, 'commit', '-q', '-m', 'good');
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
  });
});

describe('install-hooks.mjs (npm prepare)', () => {
  const tmp = useTempDir('btcbot-install-');

  function packageAt(dir: string): string {
    mkdirSync(path.join(dir, 'scripts/git-hooks'), { recursive: true });
    copyFileSync(path.join(root, 'scripts/install-hooks.mjs'), path.join(dir, 'scripts/install-hooks.mjs'));
    copyFileSync(path.join(root, 'scripts/git-hooks/pre-commit'), path.join(dir, 'scripts/git-hooks/pre-commit'));
    return dir;
  }
  const install = (dir: string, extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(dir, 'scripts/install-hooks.mjs')], { cwd: dir, encoding: 'utf8', env: cleanEnv(extra) });
  const hooksPath = (dir: string) =>
    spawnSync('git', ['config', '--get', 'core.hooksPath'], { cwd: dir, encoding: 'utf8', env: cleanEnv() }).stdout.trim();

  it('does nothing, and does not fail, outside a git work tree (a tarball, a Docker build)', () => {
    const dir = packageAt(tmp.path('tarball'));
    const run = install(dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('not a git work tree');
  });

  it('sets core.hooksPath in its own work tree, once, and leaves another setting alone', () => {
    const dir = packageAt(tmp.path('clone'));
    spawnSync('git', ['init', '-q'], { cwd: dir, env: cleanEnv() });
    const first = install(dir);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('git hooks installed');
    expect(hooksPath(dir)).toBe('scripts/git-hooks');
    expect(install(dir).stdout).toContain('already installed');

    spawnSync('git', ['config', 'core.hooksPath', '.husky'], { cwd: dir, env: cleanEnv() });
    const other = install(dir);
    expect(other.status).toBe(0);
    expect(other.stdout).toContain('left alone');
    expect(hooksPath(dir)).toBe('.husky');
  });

  it('leaves a surrounding project alone and honours BTCBOT_SKIP_HOOKS', () => {
    const outer = tmp.path('outer');
    mkdirSync(outer);
    spawnSync('git', ['init', '-q'], { cwd: outer, env: cleanEnv() });
    const dir = packageAt(path.join(outer, 'vendor/btcbot'));
    const nested = install(dir);
    expect(nested.status).toBe(0);
    expect(nested.stdout).toContain('not this package');
    expect(hooksPath(outer)).toBe('');

    const clone = packageAt(tmp.path('skip'));
    spawnSync('git', ['init', '-q'], { cwd: clone, env: cleanEnv() });
    expect(install(clone, { BTCBOT_SKIP_HOOKS: '1' }).stdout).toContain('BTCBOT_SKIP_HOOKS=1');
    expect(hooksPath(clone)).toBe('');
  });
});
