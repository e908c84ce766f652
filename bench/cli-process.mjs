// The built CLI as a child process, for the benchmarks that run a real bot (and the simulator):
// its stderr collected as parsed JSON log lines, a wait for a line, its stdout kept.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const main = path.join(root, 'dist/cli/main.js');
/** Node 24 (this process's) first on PATH for the CLI's shebang; port 0 for /health and /metrics. */
const childEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1', HTTP_PORT: '0' };

/** Starts `btcbot args`; its stderr is collected as parsed JSON log lines (others as `{ msg }`). */
export function startCli(args, env = {}) {
  const spawnedAt = Date.now();
  const child = spawn(main, args, { env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let stdout = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop();
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part));
      } catch {
        lines.push({ msg: part });
      }
    }
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const waitFor = async (prefix, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find((one) => one.msg.startsWith(prefix));
      if (line) return line;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${prefix}" within ${timeoutMs} ms; got:\n${lines.map((one) => one.msg).join('\n')}`);
      await sleep(10);
    }
  };
  return { child, lines, spawnedAt, exited, waitFor, stdout: () => stdout };
}
