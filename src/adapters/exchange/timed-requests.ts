// Timing of every REST call to the exchange: `timedRequests(exchange, ...observers)` returns the
// same exchange with each request method (the port's requests and fetchTick) timed, and tells each
// observer when a call begins and how it ended. Streams (watch*) and everything else pass through.
//
// Two observers read it: the metrics (btcbot_api_latency_seconds{exchange, call}) and
// RecentRequests, /health's exchange_api component:
// - latency_ms: the median duration of the last 20 answered calls (an answer is a success, or a
//   refusal such as "insufficient funds" or "no such order": the API worked);
// - unhealthy when the calls keep failing: failures (network, timeout, busy, rate limit, auth,
//   unknown) with no success between them spanning 30 s or more. A call still unanswered 5 s after it
//   began counts as failing from then on, so a hanging API is seen without waiting for ccxt's own
//   timeout.
//
//   const requests = new RecentRequests();
//   const exchange = timedRequests(await CcxtExchange.create(...), metrics.observeRequest, requests.observe);
//   board.registerComponent('exchange_api', () => requests.health());
import type { RequestObserver, RequestResult } from '../../domain/figures.js';
import type { ExchangeApiHealth } from '../../domain/health.js';
import { ExchangeError, type ExchangeErrorKind, type ExchangeRequests } from './port.js';

export type { RequestObserver, RequestResult } from '../../domain/figures.js';

/** The request methods that are timed: each is one REST call (loadMarket only the first time: then ccxt's cache answers). */
export const TIMED_CALLS = ['loadMarket', 'createLimitOrder', 'createMarketOrder', 'cancelOrder', 'fetchOrderByClientId', 'fetchOpenOrders', 'fetchFills', 'fetchBalance', 'fetchTick'] as const;

export type TimedCall = (typeof TIMED_CALLS)[number];

/** `exchange` with its REST calls timed; every observer is told of each call. An observer that throws is ignored. */
export function timedRequests<T extends ExchangeRequests & { readonly exchangeId?: string }>(exchange: T, ...observers: readonly RequestObserver[]): T {
  const wrappers = new Map<PropertyKey, unknown>();
  const timed = new Set<PropertyKey>(TIMED_CALLS);
  return new Proxy(exchange, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(key);
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = timed.has(key) ? timeCall(target, String(key), method, observers) : method.bind(target);
        wrappers.set(key, wrapper);
      }
      return wrapper;
    },
  });
}

function timeCall(target: { readonly exchangeId?: string }, call: string, method: (...args: unknown[]) => unknown, observers: readonly RequestObserver[]) {
  return async (...args: unknown[]): Promise<unknown> => {
    const exchange = target.exchangeId ?? 'unknown';
    const ends = observers.map((observe) => quietly(() => observe(exchange, call)));
    const started = performance.now();
    // A failure's kind: the port's error kind, `unknown` for anything else thrown.
    const end = (error?: ExchangeErrorKind): void => {
      const result: RequestResult = { exchange, call, seconds: (performance.now() - started) / 1000, ...(error === undefined ? {} : { error }) };
      for (const ended of ends) if (ended !== undefined) quietly(() => ended(result));
    };
    try {
      const value = await method.apply(target, args);
      end();
      return value;
    } catch (error) {
      end(error instanceof ExchangeError ? error.kind : 'unknown');
      throw error;
    }
  };
}

/** Observers never break a call. */
function quietly<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

export interface RecentRequestsOptions {
  /** Answered calls the latency is the median of (default 20). */
  readonly window?: number;
  /** Failures with no success between them for this long make the API unhealthy (ms, default 30,000). */
  readonly failingForMs?: number;
  /** A call unanswered this long counts as failing (ms, default 5,000). */
  readonly hangMs?: number;
  readonly now?: () => number;
}

/** Kinds of failure where the API did its job (it answered, and refused): they count as answers. */
const ANSWERS: ReadonlySet<string> = new Set<ExchangeErrorKind>(['rejected', 'notFound']);

/** The recent REST calls, as /health's exchange_api component reads them. */
export class RecentRequests {
  private readonly window: number;
  private readonly failingForMs: number;
  private readonly hangMs: number;
  private readonly now: () => number;
  /** Durations (ms) of the last answered calls, oldest first. */
  private readonly durations: number[] = [];
  private readonly inFlight = new Map<number, { readonly call: string; readonly since: number }>();
  private nextId = 0;
  /** The first failure since the last success, and the latest. */
  private failing: { since: number; last: number; error: string } | undefined;
  /** When a call was last answered. */
  private lastAnswerAt = Number.NEGATIVE_INFINITY;

  constructor(options: RecentRequestsOptions = {}) {
    this.window = options.window ?? 20;
    this.failingForMs = options.failingForMs ?? 30_000;
    this.hangMs = options.hangMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** The observer to pass to timedRequests. */
  readonly observe: RequestObserver = (_exchange, call) => {
    const id = this.nextId++;
    this.inFlight.set(id, { call, since: this.now() });
    return (result) => {
      this.inFlight.delete(id);
      this.record(result);
    };
  };

  health(): ExchangeApiHealth {
    const now = this.now();
    const latency_ms = this.medianMs();
    let failing = this.failing;
    for (const { call, since } of this.inFlight.values()) {
      // Failing from 5 s after it began, or from the last answer of another call if that came later.
      const hungAt = Math.max(since + this.hangMs, this.lastAnswerAt);
      if (now < since + this.hangMs) continue;
      const error = `a ${call} call has had no answer for ${Math.round((now - since) / 1000)} s`;
      failing = failing === undefined ? { since: hungAt, last: now, error } : { since: Math.min(failing.since, hungAt), last: now, error };
    }
    if (failing !== undefined && failing.last - failing.since >= this.failingForMs) {
      const seconds = Math.round((failing.last - failing.since) / 1000);
      return { status: 'unhealthy', latency_ms, reason: `the exchange's REST API has been failing for ${seconds} s (${failing.error})` };
    }
    return { status: 'healthy', latency_ms };
  }

  private record(result: RequestResult): void {
    const answered = result.error === undefined || ANSWERS.has(result.error);
    if (answered) {
      this.durations.push(result.seconds * 1000);
      if (this.durations.length > this.window) this.durations.shift();
      this.failing = undefined;
      this.lastAnswerAt = this.now();
      return;
    }
    const at = this.now();
    const error = `${result.call}: ${result.error}`;
    this.failing = this.failing === undefined ? { since: at, last: at, error } : { since: this.failing.since, last: at, error };
  }

  private medianMs(): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    return Math.round(median * 10) / 10;
  }
}
