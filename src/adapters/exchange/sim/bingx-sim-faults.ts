// Fault injection for the BingX simulator: latency, HTTP 500s, "system busy" answers, HTTP 429
// rate limits, and order creations that are carried out but never answered in time. Each private
// request draws from a seeded PRNG (mulberry32), so a given seed and request sequence always
// meets the same faults.
import { UsageError } from '../../../cli/usage-error.js';

export interface SimFaults {
  /** Milliseconds added before answering every private request (default 0). */
  readonly latency?: number;
  /** Probability of HTTP 500 with BingX's internal-error body (code 100503; the request is not carried out). */
  readonly error?: number;
  /** Probability of BingX code 100410 "system busy" (ccxt: OperationFailed; not carried out). */
  readonly busy?: number;
  /** Probability of HTTP 429 (ccxt: DDoSProtection / RateLimitExceeded; not carried out). */
  readonly rateLimit?: number;
  /** Probability that an order creation is carried out but its answer withheld for `holdMs` (or until close). */
  readonly timeoutAfterAccept?: number;
  /** How long a withheld answer is held, ms (default 30,000). */
  readonly holdMs?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
}

/** What a private request meets, in this order of precedence. */
export type FaultOutcome = 'error' | 'busy' | 'rateLimit' | undefined;

/** mulberry32: a tiny, fast 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults' random draws. Every private request draws the same number of values, whatever the rates. */
export class FaultInjector {
  private readonly random: () => number;

  constructor(readonly faults: SimFaults) {
    this.random = mulberry32(faults.seed ?? 1);
  }

  get latency(): number {
    return this.faults.latency ?? 0;
  }

  get holdMs(): number {
    return this.faults.holdMs ?? 30_000;
  }

  /** The fault a private request meets before it is carried out (three draws). */
  beforeHandling(): FaultOutcome {
    const error = this.random() < (this.faults.error ?? 0);
    const busy = this.random() < (this.faults.busy ?? 0);
    const rateLimit = this.random() < (this.faults.rateLimit ?? 0);
    return error ? 'error' : busy ? 'busy' : rateLimit ? 'rateLimit' : undefined;
  }

  /** Whether an accepted order creation's answer is withheld (one draw). */
  withholdAnswer(): boolean {
    return this.random() < (this.faults.timeoutAfterAccept ?? 0);
  }
}

const RATE_KEYS: Readonly<Record<string, 'error' | 'busy' | 'rateLimit' | 'timeoutAfterAccept'>> = {
  error: 'error',
  busy: 'busy',
  ratelimit: 'rateLimit',
  timeoutafteraccept: 'timeoutAfterAccept',
};

/**
 * Parses `latency=50,error=0.1,busy=0.05,ratelimit=0.05,timeoutAfterAccept=0.02,hold=30000,seed=7`
 * (keys case-insensitive, any subset, any order). Throws a UsageError naming the bad part.
 */
export function parseFaultSpec(spec: string): SimFaults {
  const faults: { -readonly [K in keyof SimFaults]: SimFaults[K] } = {};
  const parts = spec.split(',').map((part) => part.trim());
  for (const part of parts) {
    const bad = (why: string): UsageError => new UsageError(`--faults: bad part "${part}": ${why} (expected e.g. latency=50,error=0.1,busy=0.05,ratelimit=0.05,timeoutAfterAccept=0.02,seed=1)`);
    if (part === '') throw bad('empty');
    const eq = part.indexOf('=');
    if (eq < 0) throw bad('not key=value');
    const key = part.slice(0, eq).trim().toLowerCase();
    const text = part.slice(eq + 1).trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) throw bad('the value is not a number');
    const rateKey = RATE_KEYS[key];
    if (rateKey !== undefined) {
      if (value < 0 || value > 1) throw bad('a rate must be between 0 and 1');
      faults[rateKey] = value;
    } else if (key === 'latency' || key === 'hold') {
      if (value < 0) throw bad('must be >= 0 ms');
      if (key === 'latency') faults.latency = value;
      else faults.holdMs = value;
    } else if (key === 'seed') {
      if (!Number.isInteger(value)) throw bad('the seed must be an integer');
      faults.seed = value;
    } else {
      throw bad('unknown fault (known: latency, error, busy, ratelimit, timeoutAfterAccept, hold, seed)');
    }
  }
  return faults;
}
