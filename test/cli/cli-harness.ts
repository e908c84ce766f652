// Runs the built CLI (dist/cli/main.js) as a child process, building dist/ first when it is stale.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', HTTP_PORT: '0', ...env } });
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

// ---- long-running processes: `btcbot run`, `btcbot exchange-sim` ----------------------------------

/** One stderr line of a running CLI: a pino JSON line, or `{ msg: text, raw: true }` for any other. */
export interface LogLine {
  msg: string;
  level?: number;
  raw?: true;
  [key: string]: unknown;
}

/** A CLI child process whose output is collected as it comes. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** stderr, line by line, parsed. */
  readonly lines: LogLine[];
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  stdout(): string;
  /** Resolves when it exits: the code or signal, and ms from terminate() to the exit (0 when not terminated). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  running(): boolean;
  /** The first line (from index `from` on) that satisfies `predicate`; fails after `timeoutMs`, naming `what` and listing the lines. */
  waitFor(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** Sends SIGTERM (what Docker sends) and notes the time. */
  terminate(): void;
}

const children = new Set<ChildProcess>();

/** Starts the built CLI with `args`; NO_COLOR and `env` over this process's environment. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', HTTP_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: LogLine[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const part of parts) if (part.trim() !== '') lines.push(parseLine(part));
  });
  let signaledAt = 0;
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      children.delete(child);
      if (partial.trim() !== '') lines.push(parseLine(partial));
      partial = '';
      resolve({ code, signal, ms: signaledAt ? Date.now() - signaledAt : 0 });
    });
  });
  const waitFor = async (predicate: (line: LogLine) => boolean, what: string, timeoutMs = 20_000, from = 0): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.slice(from).find(predicate);
      if (line) return line;
      if (done || Date.now() > deadline) {
        const why = done ? 'the process exited first' : `not within ${timeoutMs} ms`;
        throw new Error(`no log line "${what}" (${why}); got:\n${lines.map(describeLine).join('\n')}`);
      }
      await sleep(25);
    }
  };
  return {
    child,
    lines,
    output: () => stdout + stderr,
    stdout: () => stdout,
    exited,
    running: () => !done,
    waitFor,
    terminate: () => {
      signaledAt = Date.now();
      child.kill('SIGTERM');
    },
  };
}

/** A log line for a failure message: its text, and for warnings and errors their fields (what went wrong). */
function describeLine(line: LogLine): string {
  if ((line.level ?? 0) < 40) return `  ${line.msg}`;
  const { msg, level: _level, time: _time, pid: _pid, hostname: _hostname, ...fields } = line;
  return `  ${msg} ${JSON.stringify(fields)}`;
}

function parseLine(text: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LogLine).msg === 'string') return parsed as LogLine;
  } catch {
    // not JSON: the CLI's own message (an error, a usage text)
  }
  return { msg: text, raw: true };
}

/** SIGKILLs every child spawnCli started that is still running, but `keep`, and waits for them (for afterEach). */
export async function killChildren(keep: readonly CliProcess[] = []): Promise<void> {
  const kept = new Set(keep.map((one) => one.child));
  const doomed = [...children].filter((child) => !kept.has(child));
  const waits = doomed.map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  for (const child of doomed) children.delete(child);
  await Promise.all(waits);
}

/** A running `btcbot exchange-sim`: its process, its base URL and port. */
export interface SimProcess {
  readonly process: CliProcess;
  readonly url: string;
  readonly port: number;
  /** GET a test endpoint (`/__sim/orders`, ...), as JSON. */
  get<T>(endpoint: string): Promise<T>;
  /** POST a test endpoint (`/__sim/step?target=P`, ...), as JSON. */
  post<T>(endpoint: string): Promise<T>;
}

/** Starts `btcbot exchange-sim` with `args` (add `--port 0` for a free port) and waits for the URL it prints. */
export async function startExchangeSim(args: string[], timeoutMs = 10_000): Promise<SimProcess> {
  const sim = spawnCli(['exchange-sim', ...args]);
  const deadline = Date.now() + timeoutMs;
  let match: RegExpExecArray | null;
  while ((match = / on (http:\/\/127\.0\.0\.1:(\d+))/.exec(sim.stdout())) === null) {
    if (!sim.running() || Date.now() > deadline) {
      throw new Error(`exchange-sim ${args.join(' ')} did not print its URL (${sim.running() ? `within ${timeoutMs} ms` : 'it exited'}):\n${sim.output()}`);
    }
    await sleep(20);
  }
  const url = match[1]!;
  const request = async <T>(method: string, endpoint: string): Promise<T> => {
    const response = await fetch(`${url}${endpoint}`, { method });
    if (!response.ok) throw new Error(`${method} ${endpoint}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    process: sim,
    url,
    port: Number(match[2]),
    get: (endpoint) => request('GET', endpoint),
    post: (endpoint) => request('POST', endpoint),
  };
}

/** `btcbot run` in live mode against the simulator at `simUrl`, with throwaway keys and nothing inherited from the caller's exchange settings. */
export function liveSimEnv(simUrl: string): NodeJS.ProcessEnv {
  return {
    TRADING_MODE: 'live',
    EXCHANGE_URL: simUrl,
    EXCHANGE_ID: '',
    EXCHANGE_API_KEY: `k-${randomBytes(6).toString('hex')}`,
    EXCHANGE_API_SECRET: `s-${randomBytes(6).toString('hex')}`,
    EXCHANGE_API_KEY_FILE: '',
    EXCHANGE_API_SECRET_FILE: '',
    CONFIRM_LIVE_TRADING: 'yes',
  };
}
