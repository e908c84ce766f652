// Runs the built CLI (dist/cli/main.js) as a child process, building dist/ first when it is stale.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN = path.join(ROOT, 'dist/cli/main.js');
export const EXAMPLE = path.join(ROOT, 'examples/grid.yaml');

/** Newest modification time of the files under `dir` (0 when there is none). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/ with tsc when it is missing or older than src/ (tsc rewrites every output). */
export function ensureBuilt(): void {
  const config = path.join(ROOT, 'tsconfig.build.json');
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= Math.max(newestMtime(path.join(ROOT, 'src')), statSync(config).mtimeMs)) return;
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', config], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`building dist/ with tsc failed (the CLI tests run the built CLI):\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function btcbot(args: string[], cwd = ROOT, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A user error: exit code 2, nothing on stdout, the message on stderr, no stack trace. */
export function expectUserError(run: Run, ...messages: (string | RegExp)[]): void {
  expect(run.status, `stderr: ${run.stderr}`).toBe(2);
  expect(run.stdout).toBe('');
  for (const message of messages) {
    if (typeof message === 'string') expect(run.stderr).toContain(message);
    else expect(run.stderr).toMatch(message);
  }
  expectNoStackTrace(run.stderr);
}

export function expectNoStackTrace(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+(:\d+:\d+\)?|\(node:)/m);
  expect(stderr).not.toContain('unexpected failure');
  expect(stderr).not.toMatch(/\b(Error|TypeError|RangeError): /);
}

