// `btcbot status` as a process: the grids' table (or the raw JSON) from a bot's control API, and a
// clear line when the bot is not there, refuses the token, or has the API off. Then end to end:
// `btcbot run` in live mode against the exchange simulator with API_TOKEN set, paused through the
// API, as `btcbot status` shows it.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { HealthBoard } from '../../src/actors/supervision/health.js';
import { createHttpApp } from '../../src/adapters/http/http-app.js';
import { startHttpServer, type HttpServer } from '../../src/adapters/http/http-server.js';
import { silentLogger } from '../../src/adapters/telemetry/logger.js';
import type { GridControl, GridView } from '../../src/domain/grid-control.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';
import { btcbot, ensureBuilt, expectNoStackTrace, killChildren, liveSimEnv, spawnCli, startExchangeSim, type LogLine } from './cli-harness.js';

beforeAll(ensureBuilt);
afterAll(() => killChildren());
const tmp = useTempDir('btcbot-status-');

const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
/** Nothing of the caller's environment that `btcbot status` reads. */
const CLEAN = { API_TOKEN: '', API_TOKEN_FILE: '', HTTP_HOST: '', HTTP_PORT: '' };

const grid = (id: string, state: GridView['state'], stats: GridView['stats'], reason?: string): GridView => ({
  id,
  symbol: 'BTC/USDT',
  state,
  statechart: stats === null ? null : state.toLowerCase(),
  ...(reason === undefined ? {} : { reason }),
  stopReason: null,
  accepts: { pause: false, resume: false, stop: false, start: false },
  levels: [],
  waitingOrders: [],
  stats,
});
const GRIDS: GridView[] = [
  grid('btc1', 'ACTIVE', { buyFills: 3, sellFills: 2, fills: 5, roundTrips: 2, gridProfit: 19.8, fees: 2.4512345678, netProfit: 17.3487654322, skippedOrders: 0, position: 0.03, startPrice: 50_000, lastPrice: 49_123.45, openOrders: 4 }),
  grid('eth-long', 'RECOVERING', null, 'starting: reconciling with the exchange before it trades'),
];
const control: GridControl = { list: () => GRIDS, get: () => undefined, fills: async () => undefined, command: async () => ({ outcome: 'unknownGrid' }) };

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(token: string | undefined): Promise<string> {
  const app = createHttpApp({ health: () => new HealthBoard().report(), metrics: { contentType: 'text/plain', render: async () => '' }, api: { token, control: () => control, logger: silentLogger } });
  const server = await startHttpServer(app, '127.0.0.1', 0);
  servers.push(server);
  return server.url;
}

/** `btcbot status ...` as a child process (async: the server answering it is in this process). */
async function status(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawnCli(['status', ...args], { ...CLEAN, ...env });
  const { code } = await child.exited;
  return { code, stdout: child.stdout(), output: child.output() };
}

describe('btcbot status', () => {
  test("prints the grids' table, with the reason of a grid not trading; --json prints the answer as it came", async () => {
    const url = await serve(TOKEN);
    const table = await status(['--url', url], { API_TOKEN: TOKEN });
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(
      [
        'GRID      SYMBOL    STATE       ORDERS  FILLS  ROUND TRIPS  PROFIT        FEES  POSITION  LAST PRICE',
        'btc1      BTC/USDT  ACTIVE           4      5            2    19.8  2.45123457      0.03    49123.45',
        'eth-long  BTC/USDT  RECOVERING       -      -            -       -           -         -           -',
        '',
        'eth-long: RECOVERING: starting: reconciling with the exchange before it trades',
        '',
      ].join('\n'),
    );
    const json = await status(['--url', url, '--json'], { API_TOKEN: TOKEN });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ grids: GRIDS });
    expect(table.output + json.output).not.toContain(TOKEN);
  });

  test('reads the token from API_TOKEN_FILE, and finds the bot at HTTP_HOST / HTTP_PORT as `btcbot health` does', async () => {
    const url = await serve(TOKEN);
    const file = tmp.file('api_token', `${TOKEN}\n`);
    const answer = await status([], { API_TOKEN_FILE: file, HTTP_HOST: '0.0.0.0', HTTP_PORT: new URL(url).port });
    expect(answer.code).toBe(0);
    expect(answer.stdout).toMatch(/^GRID +SYMBOL/);
  });

  test('a wrong token, the API off, no bot: exit 1 with one line saying what to do; no token at all: exit 2', async () => {
    const url = await serve(TOKEN);
    const wrong = await status(['--url', url], { API_TOKEN: `x${TOKEN}` });
    expect(wrong).toMatchObject({ code: 1, stdout: 'refused (HTTP 401): wrong token: API_TOKEN is not the token the bot was started with\n' });
    const off = await status(['--url', await serve(undefined)], { API_TOKEN: TOKEN });
    expect(off).toMatchObject({ code: 1, stdout: "the bot's control API is off (HTTP 404): start btcbot with API_TOKEN set\n" });
    const closed = await serve(TOKEN);
    await servers.pop()!.close();
    const gone = await status(['--url', closed], { API_TOKEN: TOKEN });
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(new RegExp(`^unreachable: ${closed}/api/v1/grids: .*ECONNREFUSED.*; is btcbot running there \\(HTTP_HOST, HTTP_PORT, --url\\)\\?\\n$`));
    const none = btcbot(['status', '--url', url], undefined, CLEAN);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe("btcbot status: no token: set API_TOKEN (or API_TOKEN_FILE) to the running bot's control API token\n");
    for (const run of [wrong, off, gone]) expect(run.output).not.toContain(TOKEN);
    expectNoStackTrace(none.stderr);
  });

  test('is in the command list', () => {
    expect(btcbot(['--help']).stdout).toMatch(/^ {2}status +print a running bot's grids/m);
    expect(btcbot(['status', '--help']).stdout).toContain('usage: btcbot status [--url URL] [--json]');
  });
});

describe('the control API of `btcbot run` in live mode', () => {
  test('serves the grids with API_TOKEN; a pause through it shows in `btcbot status` and is logged; the token appears nowhere', async () => {
    const sim = await startExchangeSim(['--port', '0', '--price', '50000', '--quote', '10000']);
    const config = tmp.file('live.yaml', 'grids:\n  - id: api1\n    symbol: BTC/USDT\n    lower: 48000\n    upper: 52000\n    levels: 5\n    quantityPerLevel: 0.01\n');
    const bot = spawnCli(['run', '--config', config], { ...liveSimEnv(sim.url), DATABASE_URL: '', DATA_DIR: tmp.path('data'), API_TOKEN: TOKEN });
    const serving = (await bot.waitFor((line) => line.msg.startsWith('serving the control API'), 'the control API served')) as LogLine & { url: string };
    const base = serving.url.replace(/\/api\/v1$/, '');
    await bot.waitFor((line) => line.msg === 'grid started on the exchange', 'the grid started', 30_000);
    const show = async () => (await status(['--url', base], { API_TOKEN: TOKEN })).stdout;
    await until(async () => /^api1 +BTC\/USDT +ACTIVE +4 /m.test(await show()), 'the grid ACTIVE with 4 orders in btcbot status', 20_000, 200);

    const pause = await fetch(`${base}/api/v1/grids/api1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(pause.status).toBe(200);
    expect(await pause.json()).toMatchObject({ journaled: true, grid: { id: 'api1', state: 'PAUSED' } });
    expect(await show()).toMatch(/^api1 +BTC\/USDT +PAUSED +4 /m);
    const again = await fetch(`${base}/api/v1/grids/api1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(again.status).toBe(409);
    expect((await fetch(`${base}/api/v1/grids`)).status).toBe(401);
    expect((await fetch(`${base}/health`)).status).toBe(200);

    bot.terminate();
    expect((await bot.exited).code).toBe(0);
    expect(bot.lines.filter((line) => line['command'] !== undefined).map((line) => `${line['command']} ${line['result']} ${line['client']}`)).toEqual(['pause accepted 127.0.0.1', 'pause refused 127.0.0.1']);
    expect(bot.output()).not.toContain(TOKEN);
    await killChildren();
  }, 90_000);
});
