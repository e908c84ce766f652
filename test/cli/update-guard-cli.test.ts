// `btcbot update-guard` (Watchtower's pre-update hook): exit 75 while a grid recovers or an order is
// in flight, 0 when the bot may be stopped, also when the bot does not answer. The decision is
// tested on /health answers as the bot writes them; the command as a process against a fake /health.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { EX_TEMPFAIL, reasonsToWait } from '../../src/cli/update-guard.js';
import { btcbot, ensureBuilt, expectNoStackTrace, expectUserError, spawnCli, type Run } from './cli-harness.js';

beforeAll(ensureBuilt);

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
  test('a recovering or crashed grid', () => {
    expect(reasonsToWait(healthOf('RECOVERING'))).toEqual(['grid btc: recovering']);
    expect(reasonsToWait({ parts: { 'grid:eth': { state: 'crashed' } } })).toEqual(['grid eth: recovering']);
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

  // Spawned, not spawnSync'd: the fake server answers from this process's event loop.
  const guard = async (...args: string[]): Promise<Run> => {
    const child = spawnCli(['update-guard', '--url', url, ...args], { HTTP_HOST: '', HTTP_PORT: '' });
    const { code } = await child.exited;
    return { status: code, stdout: child.stdout(), stderr: child.output().slice(child.stdout().length) };
  };

  test('a trading grid with its orders resting: 0', async () => {
    answer = { status: 200, body: JSON.stringify(healthOf('ACTIVE', { open: 20 })) };
    const run = await guard();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('update: no order in flight, no recovery under way\n');
  });

  test('an order sent and not acknowledged: 75, saying which', async () => {
    answer = { status: 200, body: JSON.stringify(healthOf('ACTIVE', { open: 19, inFlight: 1 })) };
    const run = await guard();
    expect(run.status).toBe(EX_TEMPFAIL);
    expect(run.stdout).toBe('wait: grid btc: orders in flight (1 inFlight)\n');
  });

  test('a recovery (/health answers 503 then): 75', async () => {
    answer = { status: 503, body: JSON.stringify(healthOf('RECOVERING')) };
    const run = await guard();
    expect(run.status).toBe(EX_TEMPFAIL);
    expect(run.stdout).toBe('wait: grid btc: recovering\n');
  });

  test('an answer with no health report: 0, saying so', async () => {
    answer = { status: 500, body: 'oops' };
    const run = await guard();
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
    expectUserError(await guard('--timeout', 'soon'), '--timeout must be a positive number');
    const help = btcbot(['update-guard', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('exit 75');
    expect(btcbot(['--help']).stdout).toContain('update-guard');
  });
});
