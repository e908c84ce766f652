// Every shell script of the project passes shellcheck: scripts/*.sh and the git hooks.
// Without shellcheck the test skips visibly; CI (which installs it, .ci/run) fails instead.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireTool, shellcheck, shellcheckSkipReason } from '../support/shell-tools.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const skip = requireTool(shellcheck !== undefined, shellcheckSkipReason);

const scripts = [
  ...readdirSync(path.join(root, 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => `scripts/${f}`),
  ...readdirSync(path.join(root, 'scripts/git-hooks')).filter((f) => !f.includes('.')).map((f) => `scripts/git-hooks/${f}`),
].sort();

describe.skipIf(skip !== undefined)('shellcheck', () => {
  it('has the scripts to check', () => {
    expect(scripts).toEqual(expect.arrayContaining(['scripts/backup_db.sh', 'scripts/restore_db.sh', 'scripts/git-hooks/pre-commit']));
  });

  it.each(scripts)('%s passes shellcheck', (script) => {
    const run = spawnSync(shellcheck!, ['--shell=bash', '--external-sources', '--format=gcc', script], { cwd: root, encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toBe('');
    expect(run.status).toBe(0);
  });
});
