// Synthetic candles for tests and benchmarks: driftless geometric Brownian motion, seeded
// and deterministic, with prices on a price grid and volumes with 5 decimals.
import { closeSync, openSync, writeSync } from 'node:fs';
import { allocateCandles, type CandleSeries } from './candles.js';

export interface GeneratorOptions {
  count: number;
  startPrice: number;
  /** Open time of the first candle, UTC ms. Default Date.UTC(2025, 0, 1). */
  startTime?: number;
  /** Default 60_000 (1-minute candles). */
  intervalMs?: number;
  /** Annualized volatility of log returns (365-day year). Default 0.6. */
  annualVolatility?: number;
  /** Default 1. */
  seed?: number;
  /** Prices are multiples of this. Default 0.01. */
  priceStep?: number;
}

const YEAR_MS = 365 * 86_400_000;
/** Sub-steps simulated within each candle. */
const SUB_STEPS = 3;
const TWO_POW_32 = 4294967296;

/**
 * xoshiro128** seeded through splitmix32 (period 2^128 - 1). The state lives in an
 * Int32Array: 32-bit values in closure variables would be boxed on every store.
 */
function makeRng(seed: number): () => number {
  const st = new Int32Array(4);
  let sm = seed | 0;
  for (let i = 0; i < 4; i++) {
    sm = (sm + 0x9e3779b9) | 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    st[i] = z ^ (z >>> 16);
  }
  if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1;
  /** Uniform in (0, 1), never 0 or 1. */
  return () => {
    const a = st[0]!;
    const b = st[1]!;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const c = st[2]! ^ a;
    const d = st[3]! ^ b;
    st[1] = b ^ c;
    st[0] = a ^ d;
    st[2] = c ^ (b << 9);
    st[3] = rotl(d, 11);
    return (r + 0.5) / TWO_POW_32;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Decimal places of a positive number's shortest representation (0.01 -> 2, 1e-7 -> 7). */
function decimalsOf(x: number): number {
  const s = String(x);
  const e = s.indexOf('e');
  const mant = e < 0 ? s : s.slice(0, e);
  const exp = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  return Math.max(0, (dot < 0 ? 0 : mant.length - dot - 1) - exp);
}

function positive(name: string, x: number): void {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`${name} must be a positive finite number, got ${x}`);
}

/**
 * Generates `count` candles of a driftless GBM (mu = 0) whose log returns have
 * `annualVolatility` over a 365-day year. Each candle is `SUB_STEPS` sub-steps; high and low
 * come from the sub-step path plus a Brownian-bridge extreme within each sub-step, so they
 * reach beyond open and close as a real candle's do. Open of candle k+1 = close of candle k.
 * Every price is a positive multiple of `priceStep` and is the double nearest its decimal, so
 * `Number(x.toFixed(decimals)) === x`; volumes are positive with 5 decimals.
 */
export function generateCandles(opts: GeneratorOptions): CandleSeries {
  const count = opts.count;
  const startTime = opts.startTime ?? Date.UTC(2025, 0, 1);
  const intervalMs = opts.intervalMs ?? 60_000;
  const vol = opts.annualVolatility ?? 0.6;
  const seed = opts.seed ?? 1;
  const step = opts.priceStep ?? 0.01;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  positive('startPrice', opts.startPrice);
  positive('intervalMs', intervalMs);
  positive('priceStep', step);
  if (!Number.isFinite(startTime)) throw new RangeError(`startTime must be finite, got ${startTime}`);
  if (!(vol >= 0) || !Number.isFinite(vol)) throw new RangeError(`annualVolatility must be >= 0, got ${vol}`);

  // A price is units / scale with integer units: k / 10^d is the double nearest the decimal.
  const decimals = decimalsOf(step);
  if (decimals > 22) throw new RangeError(`priceStep ${step} has more than 22 decimals`);
  const scale = Number(`1e${decimals}`); // exact for decimals <= 22
  const stepUnits = Math.round(step * scale);
  // Approximate steps per unit of price: only picks the step, the price is exact units / scale.
  const stepsPerPrice = scale / stepUnits;
  if (!(opts.startPrice * stepsPerPrice < 2 ** 52 / stepUnits)) {
    throw new RangeError(`startPrice ${opts.startPrice} is too large for priceStep ${step}`);
  }

  const rand = makeRng(seed);
  const spare = new Float64Array([NaN]); // the second normal of a pair, unboxed
  // Standard normals by Marsaglia's polar method (Box-Muller without sin/cos), in pairs.
  const normal = (): number => {
    const z = spare[0]!;
    if (z === z) {
      spare[0] = NaN;
      return z;
    }
    let x: number;
    let y: number;
    let r2: number;
    do {
      x = 2 * rand() - 1;
      y = 2 * rand() - 1;
      r2 = x * x + y * y;
    } while (r2 >= 1);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    spare[0] = y * f;
    return x * f;
  };

  const sigmaSub = vol * Math.sqrt(intervalMs / YEAR_MS / SUB_STEPS);
  const varSub = sigmaSub * sigmaSub;
  const driftSub = -0.5 * varSub; // Ito correction: the price itself has no drift.
  const baseVolume = 10 * (intervalMs / 60_000);

  const out = allocateCandles(count);
  const { time, open, high, low, close, volume } = out;
  let logP = Math.log(opts.startPrice);
  // Prices are held as step counts: price = steps * stepUnits / scale.
  let oSteps = Math.max(1, Math.round(opts.startPrice * stepsPerPrice));
  for (let k = 0; k < count; k++) {
    let hi = logP;
    let lo = logP;
    for (let s = 0; s < SUB_STEPS; s++) {
      const a = logP;
      const b = a + driftSub + sigmaSub * normal();
      // Extremes of a Brownian bridge from a to b with variance varSub:
      // max = (a + b + sqrt((b - a)^2 - 2 varSub ln U)) / 2, and symmetrically for the min.
      const d2 = (b - a) * (b - a);
      const up = (a + b + Math.sqrt(d2 - 2 * varSub * Math.log(rand()))) / 2;
      const down = (a + b - Math.sqrt(d2 - 2 * varSub * Math.log(rand()))) / 2;
      if (up > hi) hi = up;
      if (down < lo) lo = down;
      logP = b;
    }
    const cSteps = Math.max(1, Math.round(Math.exp(logP) * stepsPerPrice));
    const maxSteps = oSteps > cSteps ? oSteps : cSteps;
    const minSteps = oSteps < cSteps ? oSteps : cSteps;
    let hSteps = Math.round(Math.exp(hi) * stepsPerPrice);
    let lSteps = Math.round(Math.exp(lo) * stepsPerPrice);
    if (hSteps < maxSteps) hSteps = maxSteps;
    if (lSteps > minSteps) lSteps = minSteps;
    if (lSteps < 1) lSteps = 1;
    time[k] = startTime + k * intervalMs;
    open[k] = (oSteps * stepUnits) / scale;
    high[k] = (hSteps * stepUnits) / scale;
    low[k] = (lSteps * stepUnits) / scale;
    close[k] = (cSteps * stepUnits) / scale;
    // Volume: log-normal, larger in candles with a wide range.
    const range = sigmaSub > 0 ? (hi - lo) / (sigmaSub * Math.sqrt(SUB_STEPS)) : 1;
    const v = baseVolume * (0.3 + 0.7 * range) * Math.exp(0.5 * normal() - 0.125);
    volume[k] = Math.max(1, Math.round(v * 1e5)) / 1e5;
    oSteps = cSteps;
  }
  return out;
}

function row(s: CandleSeries, i: number): string {
  return `${s.time[i]},${s.open[i]},${s.high[i]},${s.low[i]},${s.close[i]},${s.volume[i]}\n`;
}

/**
 * The series as CSV: header `timestamp,open,high,low,close,volume`, time in UTC ms, every
 * number as its shortest round-trip decimal (so parseCandles gives back the same doubles).
 */
export function formatCandlesCsv(series: CandleSeries): string {
  const parts: string[] = ['timestamp,open,high,low,close,volume\n'];
  for (let i = 0; i < series.length; i++) parts.push(row(series, i));
  return parts.join('');
}

const ROWS_PER_CHUNK = 16_384;

/** Writes formatCandlesCsv(series) to `path` in chunks of rows (about 1 MB each). */
export function writeCandlesCsv(series: CandleSeries, path: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, 'timestamp,open,high,low,close,volume\n');
    for (let start = 0; start < series.length; start += ROWS_PER_CHUNK) {
      const end = Math.min(series.length, start + ROWS_PER_CHUNK);
      let chunk = '';
      for (let i = start; i < end; i++) chunk += row(series, i);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}
