// Failed authentications per client address: `maxFailures` within `windowMs` block the address
// for `blockMs`, during which every request from it is refused, a right token included (a
// guesser learns nothing while blocked). A success clears the address's failures. The table is
// bounded: at most `maxTracked` addresses, the stalest forgotten first.

export interface FailureLimiterOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly blockMs: number;
  readonly maxTracked?: number;
  readonly now?: () => number;
}

interface AddressRecord {
  /** Times of the failures within the window, oldest first. */
  failures: number[];
  blockedUntil: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimiterOptions = { maxFailures: 10, windowMs: 60_000, blockMs: 60_000 };

export class FailureLimiter {
  private readonly records = new Map<string, AddressRecord>();
  private readonly now: () => number;

  constructor(private readonly options: FailureLimiterOptions = DEFAULT_FAILURE_LIMITS) {
    this.now = options.now ?? Date.now;
  }

  /** How long `address` stays blocked (ms); 0 when it is not. */
  blockedFor(address: string): number {
    const record = this.records.get(address);
    return record === undefined ? 0 : Math.max(0, record.blockedUntil - this.now());
  }

  /** Counts a failure; returns how long the address is now blocked (ms), 0 while under the limit. */
  fail(address: string): number {
    const now = this.now();
    const record = this.records.get(address) ?? { failures: [], blockedUntil: 0 };
    this.records.delete(address); // re-inserted last: the Map's order is staleness
    record.failures = record.failures.filter((at) => at > now - this.options.windowMs);
    record.failures.push(now);
    if (record.failures.length >= this.options.maxFailures) {
      record.blockedUntil = now + this.options.blockMs;
      record.failures = [];
    }
    this.records.set(address, record);
    this.forgetStalest();
    return Math.max(0, record.blockedUntil - now);
  }

  /** A right token: the address starts afresh (unless it is blocked, which this does not lift). */
  succeed(address: string): void {
    if (this.blockedFor(address) === 0) this.records.delete(address);
  }

  /** Addresses tracked now (for tests). */
  get size(): number {
    return this.records.size;
  }

  private forgetStalest(): void {
    const max = this.options.maxTracked ?? 10_000;
    if (this.records.size <= max) return;
    const now = this.now();
    for (const [address, record] of this.records) {
      if (record.blockedUntil <= now && record.failures.every((at) => at <= now - this.options.windowMs)) this.records.delete(address);
    }
    // Still too many: the least recently failing go first.
    for (const address of this.records.keys()) {
      if (this.records.size <= max) break;
      this.records.delete(address);
    }
  }
}
