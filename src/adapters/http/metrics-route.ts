// GET /metrics: the Prometheus exposition of the app's registry (docs/telemetry.md lists it).
//
// Rendering costs about a millisecond of CPU (most of it prom-client's process metrics) and waits
// one event-loop turn (the event-loop lag probe), so it is shared: one rendering serves every
// scrape for `maxAgeMs` after it (default 1 s; a Prometheus scrape interval is 15 s or more). The
// first scrape after that starts the next rendering, and scrapes meanwhile get the previous text
// (at most `maxStaleMs` old, default 5 s; older, they wait for the new one, as the first scrape
// does). /metrics then answers hundreds of scrapes a second without making any wait for a
// rendering, on a bot that trades at the same time.
import { Hono } from 'hono';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface MetricsRouteOptions {
  /** How long one rendering serves the scrapes after it (ms, default 1,000; 0: every scrape renders, but concurrent ones share). */
  readonly maxAgeMs?: number;
  /** How old a rendering may be served while the next one is under way (ms, default 5,000). */
  readonly maxStaleMs?: number;
  readonly now?: () => number;
}

export function metricsRoute(metrics: MetricsSource, options: MetricsRouteOptions = {}): Hono {
  const maxAgeMs = options.maxAgeMs ?? 1_000;
  const maxStaleMs = Math.max(maxAgeMs, options.maxStaleMs ?? 5_000);
  const now = options.now ?? (() => performance.now());
  let rendering: Promise<string> | undefined;
  let rendered: { readonly text: string; readonly at: number } | undefined;
  const exposition = (): Promise<string> => {
    const age = rendered === undefined ? Number.POSITIVE_INFINITY : now() - rendered.at;
    if (age < maxAgeMs) return Promise.resolve(rendered!.text);
    rendering ??= metrics.render().then(
      (text) => {
        rendered = { text, at: now() };
        rendering = undefined;
        return text;
      },
      (error: unknown) => {
        rendering = undefined;
        throw error;
      },
    );
    if (age < maxStaleMs) {
      rendering.catch(() => undefined); // the next scrape renders again, and fails if it still fails
      return Promise.resolve(rendered!.text);
    }
    return rendering;
  };
  return new Hono().get('/metrics', async (c) => {
    const text = await exposition();
    c.header('content-type', metrics.contentType);
    c.header('cache-control', 'no-store');
    return c.body(text);
  });
}
