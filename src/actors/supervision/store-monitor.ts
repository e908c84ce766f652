// The store's watcher: the store child of the supervision tree. It asks the database a trivial
// query every few seconds, so /health can say the store is down within seconds of it going away
// (and up again when it returns) even while no order needs it.
//
// Each ping has a 5 s timeout: one with no answer by then (or still outstanding when /health asks,
// 5 s after it was sent) counts as down. Its duration is the database component's latency on
// /health (the last answered ping's).
//
// It does not guard the orders: each order's intent is stored before it is sent, and an order
// whose intent cannot be stored waits (the order machine's recordBackoff), so nothing unrecorded
// reaches the exchange whatever this watcher says. It only tells.
import { setTimeout as sleep } from 'node:timers/promises';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import type { DatabaseHealth } from '../../domain/health.js';
import type { PartHealth } from './health.js';
import type { ChildRef } from './supervisor.js';

export interface StoreMonitorOptions {
  /** A trivial query (`select 1`); throws when the database cannot answer. */
  readonly ping: () => Promise<unknown>;
  /** Between pings (ms, default 2,000). */
  readonly intervalMs?: number;
  /** A ping with no answer this long counts as down (ms, default 5,000). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Told when the database goes down and when it is back (`downForMs`: how long the outage lasted). */
  readonly onChange?: (status: StoreStatus, downForMs: number | undefined) => void;
}

type Observer = { error?: (error: unknown) => void; complete?: () => void };

export interface StoreStatus {
  readonly state: 'checking' | 'up' | 'down';
  /** Since when it is in that state (ms). */
  readonly since: number;
  readonly lastError: string | null;
  /** How long the last answered ping took (ms); null before the first answer. */
  readonly latencyMs: number | null;
}

export class StoreMonitor implements ChildRef {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private current: StoreStatus;
  /** When the ping under way was sent (undefined: none is). */
  private pingSentAt: number | undefined;
  /** The last answered ping's duration (ms). */
  private latencyMs: number | null = null;

  constructor(private readonly options: StoreMonitorOptions) {
    this.intervalMs = options.intervalMs ?? 2_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.logger = moduleLogger(options.logger ?? silentLogger, 'store');
    this.now = options.now ?? Date.now;
    this.current = { state: 'checking', since: this.now(), lastError: null, latencyMs: null };
  }

  start(): void {
    void this.watch();
  }

  stop(): void {
    this.stopping.abort();
  }

  /** The watcher never fails by itself: a database that is down is a state, not an error. */
  subscribe(_observer: Observer): { unsubscribe(): void } {
    return { unsubscribe: () => undefined };
  }

  /** The last ping's verdict; a ping outstanding past the timeout is a failed one, also before its timer fires. */
  status(): StoreStatus {
    const sentAt = this.pingSentAt;
    if (sentAt !== undefined && this.now() - sentAt > this.timeoutMs) {
      const lastError = `no answer within ${this.timeoutMs} ms`;
      return this.current.state === 'down' ? { ...this.current, lastError } : { ...this.current, state: 'down', since: sentAt + this.timeoutMs, lastError };
    }
    return this.current;
  }

  /** /health's database component: the last ping's verdict and how long it took. */
  component(): DatabaseHealth {
    const { state, lastError, latencyMs } = this.status();
    if (state === 'down') return { status: 'unhealthy', latency_ms: latencyMs, reason: `the database is unreachable (${lastError})` };
    return { status: 'healthy', latency_ms: latencyMs };
  }

  health(): PartHealth {
    const { state, since, lastError } = this.status();
    const detail = { since: new Date(since).toISOString(), ...(lastError === null ? {} : { lastError }) };
    if (state === 'down') return { healthy: false, state, reason: `the database is unreachable (${lastError}): no new order is sent until it returns`, detail };
    return { healthy: true, state, detail };
  }

  private async watch(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const error = await this.pingOnce();
      if (signal.aborted) return;
      this.record(error);
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** undefined when the database answered in time, else what went wrong. */
  private async pingOnce(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const sentAt = this.now();
    this.pingSentAt = sentAt;
    const started = performance.now();
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
    });
    try {
      return await Promise.race([
        this.options.ping().then(
          () => {
            this.latencyMs = Math.round((performance.now() - started) * 10) / 10;
            return undefined;
          },
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
      if (this.pingSentAt === sentAt) this.pingSentAt = undefined;
    }
  }

  private record(error: string | undefined): void {
    const state = error === undefined ? 'up' : 'down';
    const latencyMs = this.latencyMs;
    if (state === this.current.state) {
      this.current = { ...this.current, latencyMs, ...(error === undefined ? {} : { lastError: error }) };
      return;
    }
    const downFor = this.current.state === 'down' ? this.now() - this.current.since : undefined;
    this.current = { state, since: this.now(), lastError: error ?? null, latencyMs };
    if (state === 'down') this.logger.error({ error }, 'the database is unreachable: no new order is sent until it returns (fills wait to be stored)');
    else if (downFor !== undefined) this.logger.info({ downMs: downFor }, 'the database is reachable again: trading resumes');
    this.options.onChange?.(this.current, downFor);
  }
}
