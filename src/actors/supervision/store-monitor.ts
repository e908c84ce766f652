// The store's watcher: the store child of the supervision tree. It asks the database a trivial
// query every few seconds, so /health can say the store is down within seconds of it going away
// (and up again when it returns) even while no order needs it.
//
// It does not guard the orders: each order's intent is stored before it is sent, and an order
// whose intent cannot be stored waits (the order machine's recordBackoff), so nothing unrecorded
// reaches the exchange whatever this watcher says. It only tells.
import { setTimeout as sleep } from 'node:timers/promises';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import type { PartHealth } from './health.js';
import type { ChildRef } from './supervisor.js';

export interface StoreMonitorOptions {
  /** A trivial query (`select 1`); throws when the database cannot answer. */
  readonly ping: () => Promise<unknown>;
  /** Between pings (ms, default 2,000). */
  readonly intervalMs?: number;
  /** A ping with no answer this long counts as down (ms, default 3,000). */
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
}

export class StoreMonitor implements ChildRef {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private current: StoreStatus;

  constructor(private readonly options: StoreMonitorOptions) {
    this.intervalMs = options.intervalMs ?? 2_000;
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.logger = moduleLogger(options.logger ?? silentLogger, 'store');
    this.now = options.now ?? Date.now;
    this.current = { state: 'checking', since: this.now(), lastError: null };
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

  status(): StoreStatus {
    return this.current;
  }

  health(): PartHealth {
    const { state, since, lastError } = this.current;
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
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
    });
    try {
      return await Promise.race([
        this.options.ping().then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private record(error: string | undefined): void {
    const state = error === undefined ? 'up' : 'down';
    if (state === this.current.state) {
      if (error !== undefined) this.current = { ...this.current, lastError: error };
      return;
    }
    const downFor = this.current.state === 'down' ? this.now() - this.current.since : undefined;
    this.current = { state, since: this.now(), lastError: error ?? null };
    if (state === 'down') this.logger.error({ error }, 'the database is unreachable: no new order is sent until it returns (fills wait to be stored)');
    else if (downFor !== undefined) this.logger.info({ downMs: downFor }, 'the database is reachable again: trading resumes');
    this.options.onChange?.(this.current, downFor);
  }
}
