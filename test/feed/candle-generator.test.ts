import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseCandles, readCandleFile } from '../../src/adapters/feed/candle-csv.js';
import { formatCandlesCsv, generateCandles, writeCandlesCsv } from '../../src/adapters/feed/candle-generator.js';
import type { CandleSeries } from '../../src/adapters/feed/candles.js';

const COLUMNS = ['time', 'open', 'high', 'low', 'close', 'volume'] as const;

function expectSame(a: CandleSeries, b: CandleSeries): void {
  expect(a.length).toBe(b.length);
  for (const col of COLUMNS) {
    const x = a[col];
    const y = b[col];
    expect(x.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(x[i], y[i])) expect.fail(`${col}[${i}]: ${x[i]} !== ${y[i]}`);
    }
  }
}

/** Checks every candle; returns the first problem or undefined. */
function invariantProblem(s: CandleSeries, step: number, decimals: number, intervalMs: number, startTime: number): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const o = s.open[i]!;
    const h = s.high[i]!;
    const l = s.low[i]!;
    const c = s.close[i]!;
    const v = s.volume[i]!;
    if (s.time[i] !== startTime + i * intervalMs) return `time[${i}] = ${s.time[i]}`;
    if (!(o > 0 && h > 0 && l > 0 && c > 0)) return `row ${i}: a price <= 0`;
    if (h < Math.max(o, c) || l > Math.min(o, c)) return `row ${i}: OHLC ${o} ${h} ${l} ${c}`;
    if (i > 0 && o !== s.close[i - 1]) return `row ${i}: open ${o} != previous close ${s.close[i - 1]}`;
    for (const x of [o, h, l, c]) {
      if (Number(x.toFixed(decimals)) !== x) return `row ${i}: ${x} does not round-trip with ${decimals} decimals`;
      const k = x / step;
      if (Math.abs(k - Math.round(k)) > 1e-6) return `row ${i}: ${x} is not a multiple of ${step}`;
    }
    if (!(v > 0) || Number(v.toFixed(5)) !== v) return `row ${i}: volume ${v}`;
  }
  return undefined;
}

describe('generateCandles', () => {
  test('is deterministic for a seed and differs between seeds', () => {
    const a = generateCandles({ count: 5_000, startPrice: 60_000, seed: 7 });
    const b = generateCandles({ count: 5_000, startPrice: 60_000, seed: 7 });
    const c = generateCandles({ count: 5_000, startPrice: 60_000, seed: 8 });
    expectSame(a, b);
    expect(Array.from(c.close)).not.toEqual(Array.from(a.close));
    // A pinned value: the sequence does not change by accident.
    expect(generateCandles({ count: 3, startPrice: 60_000 }).open[0]).toBe(60_000);
  });

  test('defaults: 1-minute candles from 2025-01-01, seed 1, price step 0.01', () => {
    const s = generateCandles({ count: 100, startPrice: 60_000 });
    expect(s.time[0]).toBe(Date.UTC(2025, 0, 1));
    expect(s.time[99]).toBe(Date.UTC(2025, 0, 1) + 99 * 60_000);
    expectSame(s, generateCandles({ count: 100, startPrice: 60_000, seed: 1, intervalMs: 60_000, annualVolatility: 0.6, priceStep: 0.01 }));
    expect(invariantProblem(s, 0.01, 2, 60_000, Date.UTC(2025, 0, 1))).toBeUndefined();
  });

  test.each<[string, { startPrice: number; priceStep?: number; annualVolatility?: number; intervalMs?: number }, number, number]>([
    ['BTC, step 0.01', { startPrice: 60_000 }, 0.01, 2],
    ['step 0.5', { startPrice: 3_000, priceStep: 0.5 }, 0.5, 1],
    ['step 5, hourly', { startPrice: 60_000, priceStep: 5, intervalMs: 3_600_000 }, 5, 0],
    ['step 0.0001, volatile', { startPrice: 0.5, priceStep: 0.0001, annualVolatility: 3 }, 0.0001, 4],
    ['step 0.07', { startPrice: 100, priceStep: 0.07 }, 0.07, 2],
    ['near the smallest price', { startPrice: 0.03, priceStep: 0.01, annualVolatility: 20 }, 0.01, 2],
  ])('OHLC invariants: %s', (_name, opts, step, decimals) => {
    const startTime = Date.UTC(2024, 5, 1);
    const intervalMs = opts.intervalMs ?? 60_000;
    const s = generateCandles({ count: 50_000, startTime, seed: 3, ...opts });
    expect(s.length).toBe(50_000);
    expect(invariantProblem(s, step, decimals, intervalMs, startTime)).toBeUndefined();
  });

  test('log returns have the annual volatility; high-low ranges are Brownian-sized', () => {
    const vol = 0.6;
    const n = 200_000;
    const s = generateCandles({ count: n, startPrice: 60_000, annualVolatility: vol, seed: 11 });
    const sd = vol * Math.sqrt(60_000 / (365 * 86_400_000));
    let sum = 0;
    let sum2 = 0;
    let range = 0;
    for (let i = 0; i < n; i++) {
      const r = Math.log(s.close[i]! / s.open[i]!);
      sum += r;
      sum2 += r * r;
      range += Math.log(s.high[i]! / s.low[i]!);
    }
    const std = Math.sqrt(sum2 / n - (sum / n) ** 2);
    expect(std / sd).toBeGreaterThan(0.97);
    expect(std / sd).toBeLessThan(1.03);
    // E[max - min] of Brownian motion over the interval is 2 sqrt(2/pi) sd ~ 1.596 sd.
    const meanRange = range / n / sd;
    expect(meanRange).toBeGreaterThan(1.5);
    expect(meanRange).toBeLessThan(1.7);
  });

  test('zero volatility gives flat candles', () => {
    const s = generateCandles({ count: 10, startPrice: 123.456, annualVolatility: 0 });
    expect(new Set([...s.open, ...s.high, ...s.low, ...s.close])).toEqual(new Set([123.46]));
  });

  test('count 0 and invalid options', () => {
    expect(generateCandles({ count: 0, startPrice: 1 }).length).toBe(0);
    expect(() => generateCandles({ count: -1, startPrice: 1 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1.5, startPrice: 1 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1, startPrice: 0 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1, startPrice: 1, priceStep: 0 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1, startPrice: 1, intervalMs: -60_000 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1, startPrice: 1, annualVolatility: -0.1 })).toThrow(RangeError);
    expect(() => generateCandles({ count: 1, startPrice: 1, startTime: Number.NaN })).toThrow(RangeError);
  });
});

describe('formatCandlesCsv / writeCandlesCsv', () => {
  test('header, milliseconds and shortest decimals', () => {
    const s = generateCandles({ count: 3, startPrice: 60_000 });
    const lines = formatCandlesCsv(s).split('\n');
    expect(lines[0]).toBe('timestamp,open,high,low,close,volume');
    expect(lines[1]).toMatch(/^1735689600000,60000,\d+(\.\d{1,2})?,\d+(\.\d{1,2})?,\d+(\.\d{1,2})?,\d+(\.\d{1,5})?$/);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
  });

  test('round trip generator -> formatCandlesCsv -> parseCandles gives identical arrays (a year of minutes)', () => {
    const n = 525_600;
    let t = performance.now();
    const s = generateCandles({ count: n, startPrice: 60_000, seed: 5 });
    const generateMs = performance.now() - t;
    const bytes = new TextEncoder().encode(formatCandlesCsv(s));
    t = performance.now();
    const back = parseCandles(bytes, 'year.csv');
    const parseMs = performance.now() - t;
    expectSame(back, s);
    // Loose guards against an accidental slow path (about 0.2 s and 0.1 s here).
    expect(generateMs).toBeLessThan(2_000);
    expect(parseMs).toBeLessThan(2_000);
  });

  test.each([0.5, 0.0001, 5])('round trip with price step %d', (priceStep) => {
    const s = generateCandles({ count: 20_000, startPrice: 50, priceStep, annualVolatility: 2, seed: 9 });
    expectSame(parseCandles(new TextEncoder().encode(formatCandlesCsv(s)), 'x.csv'), s);
  });

  test('writeCandlesCsv writes the same text in chunks; readCandleFile reads it back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'candles-'));
    try {
      const file = path.join(dir, 'gen.csv');
      const s = generateCandles({ count: 40_000, startPrice: 60_000, seed: 2 }); // > 2 chunks
      writeCandlesCsv(s, file);
      expect(readFileSync(file, 'utf8')).toBe(formatCandlesCsv(s));
      expectSame(readCandleFile(file), s);
      const empty = path.join(dir, 'empty.csv');
      writeCandlesCsv(generateCandles({ count: 0, startPrice: 1 }), empty);
      expect(readFileSync(empty, 'utf8')).toBe('timestamp,open,high,low,close,volume\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
