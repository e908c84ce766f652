// The HTTP endpoints over a real socket: /health's status code follows the health report, /metrics
// serves the registry's exposition, unknown paths are a clear 404, a taken port a clear error.
import { afterEach, describe, expect, test } from 'vitest';
import { HealthBoard } from '../../../src/actors/supervision/health.js';
import { createHttpApp } from '../../../src/adapters/http/http-app.js';
import { startHttpServer, type HttpServer } from '../../../src/adapters/http/http-server.js';
import { ConfigError } from '../../../src/config/config-error.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(board: HealthBoard): Promise<HttpServer> {
  const app = createHttpApp({ health: () => board.report(), metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'btcbot_up 1\n' } });
  const server = await startHttpServer(app, '127.0.0.1', 0);
  servers.push(server);
  return server;
}

describe('HTTP endpoints', () => {
  test('GET /health: 200 with the parts while healthy, 503 naming the problem when not, never cached', async () => {
    const board = new HealthBoard();
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

  test('a port in use is a ConfigError that says what to set', async () => {
    const first = await serve(new HealthBoard());
    const app = createHttpApp({ health: () => new HealthBoard().report(), metrics: { contentType: 'text/plain', render: async () => '' } });
    const attempt = startHttpServer(app, '127.0.0.1', first.port);
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(`port ${first.port} on 127.0.0.1 is already in use (another btcbot?): set HTTP_PORT (or http.port) to a free port`);
  });
});
