// The HTTP endpoints over a real socket: /health's status code follows the health report, /metrics
// serves the registry's exposition, unknown paths are a clear 404, a taken port a clear error.
import { afterEach, describe, expect, test } from 'vitest';
import { HealthBoard } from '../../../src/actors/supervision/health.js';
import { StoreMonitor } from '../../../src/actors/supervision/store-monitor.js';
import { RecentRequests } from '../../../src/adapters/exchange/timed-requests.js';
import { createHttpApp } from '../../../src/adapters/http/http-app.js';
import { startHttpServer, type HttpServer } from '../../../src/adapters/http/http-server.js';
import { ConfigError } from '../../../src/config/config-error.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(board: HealthBoard, secrets: readonly string[] = []): Promise<HttpServer> {
  const app = createHttpApp({ health: () => board.report(), metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'btcbot_up 1\n' }, secrets });
  const server = await startHttpServer(app, '127.0.0.1', 0);
  servers.push(server);
  return server;
}

describe('HTTP endpoints', () => {
  test('GET /health: 200 with the parts while healthy, 503 naming the problem when not, never cached', async () => {
    const board = new HealthBoard();
    for (const name of ['database', 'websocket', 'exchange_api'] as const) board.disableComponent(name);
    let down = false;
    board.register('store', () => (down ? { healthy: false, state: 'down', reason: 'the database is unreachable' } : { healthy: true, state: 'up' }));
    const { url } = await serve(board);
    const healthy = await fetch(`${url}/health`);
    expect(healthy.status).toBe(200);
    expect(healthy.headers.get('cache-control')).toBe('no-store');
    expect(await healthy.json()).toMatchObject({ status: 'healthy', parts: { store: { state: 'up' } } });
    down = true;
    const unhealthy = await fetch(`${url}/health`);
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toMatchObject({ status: 'unhealthy', problems: ['store: the database is unreachable'] });
    down = false;
    const again = await fetch(`${url}/health`);
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await again.json()).toMatchObject({ status: 'healthy', problems: [] });
  });

  test('GET /health answers at once while a probe hangs: the store ping and a REST call outstanding past 5 s are failed probes, 503', async () => {
    let now = Date.now();
    const clock = () => now;
    let answered = 0;
    const monitor = new StoreMonitor({ ping: () => (answered++ === 0 ? Promise.resolve() : new Promise(() => undefined)), intervalMs: 10, now: clock });
    const requests = new RecentRequests({ now: clock });
    const board = new HealthBoard({ trading_mode: 'live', now: clock });
    board.registerComponent('database', () => monitor.component());
    board.registerComponent('exchange_api', () => requests.health());
    board.registerComponent('websocket', () => ({ status: 'healthy', connected: true }));
    monitor.start();
    try {
      const { url } = await serve(board);
      // The first ping answered, the second hangs; a REST call hangs too.
      while (answered < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      requests.observe('bingx', 'fetchOpenOrders');
      const healthy = await fetch(`${url}/health`);
      expect(healthy.status).toBe(200);
      now += 5_001;
      let started = performance.now();
      const dbDown = await fetch(`${url}/health`);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(dbDown.status).toBe(503);
      const body = (await dbDown.json()) as { components: Record<string, unknown>; problems: string[] };
      expect(body.components['database']).toMatchObject({ status: 'unhealthy', reason: 'the database is unreachable (no answer within 5000 ms)' });
      expect(body.components['exchange_api']).toMatchObject({ status: 'healthy' }); // failing for a while only: 30 s
      now += 30_000;
      started = performance.now();
      const apiDown = await fetch(`${url}/health`);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(((await apiDown.json()) as { components: Record<string, unknown> }).components['exchange_api']).toMatchObject({
        status: 'unhealthy',
        reason: "the exchange's REST API has been failing for 30 s (a fetchOpenOrders call has had no answer for 35 s)",
      });
    } finally {
      monitor.stop();
    }
  });

  test('GET /health never shows a secret, wherever an error message carries one', async () => {
    const board = new HealthBoard();
    const key = 'key-5f0c2e9a71d4';
    const secret = 'secret-"9b1\\e44a0c';
    board.register('exchange', () => ({ healthy: false, state: 'failed', reason: `auth refused for ${key}`, detail: { lastError: `signature ${secret} invalid` } }));
    board.registerComponent('database', () => ({ status: 'unhealthy', latency_ms: null, reason: 'connect postgres://bot:pa55word@db:5432/btcbot refused' }));
    const { url } = await serve(board, [key, secret, 'pa55word', 'x']);
    const text = await (await fetch(`${url}/health`)).text();
    expect(text).not.toContain(key);
    expect(text).not.toContain('9b1');
    expect(text).not.toContain('pa55word');
    expect(text).toContain('auth refused for [redacted]');
    expect(text).toContain('postgres://bot:[redacted]@db:5432/btcbot');
    expect(JSON.parse(text)).toMatchObject({ status: 'unhealthy', parts: { exchange: { detail: { lastError: 'signature [redacted] invalid' } } } });
  });

  test('GET /metrics serves the exposition with its content type; other paths are a 404 that lists the endpoints', async () => {
    const { url } = await serve(new HealthBoard());
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toBe('btcbot_up 1\n');
    const missing = await fetch(`${url}/healthz`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no such endpoint: GET /healthz (there are GET /health and GET /metrics)' });
  });

  test('/metrics shares renderings: concurrent scrapes one, then one a second, the previous served while the next renders', async () => {
    let now = 0;
    let renders = 0;
    const release: Array<() => void> = [];
    let failNext = false;
    const metrics = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      render: () =>
        new Promise<string>((resolve, reject) => {
          const n = ++renders;
          release.push(() => (failNext ? ((failNext = false), reject(new Error('registry broken'))) : resolve(`btcbot_render ${n}\n`)));
        }),
    };
    const app = createHttpApp({ health: () => new HealthBoard().report(), metrics, metricsOptions: { now: () => now } });
    const scrape = async () => {
      const response = await app.request('/metrics');
      return `${response.status} ${await response.text()}`;
    };
    const settle = () => {
      for (const done of release.splice(0)) done();
    };
    // The first scrapes wait for the first rendering, all of them the same one.
    const first = [scrape(), scrape(), scrape()];
    await new Promise((resolve) => setTimeout(resolve, 10));
    settle();
    expect(await Promise.all(first)).toEqual(Array(3).fill('200 btcbot_render 1\n'));
    now += 999;
    expect(await scrape()).toBe('200 btcbot_render 1\n'); // still fresh: no rendering
    expect(renders).toBe(1);
    // A second later: the scrape starts the next rendering and gets the previous text at once.
    now += 1;
    expect(await scrape()).toBe('200 btcbot_render 1\n');
    expect(renders).toBe(2);
    expect(await scrape()).toBe('200 btcbot_render 1\n'); // the rendering under way is not started twice
    expect(renders).toBe(2);
    settle();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await scrape()).toBe('200 btcbot_render 2\n');
    // Older than 5 s: a scrape waits for the new rendering; a failed one is a 500 and the next scrape renders again.
    now += 5_000;
    failNext = true;
    const failing = scrape();
    await new Promise((resolve) => setTimeout(resolve, 10));
    settle();
    expect(await failing).toBe('500 {"error":"internal error: registry broken"}');
    const retried = scrape();
    await new Promise((resolve) => setTimeout(resolve, 10));
    settle();
    expect(await retried).toBe('200 btcbot_render 4\n');
  });

  test('a port in use is a ConfigError that says what to set', async () => {
    const first = await serve(new HealthBoard());
    const app = createHttpApp({ health: () => new HealthBoard().report(), metrics: { contentType: 'text/plain', render: async () => '' } });
    const attempt = startHttpServer(app, '127.0.0.1', first.port);
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(`port ${first.port} on 127.0.0.1 is already in use (another btcbot?): set HTTP_PORT (or http.port) to a free port`);
  });
});
