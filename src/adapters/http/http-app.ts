// The HTTP endpoints of `btcbot run`: /health and /metrics (more come with the dashboard).
import { Hono } from 'hono';
import type { HealthReport } from '../../domain/health.js';
import { healthRoute } from './health-route.js';
import { metricsRoute, type MetricsRouteOptions, type MetricsSource } from './metrics-route.js';

export interface HttpParts {
  readonly health: () => HealthReport;
  readonly metrics: MetricsSource;
  /** Values never shown on /health (API keys, the database password): replaced by "[redacted]". */
  readonly secrets?: readonly string[];
  /** How /metrics shares its renderings (metrics-route.ts). */
  readonly metricsOptions?: MetricsRouteOptions;
}

export function createHttpApp(parts: HttpParts): Hono {
  const app = new Hono();
  app.route('/', healthRoute(parts.health, parts.secrets));
  app.route('/', metricsRoute(parts.metrics, parts.metricsOptions));
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path} (there are GET /health and GET /metrics)` }, 404));
  app.onError((error, c) => c.json({ error: `internal error: ${error.message}` }, 500));
  return app;
}
