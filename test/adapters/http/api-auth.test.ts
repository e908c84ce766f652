// The token check takes the constant-time path: both sides hashed to 32 bytes and compared with
// crypto.timingSafeEqual, whatever length was sent (so that neither the position of the first
// difference nor the length leaks through the time taken). And the failure limiter's bookkeeping.
import { describe, expect, test, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { timingSafeEqual } = await import('node:crypto');
const { tokenMatcher } = await import('../../../src/adapters/http/api-auth.js');
const { FailureLimiter } = await import('../../../src/adapters/http/failure-limiter.js');

const TOKEN = 'a-token-of-32-characters-0123456';

describe('the token check', () => {
  test('every comparison goes through crypto.timingSafeEqual on two SHA-256 digests, whatever the length sent', () => {
    const matches = tokenMatcher(TOKEN);
    const compare = vi.mocked(timingSafeEqual);
    compare.mockClear();
    const sent = [TOKEN, 'x', `${TOKEN}${TOKEN}`, '', TOKEN.replace(/.$/, '7'), 'é'.repeat(1000)];
    expect(sent.map(matches)).toEqual([true, false, false, false, false, false]);
    expect(compare).toHaveBeenCalledTimes(sent.length);
    for (const [a, b] of compare.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  test('the route uses it: a request with a token makes one constant-time comparison', async () => {
    const { createHttpApp } = await import('../../../src/adapters/http/http-app.js');
    const { HealthBoard } = await import('../../../src/actors/supervision/health.js');
    const { silentLogger } = await import('../../../src/adapters/telemetry/logger.js');
    const app = createHttpApp({
      health: () => new HealthBoard().report(),
      metrics: { contentType: 'text/plain', render: async () => '' },
      api: { token: TOKEN, control: () => ({ list: () => [], get: () => undefined, fills: async () => undefined, command: async () => ({ outcome: 'unknownGrid' }) }), logger: silentLogger },
    });
    const compare = vi.mocked(timingSafeEqual);
    compare.mockClear();
    expect((await app.request('/api/v1/grids', { headers: { authorization: 'Bearer short' } })).status).toBe(401);
    expect((await app.request('/api/v1/grids', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect(compare).toHaveBeenCalledTimes(2);
  });
});

describe('the failure limiter', () => {
  test('blocks at the limit for blockMs, counts only the window, and forgets the stalest addresses past maxTracked', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 1_000, blockMs: 5_000, maxTracked: 2, now: () => now });
    expect(limiter.fail('a')).toBe(0);
    now = 1_500; // the first failure left the window
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(5_000);
    expect(limiter.blockedFor('a')).toBe(5_000);
    limiter.succeed('a'); // does not lift a block
    expect(limiter.blockedFor('a')).toBe(5_000);
    now = 6_500;
    expect(limiter.blockedFor('a')).toBe(0);
    limiter.fail('b');
    limiter.fail('c');
    limiter.fail('d');
    expect(limiter.size).toBe(2);
    expect(limiter.blockedFor('nobody')).toBe(0);
  });
});
