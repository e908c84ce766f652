// GET /health: the deployment's summary and the actors' states, derived when asked
// (src/actors/supervision/health.ts). 200 when every part and component is healthy, 503 otherwise,
// so a Docker healthcheck, Watchtower or an uptime probe needs only the status code; the body says
// which part is unhealthy and why, for a human. docs/telemetry.md describes every field.
//
// The report is built from last-known states only (no probe is awaited), so it answers at once even
// while a probe hangs. It is not logged. Secrets (API keys, the database password) are replaced by
// "[redacted]" wherever an error message might carry one.
import { Hono } from 'hono';
import type { HealthReport } from '../../domain/health.js';

export function healthRoute(report: () => HealthReport, secrets: readonly string[] = []): Hono {
  const hidden = secrets.filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
  return new Hono().get('/health', (c) => {
    const health = report();
    let body = JSON.stringify(health);
    for (const secret of hidden) body = body.replaceAll(JSON.stringify(secret).slice(1, -1), '[redacted]');
    c.header('cache-control', 'no-store');
    c.header('content-type', 'application/json; charset=UTF-8');
    return c.body(body, health.status === 'healthy' ? 200 : 503);
  });
}
