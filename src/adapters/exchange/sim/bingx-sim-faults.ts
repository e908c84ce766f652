// Fault injection for the BingX simulator: latency, HTTP 500s, "system busy" answers, HTTP 429
// rate limits (one at a time or in bursts, as a limiter's window closes on every request for a
// while), order creations refused for funds or carried out but never answered in time,
// resting orders filled in two parts, and WebSocket connections cut at a fixed wall-time period.
//
// Draws come from seeded PRNGs (mulberry32), two streams of one seed: private requests draw from
// one, touch fills from the other. Fills follow the price (a replay timer, /__sim/step), not the
// requests, so with one shared stream their interleaving would decide the faults; with two, a
// given seed and request sequence always meets the same request faults, and a given seed and
// price path the same partial fills.
import { floorToStep } from '../../../domain/steps.js';
import { UsageError } from '../../../config/usage-error.js';

export interface SimFaults {
  /** Milliseconds added before answering every private request (default 0). */
  readonly latency?: number;
  /** Probability of HTTP 500 with BingX's internal-error body (code 100503; the request is not carried out). */
  readonly error?: number;
  /** Probability of BingX code 100410 "system busy" (ccxt: OperationFailed; not carried out). */
  readonly busy?: number;
  /** Probability of HTTP 429 (ccxt: DDoSProtection / RateLimitExceeded; not carried out). */
  readonly rateLimit?: number;
  /** Private requests a drawn 429 lasts: it and the next ones, whatever they draw (default 1). */
  readonly rateLimitBurst?: number;
  /** Probability that an order creation is carried out but its answer withheld for `holdMs` (or until close). */
  readonly timeoutAfterAccept?: number;
  /** How long a withheld answer is held, ms (default 30,000). */
  readonly holdMs?: number;
  /** Probability that an order creation is refused with BingX's insufficient-balance code 100202 (not carried out). */
  readonly insufficient?: number;
  /** Probability that a resting order the price reaches fills in two parts (two fills) instead of one. */
  readonly partial?: number;
  /** Every this many ms of wall time, every WebSocket connection is cut without a close frame (default never). */
  readonly dropWs?: number;
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

/**
 * Offset of the touch-fill stream's seed from the request stream's. mulberry32's state advances by
 * a fixed odd step, so seed + 2^31 is the same sequence 2^31 draws further on: the two streams
 * would overlap only after 2^31 draws.
 */
const FILL_STREAM = 2 ** 31;

/**
 * The faults' random draws. Every private request draws the same number of values whatever the
 * rates, and so does every order creation and every touch fill.
 */
export class FaultInjector {
  private readonly random: () => number;
  private readonly fillRandom: () => number;
  /** Requests still to answer 429 in the current rate-limit burst. */
  private burstLeft = 0;

  constructor(readonly faults: SimFaults) {
    const seed = faults.seed ?? 1;
    this.random = mulberry32(seed);
    this.fillRandom = mulberry32(seed + FILL_STREAM);
  }

  get latency(): number {
    return this.faults.latency ?? 0;
  }

  get holdMs(): number {
    return this.faults.holdMs ?? 30_000;
  }

  /** The fault a private request meets before it is carried out (three draws, in a burst too). */
  beforeHandling(): FaultOutcome {
    const error = this.random() < (this.faults.error ?? 0);
    const busy = this.random() < (this.faults.busy ?? 0);
    const rateLimit = this.random() < (this.faults.rateLimit ?? 0);
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return 'rateLimit';
    }
    const outcome = error ? 'error' : busy ? 'busy' : rateLimit ? 'rateLimit' : undefined;
    if (outcome === 'rateLimit') this.burstLeft = (this.faults.rateLimitBurst ?? 1) - 1;
    return outcome;
  }

  /** Whether an order creation is refused for funds (one draw, after beforeHandling). */
  refuseForFunds(): boolean {
    return this.random() < (this.faults.insufficient ?? 0);
  }

  /** Whether an order creation's answer is withheld once it is carried out (one draw, after refuseForFunds). */
  withholdAnswer(): boolean {
    return this.random() < (this.faults.timeoutAfterAccept ?? 0);
  }

  /**
   * The first part of a touch fill of `amount` (two draws: whether, and how much: 10 % to 90 %,
   * floored to `amountStep`), or undefined to fill it whole (also when it is too small to split).
   */
  splitFill(amount: number, amountStep: number): number | undefined {
    const split = this.fillRandom() < (this.faults.partial ?? 0);
    const fraction = 0.1 + 0.8 * this.fillRandom();
    if (!split) return undefined;
    const part = floorToStep(amount * fraction, amountStep);
    return part > 0 && part < amount ? part : undefined;
  }
}

type RateKey = 'error' | 'busy' | 'rateLimit' | 'timeoutAfterAccept' | 'insufficient' | 'partial';
type MillisecondsKey = 'latency' | 'holdMs' | 'dropWs';

const RATE_KEYS: Readonly<Record<string, RateKey>> = {
  error: 'error',
  busy: 'busy',
  ratelimit: 'rateLimit',
  timeoutafteraccept: 'timeoutAfterAccept',
  insufficient: 'insufficient',
  partial: 'partial',
};

const MILLISECONDS_KEYS: Readonly<Record<string, MillisecondsKey>> = {
  latency: 'latency',
  hold: 'holdMs',
  dropws: 'dropWs',
};

const EXAMPLE = 'latency=50,error=0.1,busy=0.05,ratelimit=0.05,burst=3,timeoutAfterAccept=0.02,insufficient=0.05,partial=0.3,dropWs=60000,seed=1';

/**
 * Parses e.g. `latency=50,error=0.1,busy=0.05,ratelimit=0.05,burst=3,timeoutAfterAccept=0.02,
 * hold=30000,insufficient=0.05,partial=0.3,dropWs=60000,seed=7` (keys case-insensitive, any
 * subset, any order). Throws a UsageError naming the bad part.
 */
export function parseFaultSpec(spec: string): SimFaults {
  const faults: { -readonly [K in keyof SimFaults]: SimFaults[K] } = {};
  const parts = spec.split(',').map((part) => part.trim());
  for (const part of parts) {
    const bad = (why: string): UsageError => new UsageError(`--faults: bad part "${part}": ${why} (expected e.g. ${EXAMPLE})`);
    if (part === '') throw bad('empty');
    const eq = part.indexOf('=');
    if (eq < 0) throw bad('not key=value');
    const key = part.slice(0, eq).trim().toLowerCase();
    const text = part.slice(eq + 1).trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) throw bad('the value is not a number');
    const rateKey = RATE_KEYS[key];
    const msKey = MILLISECONDS_KEYS[key];
    if (rateKey !== undefined) {
      if (value < 0 || value > 1) throw bad('a rate must be between 0 and 1');
      faults[rateKey] = value;
    } else if (msKey !== undefined) {
      if (value < 0) throw bad('must be >= 0 ms');
      faults[msKey] = value;
    } else if (key === 'burst') {
      if (!(Number.isInteger(value) && value >= 1)) throw bad('a burst is a whole number of requests, >= 1');
      faults.rateLimitBurst = value;
    } else if (key === 'seed') {
      if (!Number.isInteger(value)) throw bad('the seed must be an integer');
      faults.seed = value;
    } else {
      throw bad('unknown fault (known: latency, error, busy, ratelimit, burst, timeoutAfterAccept, hold, insufficient, partial, dropWs, seed)');
    }
  }
  return faults;
}
