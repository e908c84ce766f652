// The HTTP endpoints of `btcbot run`: /health and /metrics (open), and with `api` the control API
// under /api/v1 (bearer token; see control-api.ts and docs/control-api.md).
import { Hono } from 'hono';
import type { HealthReport } from '../../domain/health.js';
import { controlApi, type ControlApiOptions } from './control-api.js';
import { healthRoute } from './health-route.js';
import { metricsRoute, type MetricsRouteOptions, type MetricsSource } from './metrics-route.js';

export interface HttpParts {
  readonly health: () => HealthReport;
  readonly metrics: MetricsSource;
  /** Values never shown on /health (API keys, the database password): replaced by "[redacted]". */
  readonly secrets?: readonly string[];
  /** How /metrics shares its renderings (metrics-route.ts). */
  readonly metricsOptions?: MetricsRouteOptions;
  /** The control API (/api/v1), when a token is configured. */
  readonly api?: ControlApiOptions;
}

export function createHttpApp(parts: HttpParts): Hono {
  const app = new Hono();
  app.route('/', healthRoute(parts.health, parts.secrets));
  app.route('/', metricsRoute(parts.metrics, parts.metricsOptions));
  if (parts.api) app.route('/', controlApi(parts.api));
  const endpoints = `there are GET /health and GET /metrics${parts.api ? ', and the control API under /api/v1' : ''}`;
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path} (${endpoints})` }, 404));
  app.onError((error, c) => c.json({ error: `internal error: ${error.message}` }, 500));
  return app;
}
