// `btcbot update-guard` (Watchtower's pre-update hook): exit 75 while a grid recovers or an order is
// in flight, 0 when the bot may be stopped, also when the bot does not answer. The decision is
// tested on /health answers as the bot writes them; the command as a process against a fake /health.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { EX_TEMPFAIL, reasonsToWait } from '../../src/cli/update-guard.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';
import { btcbot, ensureBuilt, expectNoStackTrace, expectUserError, killChildren, liveSimEnv, spawnCli, startExchangeSim, type LogLine, type Run } from './cli-harness.js';

beforeAll(ensureBuilt);
afterAll(() => killChildren());
const tmp = useTempDir('btcbot-update-guard-');

/** `btcbot update-guard` spawned (not spawnSync'd: a server in this process must be able to answer). */
async function guard(args: string[]): Promise<Run> {
  const child = spawnCli(['update-guard', ...args], { HTTP_HOST: '', HTTP_PORT: '' });
  const { code } = await child.exited;
  return { status: code, stdout: child.stdout(), stderr: child.output().slice(child.stdout().length) };
}

/** /health of one grid in `state` whose order actors are `orders` (GridService.health()'s detail). */
function healthOf(state: string, orders: Record<string, number> = {}): Record<string, unknown> {
  const healthy = state !== 'RECOVERING';
  return {
    status: healthy ? 'healthy' : 'unhealthy',
    grids: { btc: { state, open_positions: healthy ? 1 : null, pending_orders: healthy ? 2 : null } },
    parts: {
      supervision: { healthy: true, state: 'running' },
      'grid:btc': healthy ? { healthy, state, detail: { openOrders: 2, orders, fills: 0, roundTrips: 0, lastPrice: 50_000 } } : { healthy, state, reason: 'starting' },
    },
  };
}

describe('reasonsToWait', () => {
  test('resting and finished orders: nothing to wait for', () => {
    expect(reasonsToWait(healthOf('ACTIVE', { open: 19, partiallyFilled: 1, filled: 3 }))).toEqual([]);
    expect(reasonsToWait(healthOf('PAUSED'))).toEqual([]);
  });
  test.each(['recording', 'recordBackoff', 'submitted', 'inFlight', 'lookupBackoff', 'pendingCancel', 'cancelBackoff'])('an order in %s is in flight', (state) => {
    expect(reasonsToWait(healthOf('ACTIVE', { open: 19, [state]: 1 }))).toEqual([`grid btc: orders in flight (1 ${state})`]);
  });
  test('a recovering, crashed or (re)starting grid', () => {
    expect(reasonsToWait(healthOf('RECOVERING'))).toEqual(['grid btc: recovering']);
    expect(reasonsToWait({ parts: { 'grid:eth': { state: 'crashed' } } })).toEqual(['grid eth: recovering']);
    expect(reasonsToWait({ parts: { 'grid:eth': { state: 'starting' } } })).toEqual(['grid eth: recovering']);
  });
  test('a count of 0 is no order', () => {
    expect(reasonsToWait(healthOf('ACTIVE', { submitted: 0, open: 2 }))).toEqual([]);
  });
});

describe('btcbot update-guard against a fake /health', () => {
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.writeHead(request.url === '/health' ? answer.status : 404, { 'content-type': 'application/json' });
      response.end(request.url === '/health' ? answer.body : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => (answer = { status: 200, body: '{}' }));

  const ask = (...args: string[]): Promise<Run> => guard(['--url', url, ...args]);

  test('a trading grid with its orders resting: 0', async () => {
    answer = { status: 200, body: JSON.stringify(healthOf('ACTIVE', { open: 20 })) };
    const run = await ask();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('update: no order in flight, no recovery under way\n');
  });

  test('an order sent and not acknowledged: 75, saying which', async () => {
    answer = { status: 200, body: JSON.stringify(healthOf('ACTIVE', { open: 19, inFlight: 1 })) };
    const run = await ask();
    expect(run.status).toBe(EX_TEMPFAIL);
    expect(run.stdout).toBe('wait: grid btc: orders in flight (1 inFlight)\n');
  });

  test('a recovery (/health answers 503 then): 75', async () => {
    answer = { status: 503, body: JSON.stringify(healthOf('RECOVERING')) };
    const run = await ask();
    expect(run.status).toBe(EX_TEMPFAIL);
    expect(run.stdout).toBe('wait: grid btc: recovering\n');
  });

  test('an answer with no health report: 0, saying so', async () => {
    answer = { status: 500, body: 'oops' };
    const run = await ask();
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('gave no health report');
  });

  test('no bot listening: 0 (nothing to protect), from HTTP_PORT as `btcbot health` reads it', () => {
    const run = btcbot(['update-guard', '--timeout', '2000'], undefined, { HTTP_HOST: '', HTTP_PORT: '1' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^update: the bot does not answer \(http:\/\/127\.0\.0\.1:1\/health: .+\), nothing in flight to protect\n$/);
    expectNoStackTrace(run.stderr);
  });

  test('a bad --timeout is a usage error; --help says what 75 means', async () => {
    expectUserError(await ask('--timeout', 'soon'), '--timeout must be a positive number');
    const help = btcbot(['update-guard', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('exit 75');
    expect(btcbot(['--help']).stdout).toContain('update-guard');
  });
});

describe('btcbot update-guard against a running bot (live mode on the simulator, 2.5 s per order request)', () => {
  test('75 while the grid recovers and while an order is sent and not acknowledged, 0 once its orders rest', async () => {
    const sim = await startExchangeSim(['--port', '0', '--price', '50000', '--faults', 'latency=2500']);
    const config = tmp.file('grid.yaml', 'exchange: { timeoutMs: 8000 }\ngrids:\n  - id: guarded\n    symbol: BTC/USDT\n    lower: 48000\n    upper: 52000\n    levels: 5\n    quantityPerLevel: 0.01\n');
    const bot = spawnCli(['run', '--config', config], { ...liveSimEnv(sim.url), DATA_DIR: tmp.path('data'), DATABASE_URL: '', DATABASE_URL_FILE: '', API_TOKEN: '', API_TOKEN_FILE: '' });
    const { url } = (await bot.waitFor((line) => line.msg.startsWith('serving '), 'serving', 30_000)) as LogLine & { url: string };
    // Starting: the grid recovers, then its first orders are on their way (2.5 s each); the guard says wait.
    let last: Run | undefined;
    await until(async () => (last = await guard(['--url', url])).status === EX_TEMPFAIL, 'update-guard to say wait while the grid starts', 30_000, 50);
    expect(last!.stdout).toMatch(/^wait: grid guarded: (recovering|orders in flight \(.+\))\n$/);
    await until(async () => (last = await guard(['--url', url])).status === 0, 'update-guard to allow the update once the grid rests', 60_000, 100);
    expect(last!.stdout).toBe('update: no order in flight, no recovery under way\n');

    // Down through 49000: the buy fills and its counter-sell is sent, answered 2.5 s later.
    await sim.post('/__sim/step?target=48500');
    await until(async () => (last = await guard(['--url', url])).status === EX_TEMPFAIL, 'update-guard to say wait while the counter-sell is in flight', 10_000, 50);
    expect(last!.stdout).toMatch(/^wait: grid guarded: orders in flight \(1 \w+\)\n$/);
    await until(async () => (await guard(['--url', url])).status === 0, 'update-guard to allow the update again', 30_000, 100);
  }, 120_000);
});
