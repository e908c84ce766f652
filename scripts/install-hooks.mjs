#!/usr/bin/env node
// Installs btcbot's git hooks (scripts/git-hooks) by pointing git's core.hooksPath at them; run by
// `npm install` / `npm ci` (package.json "prepare") and by scripts/setup_dev.sh.
//
// Never fails an install: outside a git work tree (an npm tarball, a Docker build without .git),
// without git, or when this package is not the work tree's root (installed inside another project),
// it says why and does nothing. A core.hooksPath the developer set to something else is left alone.
// BTCBOT_SKIP_HOOKS=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOOKS_PATH = 'scripts/git-hooks';

function git(root, args) {
  const run = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return { ok: !run.error && run.status === 0, out: (run.stdout ?? '').trim() };
}

function install() {
  const root = realpathSync(path.resolve(fileURLToPath(new URL('..', import.meta.url))));
  if (process.env.BTCBOT_SKIP_HOOKS === '1') return 'BTCBOT_SKIP_HOOKS=1: git hooks not installed';
  if (!existsSync(path.join(root, HOOKS_PATH, 'pre-commit'))) return `no ${HOOKS_PATH}/pre-commit here: git hooks not installed`;
  const inside = git(root, ['rev-parse', '--is-inside-work-tree']);
  if (!inside.ok || inside.out !== 'true') return 'not a git work tree (or no git): git hooks not installed';
  const top = git(root, ['rev-parse', '--show-toplevel']);
  if (!top.ok || realpathSync(top.out) !== root) return `the git work tree's root is ${top.out}, not this package: git hooks not installed`;
  const current = git(root, ['config', '--get', 'core.hooksPath']);
  if (current.ok && current.out === HOOKS_PATH) return `git hooks already installed (core.hooksPath=${HOOKS_PATH})`;
  if (current.ok && current.out !== '') {
    return `core.hooksPath is already set to ${current.out}: left alone (to use btcbot's hooks: git config core.hooksPath ${HOOKS_PATH})`;
  }
  const set = git(root, ['config', 'core.hooksPath', HOOKS_PATH]);
  if (!set.ok) return 'git config core.hooksPath failed: git hooks not installed';
  return `git hooks installed (core.hooksPath=${HOOKS_PATH}: pre-commit runs the secret scan, whitespace check and eslint)`;
}

try {
  console.log(`install-hooks: ${install()}`);
} catch (error) {
  console.log(`install-hooks: skipped (${error instanceof Error ? error.message : String(error)})`);
}
