// GET /metrics: the Prometheus exposition of the app's registry (restarts, actor states, process).
import { Hono } from 'hono';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export function metricsRoute(metrics: MetricsSource): Hono {
  return new Hono().get('/metrics', async (c) => {
    c.header('content-type', metrics.contentType);
    c.header('cache-control', 'no-store');
    return c.body(await metrics.render());
  });
}
