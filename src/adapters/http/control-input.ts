// What the control API reads from a request, checked strictly: a problem is an InputError naming
// the field (a 400), never an exception deeper in. Also the fills cursor's encoding.
//
// The fills cursor: `before` is either a time in epoch milliseconds (the fills executed before it)
// or the `nextCursor` of the previous page: base64url of "<ms>:<trade id>", opaque to clients. A
// cursor always starts with M, N or O (the encoding of a digit), so the two never collide.
import type { FillPosition, GridCommand, GridCommandName } from '../../domain/grid-control.js';

export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export const DEFAULT_FILLS_LIMIT = 50;
export const MAX_FILLS_LIMIT = 500;

/** JSON text cut at 40 characters, for an error message. */
function cut(json: string): string {
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

/** A string as quoted in an error message. */
const shown = (value: string): string => cut(JSON.stringify(value));

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_FILLS_LIMIT;
  const limit = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_FILLS_LIMIT)) {
    throw new InputError('limit', `limit must be a whole number from 1 to ${MAX_FILLS_LIMIT} (default ${DEFAULT_FILLS_LIMIT}), got ${shown(raw)}`);
  }
  return limit;
}

export function encodeCursor(position: FillPosition): string {
  return Buffer.from(`${position.timestamp}:${position.tradeId ?? ''}`, 'utf8').toString('base64url');
}

const BEFORE_HELP = 'before must be a time in epoch milliseconds or the nextCursor of the previous page';

export function parseBefore(raw: string | undefined): FillPosition | undefined {
  if (raw === undefined) return undefined;
  if (/^\d{1,16}$/.test(raw)) {
    const timestamp = Number(raw);
    if (!Number.isSafeInteger(timestamp)) throw new InputError('before', `${BEFORE_HELP}, got ${shown(raw)}`);
    return { timestamp };
  }
  const decoded = /^[A-Za-z0-9_-]{4,700}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : '';
  const match = /^(\d{1,16}):(.+)$/s.exec(decoded);
  // Strict: only what encodeCursor makes (a mangled cursor must not page from somewhere else).
  if (match === null || !Number.isSafeInteger(Number(match[1])) || encodeCursor({ timestamp: Number(match[1]), tradeId: match[2]! }) !== raw) {
    throw new InputError('before', `${BEFORE_HELP}, got ${shown(raw)}`);
  }
  return { timestamp: Number(match[1]), tradeId: match[2]! };
}

/** The fields each command's body may have. */
const FIELDS: Readonly<Record<GridCommandName, readonly string[]>> = { pause: [], resume: [], stop: ['sellBase'], start: [] };

/** The command from its name and the body's text: empty, or a JSON object of the command's fields. */
export function parseCommand(name: GridCommandName, text: string): GridCommand {
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new InputError('body', `the body must be JSON${name === 'stop' ? ' such as {"sellBase": true}' : ' (an empty object, or no body)'}; it is not`);
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('body', 'the body must be a JSON object');
  const allowed = FIELDS[name];
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new InputError(key, `unknown field ${shown(key)}: ${name} takes ${allowed.length === 0 ? 'no field' : allowed.map((field) => `"${field}"`).join(', ')}`);
    }
  }
  if (name !== 'stop') return { type: name };
  const sellBase = (body as { sellBase?: unknown }).sellBase;
  if (sellBase !== undefined && typeof sellBase !== 'boolean') {
    throw new InputError('sellBase', `sellBase must be true or false (a JSON boolean), got ${cut(JSON.stringify(sellBase))}`);
  }
  return { type: 'stop', sellBase: sellBase ?? false };
}
