// The control API's HTTP contract over a scripted GridControl: authentication (off without a
// token, missing, wrong, right, from a file), the per-address limit on failures, every route's
// codes, bad input as a 400 naming the field (never a 500), command outcomes as 200 / 202 / 409 /
// 404, every command logged with its outcome and the client's address, and the token in no log
// line and no answer.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { HealthBoard } from '../../../src/actors/supervision/health.js';
import { API_OFF_MESSAGE } from '../../../src/adapters/http/api-auth.js';
import type { ControlApiOptions } from '../../../src/adapters/http/control-api.js';
import { encodeCursor } from '../../../src/adapters/http/control-input.js';
import { createHttpApp } from '../../../src/adapters/http/http-app.js';
import { startHttpServer, type HttpServer } from '../../../src/adapters/http/http-server.js';
import { createLogger } from '../../../src/adapters/telemetry/logger.js';
import { apiToken } from '../../../src/config/api-token.js';
import { ConfigError } from '../../../src/config/config-error.js';
import type { CommandOutcome, FillPageQuery, GridCommand, GridControl, GridView } from '../../../src/domain/grid-control.js';
import type { Fill } from '../../../src/domain/trading.js';
import { useTempDir } from '../../support/temp-dir.js';

/** A board whose components this app has none of: /health is 200 (it stays open without a token). */
const healthBoard = new HealthBoard();
for (const component of ['database', 'websocket', 'exchange_api'] as const) healthBoard.disableComponent(component);

const TOKEN = 'a-token-of-32-characters-0123456';
const WRONG = 'b-token-of-32-characters-0123456';

const view = (id: string, state: GridView['state'] = 'ACTIVE'): GridView => ({
  id,
  symbol: 'BTC/USDT',
  state,
  statechart: state === 'ACTIVE' ? { active: 'running' } : state.toLowerCase(),
  stopReason: null,
  accepts: { pause: state === 'ACTIVE', resume: state === 'PAUSED', stop: true, start: false },
  levels: [{ level: 0, price: 49_000, order: { clientOrderId: `bb${id}_0b1`, side: 'buy', state: 'open' } }],
  waitingOrders: [],
  stats: { buyFills: 1, sellFills: 0, fills: 1, roundTrips: 0, gridProfit: 0, fees: 0.49, netProfit: -0.49, skippedOrders: 0, position: 0.01, startPrice: 50_000, lastPrice: 48_900, openOrders: 1 },
});

const fill = (tradeId: string, timestamp: number): Fill => ({
  tradeId,
  orderId: `X${tradeId}`,
  clientOrderId: 'bbg1_0b1',
  symbol: 'BTC/USDT',
  side: 'buy',
  price: 49_000,
  amount: 0.01,
  fee: 0.49,
  takerOrMaker: 'maker',
  timestamp,
});

/** A GridControl whose answers the test sets; it records what it was asked. */
function scriptedControl() {
  const grids = new Map([['g1', view('g1')], ['g2', view('g2', 'PAUSED')]]);
  const asked: { fills: FillPageQuery[]; commands: Array<[string, GridCommand]> } = { fills: [], commands: [] };
  let journaled = true;
  const control: GridControl = {
    list: () => [...grids.values()],
    get: (id) => grids.get(id),
    fills: async (id, query) => {
      asked.fills.push(query);
      if (!grids.has(id)) return undefined;
      return { fills: [fill('T2', 1_700_000_000_200), fill('T1', 1_700_000_000_100)].slice(0, query.limit), next: { timestamp: 1_700_000_000_100, tradeId: 'T1' } };
    },
    command: async (id, command): Promise<CommandOutcome> => {
      asked.commands.push([id, command]);
      const grid = grids.get(id);
      if (grid === undefined) return { outcome: 'unknownGrid' };
      if (!grid.accepts[command.type]) return { outcome: 'refused', reason: `grid ${id} is ${grid.state}: no`, grid };
      return { outcome: 'accepted', grid: view(id, command.type === 'pause' ? 'PAUSED' : command.type === 'stop' ? 'STOPPING' : 'ACTIVE'), journaled };
    },
  };
  return { control, asked, setJournaled: (value: boolean) => (journaled = value) };
}

function setUp(options: Partial<ControlApiOptions> = {}) {
  const scripted = scriptedControl();
  const lines: string[] = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(line) });
  let now = 1_000_000;
  const app = createHttpApp({
    health: () => healthBoard.report(),
    metrics: { contentType: 'text/plain', render: async () => '' },
    api: {
      token: TOKEN,
      control: () => scripted.control,
      logger,
      limits: { maxFailures: 10, windowMs: 60_000, blockMs: 60_000, now: () => now },
      // Tests choose their address in a header (the real one is the socket's peer).
      clientAddress: (c) => c.req.header('x-test-client') ?? '10.0.0.1',
      ...options,
    },
  });
  const request = async (path: string, init: RequestInit & { token?: string | null; client?: string } = {}) => {
    const { token = TOKEN, client, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    if (client !== undefined) headers.set('x-test-client', client);
    const response = await app.request(path, { ...rest, headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, unknown> };
  };
  const post = (path: string, body?: string, init: { token?: string | null; client?: string } = {}) => request(path, { method: 'POST', ...(body === undefined ? {} : { body }), ...init });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...scripted, app, request, post, lines, logs, advance: (ms: number) => (now += ms) };
}

/** Neither secret in any log line or answer. */
function expectNoToken(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(WRONG);
  }
}

describe('control API: authentication', () => {
  test('without a token the API is off: every /api/v1 route is a 404 saying to set API_TOKEN; /health stays open', async () => {
    const { request, post, app } = setUp({ token: undefined });
    for (const answer of [await request('/api/v1/grids'), await request('/api/v1/grids/g1', { token: null }), await post('/api/v1/grids/g1/pause'), await request('/api/v1/whatever')]) {
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: API_OFF_MESSAGE });
    }
    expect(API_OFF_MESSAGE).toContain('set API_TOKEN (or API_TOKEN_FILE)');
    expect((await app.request('/health')).status).toBe(200);
  });

  test('missing, of another scheme, or wrong: 401 with WWW-Authenticate; right: 200. No token in the logs or answers', async () => {
    const { request, lines } = setUp();
    const missing = await request('/api/v1/grids', { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="btcbot"');
    expect(missing.body).toEqual({ error: 'authentication required: send the header "Authorization: Bearer <API_TOKEN>"' });
    const basic = await request('/api/v1/grids', { token: null, headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    const wrong = await request('/api/v1/grids', { token: WRONG });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'wrong token' } });
    expect((await request('/api/v1/grids', { token: TOKEN.slice(0, -1) })).status).toBe(401); // a prefix is not the token
    expect((await request('/api/v1/grids', { token: `${TOKEN}x` })).status).toBe(401);
    const right = await request('/api/v1/grids');
    expect(right.status).toBe(200);
    expect(right.headers.get('cache-control')).toBe('no-store');
    // The scheme's case does not matter (RFC 7235).
    expect((await request('/api/v1/grids', { token: null, headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    const failures = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === `control API: authentication failed (${line['reason']})`);
    expect(failures.map((line) => `${line['reason']} ${line['client']} ${line['method']} ${line['path']}`)).toEqual([
      'no Authorization header 10.0.0.1 GET /api/v1/grids',
      'not a Bearer token 10.0.0.1 GET /api/v1/grids',
      'wrong token 10.0.0.1 GET /api/v1/grids',
      'wrong token 10.0.0.1 GET /api/v1/grids',
      'wrong token 10.0.0.1 GET /api/v1/grids',
    ]);
    expectNoToken(...lines, missing.text, wrong.text, right.text);
  });

  test('GETs need the token as much as commands do; an unknown /api/v1 path is a 401 without it, a 404 with it', async () => {
    const { request, post } = setUp();
    for (const path of ['/api/v1/grids', '/api/v1/grids/g1', '/api/v1/grids/g1/fills']) expect((await request(path, { token: null })).status).toBe(401);
    expect((await post('/api/v1/grids/g1/pause', undefined, { token: null })).status).toBe(401);
    expect((await request('/api/v1/nothing', { token: null })).status).toBe(401);
    expect((await request('/api/v1/nothing')).status).toBe(404);
  });

  test('the token from API_TOKEN_FILE (a Docker secret, trailing newline dropped) works the same', async () => {
    const temp = useTempDirNow();
    const file = temp('token');
    writeFileSync(file, `${TOKEN}\n`);
    const token = apiToken({ API_TOKEN_FILE: file });
    expect(token).toBe(TOKEN);
    const { request } = setUp({ token });
    expect((await request('/api/v1/grids')).status).toBe(200);
    expect((await request('/api/v1/grids', { token: WRONG })).status).toBe(401);
  });

  test('API_TOKEN mistakes are ConfigErrors naming the variable, never the value', () => {
    expect(apiToken({})).toBeUndefined();
    expect(apiToken({ API_TOKEN: TOKEN })).toBe(TOKEN);
    const problems: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ API_TOKEN: 'short-secret' }, /^API_TOKEN: the token is too short \(12 characters, at least 16\)/],
      [{ API_TOKEN: TOKEN, API_TOKEN_FILE: '/run/secrets/api_token' }, /^both API_TOKEN and API_TOKEN_FILE are set: set only one$/],
      [{ API_TOKEN_FILE: '/nonexistent/api_token' }, /^API_TOKEN_FILE: cannot read \/nonexistent\/api_token \(ENOENT\)/],
    ];
    for (const [env, message] of problems) {
      let thrown: unknown;
      try {
        apiToken(env);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('short-secret');
      expectNoToken((thrown as Error).message);
    }
  });
});

describe('control API: failed authentications are limited per address', () => {
  test('after 10 failures in a minute the address gets 429 with Retry-After, a right token included; other addresses are not affected; the block ends', async () => {
    const { request, logs, advance } = setUp();
    for (let i = 0; i < 9; i++) expect((await request('/api/v1/grids', { token: WRONG, client: '10.0.0.66' })).status).toBe(401);
    advance(30_000);
    expect((await request('/api/v1/grids', { token: WRONG, client: '10.0.0.66' })).status).toBe(401); // the 10th: the block begins
    const blocked = await request('/api/v1/grids', { client: '10.0.0.66' });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(blocked.body).toEqual({ error: 'too many failed authentications from this address: retry in 60 s' });
    expect((await request('/api/v1/grids', { client: '10.0.0.7' })).status).toBe(200);
    advance(45_000);
    expect((await request('/api/v1/grids', { client: '10.0.0.66' })).headers.get('retry-after')).toBe('15');
    advance(15_000);
    expect((await request('/api/v1/grids', { client: '10.0.0.66' })).status).toBe(200);
    expect(logs().filter((line) => line['msg'] === 'control API: too many failed authentications: the address is blocked')).toMatchObject([{ client: '10.0.0.66', blockedForMs: 60_000 }]);
  });

  test('failures older than the window do not count, and a right token clears them', async () => {
    const { request, advance } = setUp();
    for (let i = 0; i < 9; i++) await request('/api/v1/grids', { token: WRONG });
    advance(61_000);
    for (let i = 0; i < 9; i++) await request('/api/v1/grids', { token: WRONG });
    expect((await request('/api/v1/grids')).status).toBe(200);
    for (let i = 0; i < 9; i++) await request('/api/v1/grids', { token: WRONG });
    expect((await request('/api/v1/grids')).status).toBe(200);
  });
});

describe('control API: grids and fills', () => {
  test('GET /api/v1/grids lists them; /api/v1/grids/:id shows one; an unknown id is a 404 naming the grids', async () => {
    const { request } = setUp();
    expect(await request('/api/v1/grids')).toMatchObject({ status: 200, body: { grids: [view('g1'), view('g2', 'PAUSED')] } });
    expect(await request('/api/v1/grids/g2')).toMatchObject({ status: 200, body: view('g2', 'PAUSED') });
    expect(await request('/api/v1/grids/nope')).toMatchObject({ status: 404, body: { error: 'no grid "nope": the grids are g1, g2' } });
  });

  test('fills: limit defaults to 50, a cursor for the next page, `before` as a time or as that cursor', async () => {
    const { request, asked } = setUp();
    const page = await request('/api/v1/grids/g1/fills');
    expect(page.status).toBe(200);
    const cursor = encodeCursor({ timestamp: 1_700_000_000_100, tradeId: 'T1' });
    expect(page.body).toEqual({
      grid: 'g1',
      fills: [
        { ...fill('T2', 1_700_000_000_200), time: '2023-11-14T22:13:20.200Z' },
        { ...fill('T1', 1_700_000_000_100), time: '2023-11-14T22:13:20.100Z' },
      ],
      nextCursor: cursor,
      next: `/api/v1/grids/g1/fills?limit=50&before=${cursor}`,
    });
    expect(cursor).toMatch(/^[MNO][A-Za-z0-9_-]+$/);
    await request(`/api/v1/grids/g1/fills?limit=500&before=${cursor}`);
    await request('/api/v1/grids/g1/fills?limit=1&before=1700000000150');
    expect(asked.fills).toEqual([{ limit: 50 }, { limit: 500, before: { timestamp: 1_700_000_000_100, tradeId: 'T1' } }, { limit: 1, before: { timestamp: 1_700_000_000_150 } }]);
    expect((await request('/api/v1/grids/nope/fills')).status).toBe(404);
  });

  test('a trade id with any characters survives the cursor', async () => {
    const { request, asked } = setUp();
    const tradeId = 'ü:/?&= 7';
    await request(`/api/v1/grids/g1/fills?before=${encodeCursor({ timestamp: 5, tradeId })}`);
    expect(asked.fills).toEqual([{ limit: 50, before: { timestamp: 5, tradeId } }]);
  });

  test('bad limit or before: 400 naming the field; the control is not asked', async () => {
    const { request, asked } = setUp();
    const cases: Array<[string, string, string]> = [
      ['limit=abc', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "abc"'],
      ['limit=0', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "0"'],
      ['limit=10000', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "10000"'],
      ['limit=501', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "501"'],
      ['limit=-5', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "-5"'],
      ['limit=2.5', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got "2.5"'],
      ['limit=', 'limit', 'limit must be a whole number from 1 to 500 (default 50), got ""'],
      ['before=garbage', 'before', 'before must be a time in epoch milliseconds or the nextCursor of the previous page, got "garbage"'],
      ['before=', 'before', 'before must be a time in epoch milliseconds or the nextCursor of the previous page, got ""'],
      ['before=-1', 'before', 'before must be a time in epoch milliseconds or the nextCursor of the previous page, got "-1"'],
      ['before=99999999999999999', 'before', 'before must be a time in epoch milliseconds or the nextCursor of the previous page, got "99999999999999999"'],
      [`before=${encodeCursor({ timestamp: 5, tradeId: 'T1' })}x`, 'before', expect.stringContaining('before must be') as unknown as string],
      [`before=${Buffer.from('no-colon').toString('base64url')}`, 'before', expect.stringContaining('before must be') as unknown as string],
      [`before=${'A'.repeat(5000)}`, 'before', expect.stringMatching(/^before must be .*, got "AAAA+\.\.\.$/) as unknown as string],
    ];
    for (const [query, field, error] of cases) {
      const answer = await request(`/api/v1/grids/g1/fills?${query}`);
      expect({ query, status: answer.status, body: answer.body }).toEqual({ query, status: 400, body: { error, field } });
    }
    expect(asked.fills).toEqual([]);
  });

  test('503 while no grid is under control (starting, stopping)', async () => {
    const { request, post } = setUp({ control: () => undefined });
    for (const answer of [await request('/api/v1/grids'), await request('/api/v1/grids/g1'), await request('/api/v1/grids/g1/fills'), await post('/api/v1/grids/g1/pause')]) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(answer.body['error']).toMatch(/^no grid is under control: btcbot is starting or stopping/);
    }
  });

  test('another method on a known path is a 405 naming the one it takes', async () => {
    const { request, post } = setUp();
    expect(await request('/api/v1/grids/g1/pause')).toMatchObject({ status: 405, body: { error: 'GET is not allowed on /api/v1/grids/g1/pause: use POST' } });
    expect((await request('/api/v1/grids/g1/pause')).headers.get('allow')).toBe('POST');
    expect((await post('/api/v1/grids')).status).toBe(405);
    expect((await request('/api/v1/grids/g1', { method: 'DELETE' })).status).toBe(405);
  });
});

describe('control API: commands', () => {
  test('pause, resume, stop: 200 with the state after; 202 when the journal entry is not written yet', async () => {
    const { post, asked, setJournaled } = setUp();
    expect(await post('/api/v1/grids/g1/pause')).toMatchObject({ status: 200, body: { command: { type: 'pause' }, journaled: true, grid: { id: 'g1', state: 'PAUSED' } } });
    expect(await post('/api/v1/grids/g2/resume', '{}')).toMatchObject({ status: 200, body: { command: { type: 'resume' }, grid: { state: 'ACTIVE' } } });
    expect(await post('/api/v1/grids/g1/stop', '{"sellBase": true}')).toMatchObject({ status: 200, body: { command: { type: 'stop', sellBase: true }, grid: { state: 'STOPPING' } } });
    expect((await post('/api/v1/grids/g1/stop', '')).body).toMatchObject({ command: { type: 'stop', sellBase: false } });
    expect((await post('/api/v1/grids/g1/stop', '{"sellBase": false}')).body).toMatchObject({ command: { type: 'stop', sellBase: false } });
    setJournaled(false);
    expect(await post('/api/v1/grids/g1/pause')).toMatchObject({ status: 202, body: { journaled: false } });
    expect(asked.commands).toEqual([
      ['g1', { type: 'pause' }],
      ['g2', { type: 'resume' }],
      ['g1', { type: 'stop', sellBase: true }],
      ['g1', { type: 'stop', sellBase: false }],
      ['g1', { type: 'stop', sellBase: false }],
      ['g1', { type: 'pause' }],
    ]);
  });

  test('a command the grid does not take is a 409 saying why and in what state; an unknown grid a 404', async () => {
    const { post } = setUp();
    expect(await post('/api/v1/grids/g2/pause')).toMatchObject({
      status: 409,
      body: { error: 'grid g2 is PAUSED: no', grid: 'g2', command: 'pause', state: 'PAUSED', statechart: 'paused', accepts: { pause: false, resume: true, stop: true } },
    });
    expect(await post('/api/v1/grids/nope/stop')).toMatchObject({ status: 404, body: { error: 'no grid "nope": the grids are g1, g2' } });
  });

  test('a bad body is a 400 naming the field, never a 500; the grid is not told', async () => {
    const { post, asked } = setUp();
    const cases: Array<[string, string, string, string]> = [
      ['stop', 'not json', 'body', 'the body must be JSON such as {"sellBase": true}; it is not'],
      ['stop', '{"sellBase": ', 'body', 'the body must be JSON such as {"sellBase": true}; it is not'],
      ['stop', '[true]', 'body', 'the body must be a JSON object'],
      ['stop', 'null', 'body', 'the body must be a JSON object'],
      ['stop', '"sellBase"', 'body', 'the body must be a JSON object'],
      ['stop', '{"sellBase": "yes"}', 'sellBase', 'sellBase must be true or false (a JSON boolean), got "yes"'],
      ['stop', '{"sellBase": 1}', 'sellBase', 'sellBase must be true or false (a JSON boolean), got 1'],
      ['stop', '{"sellBase": null}', 'sellBase', 'sellBase must be true or false (a JSON boolean), got null'],
      ['stop', '{"sellbase": true}', 'sellbase', 'unknown field "sellbase": stop takes "sellBase"'],
      ['pause', '{"sellBase": true}', 'sellBase', 'unknown field "sellBase": pause takes no field'],
      ['resume', 'nope', 'body', 'the body must be JSON (an empty object, or no body); it is not'],
    ];
    for (const [command, body, field, error] of cases) {
      const answer = await post(`/api/v1/grids/g1/${command}`, body);
      expect({ body, status: answer.status, answer: answer.body }).toEqual({ body, status: 400, answer: { error, field } });
    }
    const huge = await post('/api/v1/grids/g1/stop', JSON.stringify({ sellBase: true, pad: 'x'.repeat(10_000) }));
    expect(huge).toMatchObject({ status: 413, body: { field: 'body' } });
    expect(asked.commands).toEqual([]);
  });

  test('every command is logged with grid, command, result, status and client address; never the token', async () => {
    const { post, logs, lines } = setUp();
    await post('/api/v1/grids/g1/pause', undefined, { client: '192.0.2.7' });
    await post('/api/v1/grids/g2/pause', undefined, { client: '192.0.2.7' });
    await post('/api/v1/grids/nope/resume', undefined, { client: '192.0.2.8' });
    await post('/api/v1/grids/g1/stop', '{"sellBase": "yes"}', { client: '192.0.2.9' });
    await post('/api/v1/grids/g1/stop', '{"sellBase": true}', { client: '192.0.2.9' });
    const commands = logs().filter((line) => line['command'] !== undefined);
    expect(commands).toMatchObject([
      { grid: 'g1', command: 'pause', result: 'accepted', status: 200, state: 'PAUSED', client: '192.0.2.7', msg: 'control command: pause g1 accepted' },
      { grid: 'g2', command: 'pause', result: 'refused', status: 409, state: 'PAUSED', reason: 'grid g2 is PAUSED: no', client: '192.0.2.7' },
      { grid: 'nope', command: 'resume', result: 'unknown grid', status: 404, client: '192.0.2.8' },
      { grid: 'g1', command: 'stop', result: 'invalid', status: 400, client: '192.0.2.9' },
      { grid: 'g1', command: 'stop', sellBase: true, result: 'accepted', status: 200, client: '192.0.2.9' },
    ]);
    expectNoToken(...lines);
  });
});

describe('control API over a socket', () => {
  const servers: HttpServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  test("the client's address is the socket's peer: logged with the command, the key of the failure limit", async () => {
    const { control } = scriptedControl();
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', write: (line) => lines.push(line) });
    const app = createHttpApp({ health: () => new HealthBoard().report(), metrics: { contentType: 'text/plain', render: async () => '' }, api: { token: TOKEN, control: () => control, logger } });
    const server = await startHttpServer(app, '127.0.0.1', 0);
    servers.push(server);
    const answer = await fetch(`${server.url}/api/v1/grids/g1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answer.status).toBe(200);
    const wrong = await fetch(`${server.url}/api/v1/grids`, { headers: { authorization: `Bearer ${WRONG}` } });
    expect(wrong.status).toBe(401);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.find((line) => line['command'] === 'pause')).toMatchObject({ client: '127.0.0.1', result: 'accepted' });
    expect(logged.find((line) => line['reason'] === 'wrong token')).toMatchObject({ client: '127.0.0.1' });
    expectNoToken(...lines);
  });
});

const temp = useTempDir('btcbot-control-api-');
function useTempDirNow(): (name: string) => string {
  return (name) => temp.path(name);
}
