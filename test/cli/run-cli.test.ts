// `btcbot run` end to end: paper mode on generated candles as a real process, stopped by SIGTERM
// (what Docker and Watchtower send), plus its configuration errors.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { btcbot, ensureBuilt, expectUserError, MAIN, ROOT } from './cli-harness.js';
import { checkMetrics, promtool } from '../support/promtool.js';
import { useTempDir } from '../support/temp-dir.js';
import { startReceiver } from '../adapters/notify/receiver.js';

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
/** Every run still going at the end of a test is killed: a failed test must not leave a bot behind. */
const running = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

function startRun(file: string, env: NodeJS.ProcessEnv = {}) {
  // Each run has its own database (the paper account and the grid's books), beside its config file.
  const child = spawn(process.execPath, [MAIN, 'run', '--config', file], { cwd: ROOT, env: { ...process.env, HTTP_PORT: '0', DATA_DIR: `${file}.data`, ...env } });
  running.add(child);
  child.on('exit', () => running.delete(child));
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
  return { lines, exited, waitFor, terminate, pid: child.pid! };
}

describe('btcbot run (paper mode)', () => {
  test('trades until SIGTERM, then logs each grid report and exits 0 within 8 s', async () => {
    const run = startRun(config('run.yaml', `mode: paper\nfeed: { speed: 500, candles: 1000000 }\n${GRID}`));
    await run.waitFor((line) => line.msg === 'btcbot running');
    await run.waitFor((line) => / filled at /.test(line.msg));
    await new Promise((resolve) => setTimeout(resolve, 500)); // the grid books the fill it was told of
    run.terminate();
    const { code, ms } = await run.exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(8_000);
    const report = run.lines.find((line) => line.msg === 'grid report') as (LogLine & { grid: string; report: { fills: { buy: number; sell: number } } }) | undefined;
    expect(report?.grid).toBe('btcusdt');
    expect(report!.report.fills.buy + report!.report.fills.sell).toBeGreaterThan(0);
  });

  test('serves /health (the grid ACTIVE, 200) and /metrics while it runs; a second signal exits at once', async () => {
    const run = startRun(config('health.yaml', `mode: paper\nfeed: { speed: 200, candles: 1000000 }\n${GRID}`), { API_TOKEN: 'paper-token-0123456789', ENVIRONMENT: 'stage', GIT_SHA: '', BUILD_SHA: '0c0ffee' });
    const serving = (await run.waitFor((line) => line.msg.startsWith('serving '))) as LogLine & { url: string };
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await run.waitFor((line) => line.msg === 'grid started on the exchange');
    const health = await fetch(`${serving.url}/health`);
    expect(health.status).toBe(200);
    // Paper mode keeps its books in the database, and has no exchange: those components say so, and count as healthy.
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      version: `${version}+0c0ffee`,
      uptime_seconds: expect.any(Number),
      timestamp: expect.stringMatching(/Z$/),
      environment: 'stage',
      trading_mode: 'paper',
      components: { database: { status: 'healthy', latency_ms: expect.any(Number) }, websocket: { status: 'disabled', connected: false }, exchange_api: { status: 'disabled', latency_ms: null } },
      problems: [],
      parts: { 'grid:btcusdt': { healthy: true, state: 'ACTIVE' } },
    });
    // The container healthcheck: `btcbot health` exits 0 while healthy, 1 with no bot to answer.
    const check = btcbot(['health', '--url', serving.url]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^healthy: .*grid:btcusdt ACTIVE.*\n$/);
    const nobody = btcbot(['health'], ROOT, { HTTP_PORT: String(Number(serving.url.split(':').at(-1)) + 1), HTTP_HOST: '0.0.0.0' });
    expect(nobody.status).toBe(1);
    expect(nobody.stdout).toMatch(/^unreachable: http:\/\/127\.0\.0\.1:\d+\/health: /);
    // The control API runs in paper mode too (the same runtime as live).
    const grids = await fetch(`${serving.url}/api/v1/grids`, { headers: { authorization: 'Bearer paper-token-0123456789' } });
    expect(grids.status).toBe(200);
    expect(await grids.json()).toMatchObject({ grids: [{ id: 'btcusdt', state: 'ACTIVE' }] });
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

  test('a feed that ends stops the run by itself; its fills reach the notification webhook, coalesced', async () => {
    const receiver = await startReceiver();
    const run = startRun(config('short.yaml', `feed: { speed: 10000, candles: 100 }\n${GRID}`), { NOTIFY_WEBHOOK_URL: `${receiver.url}/hook`, ENVIRONMENT: 'stage' });
    const { code } = await run.exited;
    await receiver.close();
    expect(code).toBe(0);
    // The run lasts less than the 10 s coalescing window: one message with every fill, sent on stop.
    const fillLines = run.lines.filter((line) => / filled at /.test(line.msg)).length;
    expect(fillLines).toBeGreaterThan(0);
    const batches = receiver.received.map((request) => request.body as { app: string; environment: string; event: { kind: string; grid: string; fills: unknown[] } });
    expect(batches.map((body) => [body.app, body.environment, body.event.kind, body.event.grid])).toEqual([['btcbot', 'stage', 'fills', 'btcusdt']]);
    expect(batches[0]!.event.fills).toHaveLength(fillLines);
    expect(run.lines.some((line) => line.msg === 'the price feed ended: no more prices to walk')).toBe(true);
    expect(run.lines.filter((line) => line.msg === 'grid report')).toHaveLength(1);
  });

  test('a restart, even after SIGKILL, continues the same paper account and grid: the replay resumes at the candle where it stopped', async () => {
    const file = config('resume.yaml', `feed: { speed: 300, candles: 900 }\n${GRID}`);
    const first = startRun(file);
    await first.waitFor((line) => line.msg === 'grid started on the exchange');
    await first.waitFor((line) => / filled at /.test(line.msg));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const filledBefore = first.lines.filter((line) => / filled at /.test(line.msg)).length;
    first.terminate(); // and at once SIGKILL: nothing of the shutdown runs
    process.kill(first.pid, 'SIGKILL');
    await first.exited;

    const second = startRun(file);
    const { code } = await second.exited;
    expect(code).toBe(0);
    const messages = second.lines.map((line) => line.msg);
    expect(messages).toContain('paper replay resumes after the last candle walked');
    expect(messages).toContain('grid recovered: reconciled with the exchange, trading');
    expect(messages).not.toContain('grid started on the exchange');
    expect(messages).not.toContain('paper account opened');
    const report = second.lines.find((line) => line.msg === 'grid report') as LogLine & { report: { fills: { buy: number; sell: number }; openOrders: Record<string, string> } };
    // The books carry on: every fill of the first life is still counted, and one order per level but the empty one.
    expect(report.report.fills.buy + report.report.fills.sell).toBeGreaterThanOrEqual(filledBefore);
    expect(Object.keys(report.report.openOrders)).toHaveLength(39);
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
    expect(JSON.parse(first.stderr.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'database ready', migrationsApplied: [1, 2, 3] });
    const second = btcbot(['migrate'], ROOT, env);
    expect(JSON.parse(second.stderr.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'database ready', migrationsApplied: [] });
    expectUserError(btcbot(['migrate'], ROOT, { DATABASE_URL: 'mysql://root:hunter2@localhost/x' }), 'DATABASE_URL must start with postgres://');
  }, 60_000);
});

