// GET /health: the actors' states, derived when asked (src/actors/supervision/health.ts). 200 when every part
// is healthy, 503 otherwise, so a Docker healthcheck, Watchtower or an uptime probe needs only the
// status code; the body says which part is unhealthy and why, for a human.
import { Hono } from 'hono';
import type { HealthReport } from '../../domain/health.js';

export function healthRoute(report: () => HealthReport): Hono {
  return new Hono().get('/health', (c) => {
    const health = report();
    c.header('cache-control', 'no-store');
    return c.json(health, health.status === 'healthy' ? 200 : 503);
  });
}
