// Who may use /api/v1 (docs/control-api.md): every route needs `Authorization: Bearer <token>`
// with the token of API_TOKEN (or API_TOKEN_FILE); without a configured token the API is off and
// every route is a 404 that says how to turn it on. /health and /metrics stay open.
//
// The token is compared in constant time: both sides are hashed (SHA-256, equal lengths whatever
// was sent) and the digests compared with crypto.timingSafeEqual. Failures are counted per client
// address (failure-limiter.ts): past the limit the address gets 429 with Retry-After, a right
// token included, until the block ends. Failures are logged with the address and the reason,
// never with what was sent.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../telemetry/logger.js';
import type { FailureLimiter } from './failure-limiter.js';

export interface ApiAuthOptions {
  /** The configured token; undefined turns the API off. */
  readonly token: string | undefined;
  readonly limiter: FailureLimiter;
  readonly logger: Logger;
  /** The client's address, the key of the rate limit. */
  readonly clientAddress: (c: Context) => string;
}

export const API_OFF_MESSAGE = 'the control API is off: set API_TOKEN (or API_TOKEN_FILE) in the environment of `btcbot run` to turn it on (see docs/control-api.md)';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether a token sent matches `token`, in time that does not depend on where they differ (nor on the length sent). */
export function tokenMatcher(token: string): (given: string) => boolean {
  const expected = digest(token);
  return (given) => timingSafeEqual(digest(given), expected);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none or it is of another scheme. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

export function apiAuth(options: ApiAuthOptions): MiddlewareHandler {
  const { limiter, logger } = options;
  const matches = options.token === undefined ? undefined : tokenMatcher(options.token);
  return async (c, next) => {
    c.header('cache-control', 'no-store');
    if (matches === undefined) return c.json({ error: API_OFF_MESSAGE }, 404);
    const client = options.clientAddress(c);
    const request = { client, method: c.req.method, path: c.req.path };
    const blocked = limiter.blockedFor(client);
    if (blocked > 0) return tooMany(c, blocked);
    const header = c.req.header('authorization');
    const given = bearerToken(header);
    if (given !== undefined && matches(given)) {
      limiter.succeed(client);
      return next();
    }
    const reason = header === undefined ? 'no Authorization header' : given === undefined ? 'not a Bearer token' : 'wrong token';
    const blockedFor = limiter.fail(client);
    logger.warn({ ...request, reason }, `control API: authentication failed (${reason})`);
    if (blockedFor > 0) logger.warn({ ...request, blockedForMs: blockedFor }, 'control API: too many failed authentications: the address is blocked');
    c.header('www-authenticate', 'Bearer realm="btcbot"');
    const error = given === undefined ? 'authentication required: send the header "Authorization: Bearer <API_TOKEN>"' : 'wrong token';
    return c.json({ error }, 401);
  };
}

function tooMany(c: Context, blockedMs: number): Response {
  const seconds = Math.ceil(blockedMs / 1000);
  c.header('retry-after', String(seconds));
  return c.json({ error: `too many failed authentications from this address: retry in ${seconds} s` }, 429);
}
