// The control API (docs/control-api.md): the grids' state and fills, and the operator's commands.
//
//   GET  /api/v1/grids                   every grid: state, levels and their orders, stats
//   GET  /api/v1/grids/:id               one grid
//   GET  /api/v1/grids/:id/fills         its stored fills, newest first (?limit=1..500, ?before=ms|cursor)
//   POST /api/v1/grids/:id/pause         hold fire: orders keep resting, counter-orders wait
//   POST /api/v1/grids/:id/resume        back to work
//   POST /api/v1/grids/:id/stop          cancel every order; {"sellBase": true} sells the base too
//   POST /api/v1/grids/:id/start         start a stopped grid again, at the current price
//
// Every route needs the bearer token (api-auth.ts). A command answers 200 with the grid's state
// after it (202 when its journal entry is not written yet: the store is slow or down), 409 when
// the grid does not take it in its state (the body says why and what it takes), 404 for an
// unknown grid, 400 naming the field for bad input, 503 while the grids are not running (btcbot
// is starting or stopping). Every command is logged with its outcome and the client's address.
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CommandOutcome, GridCommand, GridCommandName, GridControl } from '../../domain/grid-control.js';
import type { Fill } from '../../domain/trading.js';
import type { Logger } from '../telemetry/logger.js';
import { apiAuth } from './api-auth.js';
import { parseBefore, parseCommand, parseLimit, encodeCursor, InputError } from './control-input.js';
import { DEFAULT_FAILURE_LIMITS, FailureLimiter, type FailureLimiterOptions } from './failure-limiter.js';

export interface ControlApiOptions {
  /** The running grids; undefined while they are not running (starting or stopping). */
  readonly control: () => GridControl | undefined;
  /** API_TOKEN; undefined turns the API off (every route a 404 saying so). */
  readonly token: string | undefined;
  readonly logger: Logger;
  /** Failed authentications per address (default: 10 in 60 s block it for 60 s). */
  readonly limits?: FailureLimiterOptions;
  /** The client's address (default: the socket's peer; behind a proxy, the proxy's). */
  readonly clientAddress?: (c: Context) => string;
}

export const API_BASE = '/api/v1';
const MAX_BODY_BYTES = 4_096;

/** The socket's peer address; 'unknown' when there is no socket (a request made in-process). */
function socketAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function fillJson(fill: Fill) {
  return { ...fill, time: new Date(fill.timestamp).toISOString() };
}

const NOT_RUNNING = 'no grid is under control: btcbot is starting or stopping; try again in a few seconds';

export function controlApi(options: ControlApiOptions): Hono {
  const { logger } = options;
  const clientAddress = options.clientAddress ?? socketAddress;
  const api = new Hono().basePath(API_BASE);
  api.use('*', apiAuth({ token: options.token, limiter: new FailureLimiter(options.limits ?? DEFAULT_FAILURE_LIMITS), logger, clientAddress }));
  api.onError((error, c) => {
    if (error instanceof InputError) return c.json({ error: error.message, field: error.field }, 400);
    logger.error({ path: c.req.path, error: error.message }, 'control API: internal error');
    return c.json({ error: `internal error: ${error.message}` }, 500);
  });

  const unknownGrid = (c: Context, control: GridControl, id: string) =>
    c.json({ error: `no grid ${JSON.stringify(id)}: the grids are ${control.list().map((grid) => grid.id).join(', ') || 'none'}` }, 404);
  const notRunning = (c: Context) => c.json({ error: NOT_RUNNING }, 503, { 'retry-after': '5' });

  api.get('/grids', (c) => {
    const control = options.control();
    return control ? c.json({ grids: control.list() }) : notRunning(c);
  });

  api.get('/grids/:id', (c) => {
    const control = options.control();
    if (!control) return notRunning(c);
    const grid = control.get(c.req.param('id'));
    return grid ? c.json(grid) : unknownGrid(c, control, c.req.param('id'));
  });

  api.get('/grids/:id/fills', async (c) => {
    const limit = parseLimit(c.req.query('limit'));
    const before = parseBefore(c.req.query('before'));
    const control = options.control();
    if (!control) return notRunning(c);
    const id = c.req.param('id');
    const page = await control.fills(id, { limit, ...(before === undefined ? {} : { before }) });
    if (page === undefined) return unknownGrid(c, control, id);
    const nextCursor = page.next === undefined ? null : encodeCursor(page.next);
    const next = nextCursor === null ? null : `${API_BASE}/grids/${encodeURIComponent(id)}/fills?limit=${limit}&before=${nextCursor}`;
    return c.json({ grid: id, fills: page.fills.map(fillJson), nextCursor, next });
  });

  const tooLarge = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes`, field: 'body' }, 413) });
  for (const name of ['pause', 'resume', 'stop', 'start'] as const) {
    api.post(`/grids/:id/${name}`, tooLarge, async (c) => {
      const id = c.req.param('id');
      const client = clientAddress(c);
      let command: GridCommand;
      try {
        command = parseCommand(name, await c.req.text());
      } catch (error) {
        if (error instanceof InputError) logger.warn({ grid: id, command: name, result: 'invalid', status: 400, client, error: error.message }, 'control command refused: bad input');
        throw error;
      }
      const control = options.control();
      if (!control) {
        logger.warn({ grid: id, command: name, result: 'not running', status: 503, client }, 'control command refused: the grids are not running');
        return notRunning(c);
      }
      const outcome = await control.command(id, command);
      logOutcome(logger, { id, command, client, outcome });
      if (outcome.outcome === 'unknownGrid') return unknownGrid(c, control, id);
      if (outcome.outcome === 'refused') {
        const { grid } = outcome;
        return c.json({ error: outcome.reason, grid: grid.id, command: name, state: grid.state, statechart: grid.statechart, accepts: grid.accepts }, 409);
      }
      return c.json({ command: commandJson(command), journaled: outcome.journaled, grid: outcome.grid }, outcome.journaled ? 200 : 202);
    });
  }

  // A known path with another method: 405 naming the one it takes (not a 404, which would say the path is wrong).
  const only = (method: string) => (c: Context) => c.json({ error: `${c.req.method} is not allowed on ${c.req.path}: use ${method}` }, 405, { allow: method });
  api.all('/grids', only('GET'));
  api.all('/grids/:id', only('GET'));
  api.all('/grids/:id/fills', only('GET'));
  api.all('/grids/:id/:command{pause|resume|stop|start}', only('POST'));
  return api;
}

function commandJson(command: GridCommand): { type: GridCommandName; sellBase?: boolean } {
  return command.type === 'stop' ? { type: 'stop', sellBase: command.sellBase } : { type: command.type };
}

function logOutcome(logger: Logger, { id, command, client, outcome }: { id: string; command: GridCommand; client: string; outcome: CommandOutcome }): void {
  const fields = { grid: id, command: command.type, ...(command.type === 'stop' ? { sellBase: command.sellBase } : {}), client };
  if (outcome.outcome === 'accepted') {
    const { state, statechart } = outcome.grid;
    logger.info({ ...fields, result: 'accepted', status: outcome.journaled ? 200 : 202, state, statechart, journaled: outcome.journaled }, `control command: ${command.type} ${id} accepted`);
  } else if (outcome.outcome === 'refused') {
    logger.warn({ ...fields, result: 'refused', status: 409, state: outcome.grid.state, reason: outcome.reason }, `control command: ${command.type} ${id} refused`);
  } else {
    logger.warn({ ...fields, result: 'unknown grid', status: 404 }, `control command: ${command.type} ${id} refused: no such grid`);
  }
}
