// `btcbot run` end to end: paper mode on generated candles as a real process, stopped by SIGTERM
// (what Docker and Watchtower send), plus its configuration errors.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { btcbot, ensureBuilt, expectUserError, MAIN, ROOT } from './cli-harness.js';
import { checkMetrics, promtool } from '../support/promtool.js';
import { useTempDir } from '../support/temp-dir.js';

beforeAll(ensureBuilt);
const temp = useTempDir('btcbot-run-');
const config = temp.file;

const GRID = `
grids:
  - symbol: BTC/USDT
    lower: 95000
    upper: 105000
    levels: 40
    investment: 2000
`;

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

/** Starts `btcbot run`, collecting its JSON log lines; resolves when it exits. */
function startRun(file: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, 'run', '--config', file], { cwd: ROOT, env: { ...process.env, HTTP_PORT: '0', ...env } });
  const lines: LogLine[] = [];
  let buffer = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    // JSON log lines; a user error is one plain line ("btcbot run: ...").
    for (const part of parts) if (part.trim()) lines.push(part.startsWith('{') ? (JSON.parse(part) as LogLine) : { msg: part });
  });
  let signaledAt = 0;
  /** Exit code, and how long after SIGTERM the process took to exit (0 when it was not signaled). */
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    child.on('exit', (code) => resolve({ code, ms: signaledAt ? Date.now() - signaledAt : 0 }));
  });
  const waitFor = async (predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = lines.find(predicate);
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no such log line within ${timeoutMs} ms; got:\n${lines.map((l) => l.msg).join('\n')}`);
  };
  const terminate = (): void => {
    signaledAt = Date.now();
    child.kill('SIGTERM');
  };
  return { lines, exited, waitFor, terminate };
}

describe('btcbot run (paper mode)', () => {
  test('trades until SIGTERM, then logs each grid report and exits 0 within 8 s', async () => {
    const run = startRun(config('run.yaml', `mode: paper\nfeed: { speed: 500, candles: 1000000 }\n${GRID}`));
    await run.waitFor((line) => line.msg === 'btcbot running');
    await run.waitFor((line) => /order\(s\) filled/.test(line.msg));
    run.terminate();
    const { code, ms } = await run.exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(8_000);
    const report = run.lines.find((line) => line.msg === 'grid report') as (LogLine & { grid: string; report: { candles: number; fills: { buy: number; sell: number } } }) | undefined;
    expect(report?.grid).toBe('btcusdt');
    expect(report!.report.candles).toBeGreaterThan(0);
    expect(report!.report.fills.buy + report!.report.fills.sell).toBeGreaterThan(0);
  });

  test('serves /health (the grid ACTIVE, 200) and /metrics while it runs; a second signal exits at once', async () => {
    const run = startRun(config('health.yaml', `mode: paper\nfeed: { speed: 200, candles: 1000000 }\n${GRID}`), { ENVIRONMENT: 'stage', GIT_SHA: '', BUILD_SHA: '0c0ffee' });
    const serving = (await run.waitFor((line) => line.msg.startsWith('serving '))) as LogLine & { url: string };
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await run.waitFor((line) => line.msg === 'grid started on the paper exchange');
    const health = await fetch(`${serving.url}/health`);
    expect(health.status).toBe(200);
    // Paper mode has no store and no exchange: those components say so, and count as healthy.
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      version: `${version}+0c0ffee`,
      uptime_seconds: expect.any(Number),
      timestamp: expect.stringMatching(/Z$/),
      environment: 'stage',
      trading_mode: 'paper',
      components: { database: { status: 'disabled', latency_ms: null }, websocket: { status: 'disabled', connected: false }, exchange_api: { status: 'disabled', latency_ms: null } },
      problems: [],
      parts: { 'grid:btcusdt': { healthy: true, state: 'ACTIVE' } },
    });
    // The container healthcheck: `btcbot health` exits 0 while healthy, 1 with no bot to answer.
    const check = btcbot(['health', '--url', serving.url]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^healthy: grid:btcusdt ACTIVE\n$/);
    const nobody = btcbot(['health'], ROOT, { HTTP_PORT: String(Number(serving.url.split(':').at(-1)) + 1), HTTP_HOST: '0.0.0.0' });
    expect(nobody.status).toBe(1);
    expect(nobody.stdout).toMatch(/^unreachable: http:\/\/127\.0\.0\.1:\d+\/health: /);
    const metrics = await fetch(`${serving.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const exposition = await metrics.text();
    expect(exposition).toContain('btcbot_process_cpu_seconds_total');
    expect(exposition).toMatch(/^btcbot_nodejs_eventloop_lag_seconds \d/m);
    for (const name of ['btcbot_trades_total', 'btcbot_price_current', 'btcbot_positions_open', 'btcbot_pnl_total', 'btcbot_orders_pending', 'btcbot_api_latency_seconds']) {
      expect(exposition).toContain(`# TYPE ${name} `);
    }
    // Prometheus' own lint of the running bot's exposition: no warning (promtool from the Debian package prometheus).
    if (promtool !== undefined) expect(checkMetrics(exposition)).toEqual({ code: 0, problems: [] });
    // Two signals: the second does not wait for the first's shutdown.
    run.terminate();
    run.terminate();
    const { code, ms } = await run.exited;
    expect([0, 130]).toContain(code);
    expect(ms).toBeLessThan(2_000);
  });

  test('a port already in use is a clear error (exit 2)', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = startRun(config('taken.yaml', `feed: { speed: 10, candles: 300 }\n${GRID}`), { HTTP_PORT: String(port) });
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.lines.map((line) => line.msg).join('\n')).toContain(`cannot serve /health and /metrics: port ${port} on 127.0.0.1 is already in use (another btcbot?): set HTTP_PORT`);
    } finally {
      taken.close();
    }
  });

  test('a feed that ends stops the run by itself', async () => {
    const run = startRun(config('short.yaml', `feed: { speed: 10000, candles: 300 }\n${GRID}`));
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.lines.some((line) => line.msg === 'the price feed ended')).toBe(true);
    expect(run.lines.filter((line) => line.msg === 'grid report')).toHaveLength(1);
  });

  test('live mode without keys or without the confirmation, or a bad service key, is a clear error (exit 2)', () => {
    const file = config('paper.yaml', `feed: { speed: 10000, candles: 10 }\n${GRID}`);
    const noKeys = { TRADING_MODE: 'live', EXCHANGE_API_KEY: '', EXCHANGE_API_SECRET: '', EXCHANGE_API_KEY_FILE: '', EXCHANGE_API_SECRET_FILE: '' };
    expectUserError(btcbot(['run', '--config', file], ROOT, noKeys), 'live mode needs the account');
    const keys = { ...noKeys, EXCHANGE_API_KEY: 'key-4f1a', EXCHANGE_API_SECRET: 'secret-9b2c', CONFIRM_LIVE_TRADING: '' };
    const unconfirmed = btcbot(['run', '--config', file], ROOT, keys);
    expectUserError(unconfirmed, 'confirm it with CONFIRM_LIVE_TRADING=yes');
    expect(unconfirmed.stderr + unconfirmed.stdout).not.toMatch(/key-4f1a|secret-9b2c/);
    expectUserError(btcbot(['run', '--config', file], ROOT, { TRADING_MODE: 'demo', EXCHANGE_ID: 'nosuchexchange' }), 'unknown exchange id "nosuchexchange"');
    expectUserError(btcbot(['run', '--config', file], ROOT, { TRADING_MODE: 'moon' }), 'mode must be one of paper, demo, live (TRADING_MODE)');
    expectUserError(btcbot(['run', '--config', config('bad.yaml', `feed: { speed: 0 }\n${GRID}`)]), 'feed.speed must be > 0');
    expectUserError(btcbot(['run', '--config', config('typo.yaml', `mdoe: paper\n${GRID}`)]), 'mdoe');
  });
});

describe('btcbot migrate', () => {
  test('applies the migrations to the embedded database once; a bad DATABASE_URL is a clear error', () => {
    const env = { DATA_DIR: temp.path('migrate-data'), DATABASE_URL: '' };
    const first = btcbot(['migrate'], ROOT, env);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stderr.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'database ready', migrationsApplied: [1, 2] });
    const second = btcbot(['migrate'], ROOT, env);
    expect(JSON.parse(second.stderr.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'database ready', migrationsApplied: [] });
    expectUserError(btcbot(['migrate'], ROOT, { DATABASE_URL: 'mysql://root:hunter2@localhost/x' }), 'DATABASE_URL must start with postgres://');
  }, 60_000);
});

