import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CandleFileError,
  parseCandles,
  parseDecimal,
  parseIsoTime,
  readCandleFile,
} from '../../src/adapters/feed/candle-csv.js';
import { formatCandlesCsv, generateCandles } from '../../src/adapters/feed/candle-generator.js';
import type { CandleSeries } from '../../src/adapters/feed/candles.js';
import { hasShared, sharedData, sharedSkipReason } from '../shared.js';

const enc = new TextEncoder();
const HEADER = 'timestamp,open,high,low,close,volume';
const T0 = 1_700_000_040_000; // a whole minute

function parse(text: string, file = 'data.csv'): CandleSeries {
  return parseCandles(enc.encode(text), file);
}

function dec(s: string): number {
  const b = enc.encode(s);
  return parseDecimal(b, 0, b.length);
}

function iso(s: string): number {
  const b = enc.encode(s);
  return parseIsoTime(b, 0, b.length);
}

function errorOf(text: string): CandleFileError {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CandleFileError);
    return err as CandleFileError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

function rows(series: CandleSeries): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < series.length; i++) {
    out.push([series.time[i]!, series.open[i]!, series.high[i]!, series.low[i]!, series.close[i]!, series.volume[i]!]);
  }
  return out;
}

/** Small seeded PRNG for reproducible random strings. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomDecimal(rnd: () => number, signed: boolean): string {
  const digits = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += String(Math.floor(rnd() * 10));
    return s;
  };
  const intLen = Math.floor(rnd() * 9); // 0..8 digits, leading zeros possible
  const fracLen = Math.floor(rnd() * 9); // 0..8 decimals
  let s = digits(intLen);
  if (fracLen > 0 || rnd() < 0.1) s += `.${digits(fracLen)}`;
  if (!/\d/.test(s)) s = `${s}${digits(1)}`; // "." alone is not a number
  if (s.startsWith('.') && !/\d/.test(s.slice(1))) s = `0${s}`;
  if (signed && rnd() < 0.3) s = `-${s}`;
  return s;
}

describe('parseDecimal', () => {
  test('gives exactly Number() on 300,000 random decimals with up to 8 decimals', () => {
    const rnd = mulberry32(42);
    for (let i = 0; i < 300_000; i++) {
      const s = randomDecimal(rnd, true);
      const got = dec(s);
      if (!Object.is(got, Number(s))) expect.fail(`parseDecimal(${s}) = ${got}, Number() = ${Number(s)}`);
    }
  });

  test('gives exactly Number() on edge cases', () => {
    const cases = [
      '0', '-0', '0.0', '-0.0', '00', '1.', '.5', '-.5', '+1', '+.5', '007', '1.10', '64000.0', '67740.33',
      '0.1', '0.2', '0.3', '1.005', '9.995', '4.35', '0.29', '0.00000001', '99999999.99999999',
      '123456789012345', '1234567890123456', '12345678901234567', '123456789012345678901234567890',
      '9007199254740991', '9007199254740992', '9007199254740993', '9007199254740995', '900719925474099.3',
      '0.9007199254740993', '1.0000000000000000000000001', '0.000000000000000000000001', '0.0000000000000000000000001',
      '1e-5', '1E5', '1e+5', '1e0', '-1.5e-3', '123.456e2', '1e22', '1e23', '1e-22', '1e-23', '0e999', '0.0e-999',
      '1.7976931348623157e308', '1e308', '2.2250738585072014e-308', '5e-324', '1e-400', '4.9e-324',
      '1e1000000000000', '8.98846567431158e307', '17976931348623157e292', '1e309',
    ];
    for (const s of cases) expect(Object.is(dec(s), Number(s)), s).toBe(true);
  });

  test('round-trips the shortest decimal of any finite double (exponent forms too)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => Object.is(dec(String(x)), Number(String(x)))),
      { numRuns: 20_000 },
    );
  });

  test('is NaN for text that is not a plain decimal (where Number() may accept it)', () => {
    for (const s of ['', '.', '-', '+', '-.', 'e5', '1e', '1e+', '1e-', '1.2.3', 'abc', '1,5', '1a', 'Infinity', '-Infinity', 'NaN', '0x10', '0b1', '0o7', ' 1', '1 ', '--1', '+-1', '1_000', '1e5.5']) {
      expect(dec(s), JSON.stringify(s)).toBeNaN();
    }
  });

  test('reads a sub-range of the bytes', () => {
    const b = enc.encode('xx123.25yy');
    expect(parseDecimal(b, 2, 8)).toBe(123.25);
  });
});

describe('parseIsoTime', () => {
  test('accepted forms, no zone is UTC', () => {
    expect(iso('2024-01-01T00:00:00Z')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01 00:00:00')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01t00:00:00z')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01T00:00')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-02-29T12:34:56.789Z')).toBe(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    expect(iso('2024-02-29T12:34:56.7')).toBe(Date.UTC(2024, 1, 29, 12, 34, 56, 700));
    expect(iso('2024-02-29T12:34:56,25')).toBe(Date.UTC(2024, 1, 29, 12, 34, 56, 250));
    expect(iso('2024-02-29T12:34:56.123456Z')).toBe(Date.UTC(2024, 1, 29, 12, 34, 56) + 123.456);
    expect(iso('2024-01-01T01:00:00+01:00')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01T01:30:00+0130')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2023-12-31T22:00:00-02')).toBe(Date.UTC(2024, 0, 1));
    expect(iso('2024-01-01T00:00:00.5-02:30')).toBe(Date.UTC(2024, 0, 1, 2, 30, 0, 500));
    expect(iso('1969-12-31T23:59:59Z')).toBe(-1000);
  });

  test('agrees with Date.parse on random times 1970..2100', () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(rnd() * Date.UTC(2100, 0, 1));
      const s = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
      expect(iso(s)).toBe(ms);
      expect(iso(s.replace('T', ' ').replace('Z', ''))).toBe(ms);
    }
  });

  test('rejects invalid dates and forms', () => {
    for (const s of [
      '2023-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '2024-01-01T24:00:00', '2024-01-01T00:60', '2024-01-01T00:00:60',
      '2024-1-01', '2024-01-1', '2024/01/01', '2024-01-01X00:00:00', '2024-01-01T00:00:00ZZ', '2024-01-01T00:00:00.',
      '2024-01-01T0:00', '2024-01-01T00:00:00+1', '2024-01-01T00:00:00+01:0', '2024-01-01T', '', 'yesterday',
    ]) {
      expect(iso(s), s).toBeNaN();
    }
  });
});

describe('parseCandles: header format', () => {
  const body = [`${T0},100,110,90,105,1.5`, `${T0 + 60_000},105,106,104,104.5,0`, `${T0 + 120_000},104.5,104.5,104.5,104.5,2e-5`];
  const expected = [
    [T0, 100, 110, 90, 105, 1.5],
    [T0 + 60_000, 105, 106, 104, 104.5, 0],
    [T0 + 120_000, 104.5, 104.5, 104.5, 104.5, 2e-5],
  ];

  test.each([
    ['LF, trailing newline', `${HEADER}\n${body.join('\n')}\n`],
    ['LF, no trailing newline', `${HEADER}\n${body.join('\n')}`],
    ['CRLF, trailing newline', `${HEADER}\r\n${body.join('\r\n')}\r\n`],
    ['CRLF, no trailing newline', `${HEADER}\r\n${body.join('\r\n')}`],
    ['blank trailing lines', `${HEADER}\n${body.join('\n')}\n\n  \n\r\n`],
    ['UTF-8 BOM', `\uFEFF${HEADER}\n${body.join('\n')}\n`],
    ['header in any case with whitespace', `  TIMESTAMP, Open ,HIGH,low,Close,VOLUME \t\n${body.join('\n')}\n`],
    ['whitespace around fields', `${HEADER}\n${body.map((r) => r.split(',').join(' , ')).join(' \n')}\n`],
  ])('%s', (_name, text) => {
    const s = parse(text);
    expect(s.length).toBe(3);
    expect(rows(s)).toEqual(expected);
  });

  test('the arrays are views of the filled length', () => {
    const s = parse(`${HEADER}\n${body.join('\n')}\n\n\n`);
    for (const a of [s.time, s.open, s.high, s.low, s.close, s.volume]) expect(a.length).toBe(3);
  });

  test('ISO 8601 timestamps, mixed with milliseconds', () => {
    const s = parse(
      [
        HEADER,
        '2024-01-01T00:00:00Z,1,1,1,1,1',
        '2024-01-01 00:01:00,1,1,1,1,1',
        '2024-01-01T00:02:00.000Z,1,1,1,1,1',
        '2024-01-01T01:03:00+01:00,1,1,1,1,1',
        `${Date.UTC(2024, 0, 1, 0, 4)},1,1,1,1,1`,
      ].join('\n'),
    );
    expect(Array.from(s.time)).toEqual([0, 1, 2, 3, 4].map((m) => Date.UTC(2024, 0, 1, 0, m)));
  });

  test('numbers in every decimal form read exactly as Number() reads them', () => {
    // This goes through the row fast path (and the slow one for exponents and signs).
    const rnd = mulberry32(99);
    const lines = [HEADER];
    const want: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      let s = randomDecimal(rnd, false);
      if (Number(s) <= 0) s = `1${s.replace(/^0*/, '')}`;
      if (!(Number(s) > 0)) s = '1';
      const x = i % 10 === 0 ? `${s}e${Math.floor(rnd() * 6) - 3}` : i % 10 === 1 ? `+${s}` : s;
      want.push(Number(x));
      lines.push(`${T0 + i * 60_000},${x},${x},${x},${x},${x}`);
    }
    const got = parse(lines.join('\n'));
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      for (const col of [got.open, got.high, got.low, got.close, got.volume]) {
        if (!Object.is(col[i], want[i])) expect.fail(`line ${i + 2}: ${lines[i + 1]} read as ${col[i]}, want ${want[i]}`);
      }
    }
  });

  test('integer times >= 1e14 are microseconds', () => {
    const s = parse(`${HEADER}\n${T0 * 1000},1,1,1,1,1\n${(T0 + 60_000) * 1000},1,1,1,1,1\n`);
    expect(Array.from(s.time)).toEqual([T0, T0 + 60_000]);
  });
});

describe('parseCandles: Binance kline format', () => {
  const kline = (t: number, o: string, h: string, l: string, c: string, v: string): string =>
    `${t},${o},${h},${l},${c},${v},${t + 59_999},1234.5,42,0.5,21000.1,0`;

  test('12 columns, ms, the first line is data', () => {
    const s = parse(`${kline(T0, '42000.01', '42010.5', '41990', '42005.25', '12.5')}\n${kline(T0 + 60_000, '42005.25', '42006', '42000', '42001', '3')}\n`);
    expect(rows(s)).toEqual([
      [T0, 42000.01, 42010.5, 41990, 42005.25, 12.5],
      [T0 + 60_000, 42005.25, 42006, 42000, 42001, 3],
    ]);
  });

  test('microsecond open times (spot dumps since 2025)', () => {
    const us = 1_735_689_600_000_000;
    const s = parse(`${kline(us, '1', '1', '1', '1', '1')}\r\n${kline(us + 60_000_000, '1', '1', '1', '1', '1')}\r\n`);
    expect(Array.from(s.time)).toEqual([1_735_689_600_000, 1_735_689_660_000]);
  });

  test('exactly 6 columns, CRLF, no trailing newline', () => {
    const s = parse(`${T0},1,2,0.5,1.5,10\r\n${T0 + 60_000},1.5,1.5,1.5,1.5,0`);
    expect(rows(s)).toEqual([
      [T0, 1, 2, 0.5, 1.5, 10],
      [T0 + 60_000, 1.5, 1.5, 1.5, 1.5, 0],
    ]);
  });

  test('an `open_time,...` header line (Binance futures dumps) is skipped', () => {
    const s = parse(`open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n${kline(T0, '1', '1', '1', '1', '1')}\n`);
    expect(s.length).toBe(1);
  });

  test('errors count the first line as line 1', () => {
    const e = errorOf(`${kline(T0, '1', '1', '1', '1', '1')}\n${kline(T0, '1', '1', '1', '1', '1')}\n`);
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^data\.csv:2: duplicate timestamp/);
  });

  test('an open time that is not an integer', () => {
    expect(errorOf(`${T0},1,1,1,1,1\n2024-01-01T00:00:00Z,1,1,1,1,1\n`).message).toBe(
      'data.csv:2: column "open time" is "2024-01-01T00:00:00Z", not an integer time (Binance kline open times are UTC milliseconds or microseconds)',
    );
  });
});

const h = `${HEADER}\n`;
const ok = (t: number): string => `${t},100,110,90,105,1`;

/** Bad files: name, text, the error's line and its message after `data.csv:<line>: `. */
const ERROR_CASES: [string, string, number | undefined, string][] = [
  ['unsorted', `${h}${ok(1700000060000)}\n${ok(1700000000000)}\n`, 3,
    "timestamp 1700000000000 is not after the previous row's 1700000060000 (rows must be sorted by time, oldest first)"],
  ['duplicate', `${h}${ok(T0)}\n${ok(T0 + 60_000)}\n${ok(T0 + 60_000)}\n`, 4,
    `duplicate timestamp ${T0 + 60_000}: the previous row has the same time (remove the duplicate row)`],
  ['unsorted ISO', `${h}2024-01-01T00:01:00Z,1,1,1,1,1\n2024-01-01T00:00:00Z,1,1,1,1,1\n`, 3,
    `timestamp ${Date.UTC(2024, 0, 1)} is not after the previous row's ${Date.UTC(2024, 0, 1, 0, 1)} (rows must be sorted by time, oldest first)`],
  ['not a number', `${h}${ok(T0)}\n${T0 + 60_000},100,abc,90,105,1\n`, 3,
    'column "high" is "abc", not a number (write a plain decimal such as 42000.5)'],
  ['empty column', `${h}${T0},100,110,,105,1\n`, 2, 'column "low" is empty (write a plain decimal such as 42000.5)'],
  ['NaN', `${h}${T0},100,110,90,NaN,1\n`, 2, 'column "close" is "NaN", not a number (write a plain decimal such as 42000.5)'],
  ['infinite', `${h}${T0},100,110,90,105,1e999\n`, 2, 'column "volume" is "1e999", too large (write a finite decimal)'],
  ['bad timestamp', `${h}${T0}.5,100,110,90,105,1\n`, 2,
    `column "timestamp" is "${T0}.5", not UTC milliseconds or an ISO 8601 time (write e.g. 1704067200000 or 2024-01-01T00:00:00Z)`],
  ['bad ISO date', `${h}2023-02-29T00:00:00Z,100,110,90,105,1\n`, 2,
    'column "timestamp" is "2023-02-29T00:00:00Z", not UTC milliseconds or an ISO 8601 time (write e.g. 1704067200000 or 2024-01-01T00:00:00Z)'],
  ['zero price', `${h}${T0},100,110,0,105,1\n`, 2, 'low price 0 is not positive (prices must be > 0)'],
  ['negative price', `${h}${T0},-100,110,90,105,1\n`, 2, 'open price -100 is not positive (prices must be > 0)'],
  ['high below open', `${h}${T0},100,99,90,95,1\n`, 2, 'high 99 is below max(open, close) = 100 (high must be >= open and close)'],
  ['high below close', `${h}${T0},100,104,90,105,1\n`, 2, 'high 104 is below max(open, close) = 105 (high must be >= open and close)'],
  ['low above close', `${h}${T0},100,110,96,95,1\n`, 2, 'low 96 is above min(open, close) = 95 (low must be <= open and close)'],
  ['low above open', `${h}${T0},100,110,101,105,1\n`, 2, 'low 101 is above min(open, close) = 100 (low must be <= open and close)'],
  ['negative volume', `${h}${T0},100,110,90,105,-0.5\n`, 2, 'volume -0.5 is negative (volume must be >= 0)'],
  ['too few columns', `${h}${ok(T0)}\n${T0 + 60_000},100,110,90,105\n`, 3,
    'the row has 5 columns, expected 6 (each row needs timestamp,open,high,low,close,volume)'],
  ['one column', `${h}${ok(T0)}\nhello\n`, 3, 'the row has 1 column, expected 6 (each row needs timestamp,open,high,low,close,volume)'],
  ['too many columns', `${h}${T0},100,110,90,105,1,7\n`, 2,
    'the row has 7 columns, expected 6 (the header names 6 columns: timestamp,open,high,low,close,volume)'],
  ['Binance too few columns', `${T0},100,110,90,105,1\n${T0 + 60_000},100,110\n`, 2,
    'the row has 3 columns, expected at least 6 (each row needs open time,open,high,low,close,volume)'],
  ['blank line between rows', `${h}${ok(T0)}\n\n${ok(T0 + 60_000)}\n`, 3,
    'the line is empty (remove blank lines between rows; only trailing blank lines are allowed)'],
  ['unknown header', 'time,open,high,low,close,volume\n1,1,1,1,1,1\n', 1,
    'the first line "time,open,high,low,close,volume" is not the header timestamp,open,high,low,close,volume and not a Binance kline row (start the file with the header timestamp,open,high,low,close,volume, or give a headerless Binance kline CSV)'],
  ['semicolons', `timestamp;open;high;low;close;volume\n`, 1,
    'the first line "timestamp;open;high;low;close;volume" is not the header timestamp,open,high,low,close,volume and not a Binance kline row (start the file with the header timestamp,open,high,low,close,volume, or give a headerless Binance kline CSV)'],
  ['first line empty', `\n${HEADER}\n${ok(T0)}\n`, 1,
    'the first line is empty and not a Binance kline row (start the file with the header timestamp,open,high,low,close,volume, or give a headerless Binance kline CSV)'],
  ['header only', `${HEADER}\n`, 1, 'the file has a header but no candle rows (add rows below the header, oldest first)'],
  ['header only, blank lines', `${HEADER}\r\n\r\n\r\n`, 1, 'the file has a header but no candle rows (add rows below the header, oldest first)'],
  ['header only, no newline', HEADER, 1, 'the file has a header but no candle rows (add rows below the header, oldest first)'],
  ['empty file', '', undefined,
    'the file is empty (expected the header timestamp,open,high,low,close,volume and candle rows, or Binance kline rows)'],
  ['blank file', '\uFEFF \r\n\n', undefined,
    'the file is empty (expected the header timestamp,open,high,low,close,volume and candle rows, or Binance kline rows)'],
];

describe('parseCandles: errors name the file, the line, the problem and the fix', () => {

  test('CandleFileError fields', () => {
    const e = errorOf(`${h}${ok(T0 + 60_000)}\n${ok(T0)}\n`);
    expect(e.name).toBe('CandleFileError');
    expect(e.file).toBe('data.csv');
    expect(e.line).toBe(3);
    expect(e).toBeInstanceOf(Error);
  });

  test.each(ERROR_CASES)('%s', (_name, text, line, message) => {
    const e = errorOf(text);
    expect(e.line).toBe(line);
    expect(e.message).toBe(`data.csv${line === undefined ? '' : `:${line}`}: ${message}`);
  });

  test('line numbers with CRLF and a BOM', () => {
    const e = errorOf(`\uFEFF${HEADER}\r\n${ok(T0)}\r\n${ok(T0 + 60_000)}\r\n${T0 + 120_000},100,90,90,105,1\r\n`);
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^data\.csv:4: high 90 is below/);
  });

  test('an error on the last line without a newline', () => {
    expect(errorOf(`${h}${ok(T0)}\n${ok(T0)}`).line).toBe(3);
  });

  test('a long bad value is shortened in the message', () => {
    const e = errorOf(`${h}${T0},${'x'.repeat(500)},1,1,1,1\n`);
    expect(e.message.length).toBeLessThan(300);
  });
});

describe('readCandleFile', () => {
  test('reads a file and names it in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'candles-'));
    try {
      const good = path.join(dir, 'good.csv');
      writeFileSync(good, `${HEADER}\n${T0},1,2,0.5,1.5,10\n`);
      expect(rows(readCandleFile(good))).toEqual([[T0, 1, 2, 0.5, 1.5, 10]]);
      const bad = path.join(dir, 'bad.csv');
      writeFileSync(bad, `${HEADER}\n${T0},1,2,0.5,1.5,-1\n`);
      expect(() => readCandleFile(bad)).toThrow(`${bad}:2: volume -1 is negative (volume must be >= 0)`);
      expect(() => readCandleFile(dir)).toThrow(`${dir}: is a directory, not a file (give the path of a CSV file)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing file is a clear error naming the path', () => {
    const missing = path.join(tmpdir(), 'no-such-dir-btcbot', 'candles.csv');
    let err: unknown;
    try {
      readCandleFile(missing);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CandleFileError);
    expect((err as CandleFileError).line).toBeUndefined();
    expect((err as CandleFileError).file).toBe(missing);
    expect((err as Error).message).toBe(`${missing}: no such file (check the path given to --data)`);
  });
});

describe.skipIf(!hasShared)(hasShared ? 'real Binance files in ../shared/data' : `real Binance files: SKIPPED, ${sharedSkipReason}`, () => {
  const files: [string, number, string, string][] = [
    ['binance_btcusdt_1m_2025-05-20_2025-08-18.csv', 130_708, '2025-05-20T00:00:00Z', '2025-08-18T18:27:00Z'],
    ['binance_btcusdt_1m_2024-07-26_2024-08-25.csv', 43_209, '2024-07-26T14:15:00Z', '2024-08-25T14:23:00Z'],
    ['binance_btcusdt_1m_2023-07-18_2023-08-19.csv', 46_001, '2023-07-18T10:51:00Z', '2023-08-19T09:31:00Z'],
    ['binance_btcusdt_1h_2017-08-17_2024-04-21.csv', 58_419, '2017-08-17T04:00:00Z', '2024-04-21T14:00:00Z'],
    ['binance_btcusdt_1d_2017-08-17_2022-10-10.csv', 1_881, '2017-08-17T00:00:00Z', '2022-10-10T00:00:00Z'],
  ];

  test.each(files)('%s has %i rows from %s to %s', (file, count, first, last) => {
    const s = readCandleFile(sharedData(file));
    expect(s.length).toBe(count);
    expect(s.time[0]).toBe(Date.parse(first));
    expect(s.time[count - 1]).toBe(Date.parse(last));
  });

  const extremes = (s: CandleSeries): { minLow: number; minAt: number; maxHigh: number; maxAt: number } => {
    let minAt = 0;
    let maxAt = 0;
    for (let i = 1; i < s.length; i++) {
      if (s.low[i]! < s.low[minAt]!) minAt = i;
      if (s.high[i]! > s.high[maxAt]!) maxAt = i;
    }
    return { minLow: s.low[minAt]!, minAt: s.time[minAt]!, maxHigh: s.high[maxAt]!, maxAt: s.time[maxAt]! };
  };

  test('2024 file: the August 2024 crash low 49000.0 and the high 70079.99', () => {
    const e = extremes(readCandleFile(sharedData('binance_btcusdt_1m_2024-07-26_2024-08-25.csv')));
    expect(e).toEqual({ minLow: 49000, minAt: Date.parse('2024-08-05T06:24:00Z'), maxHigh: 70079.99, maxAt: Date.parse('2024-07-29T13:06:00Z') });
  });

  test('2025 file: the all-time high 124474.0 and the low 98200.0', () => {
    const e = extremes(readCandleFile(sharedData('binance_btcusdt_1m_2025-05-20_2025-08-18.csv')));
    expect(e).toEqual({ minLow: 98200, minAt: Date.parse('2025-06-22T20:18:00Z'), maxHigh: 124474, maxAt: Date.parse('2025-08-14T00:32:00Z') });
  });

  test('1h file: the 4 zero-volume rows', () => {
    const s = readCandleFile(sharedData('binance_btcusdt_1h_2017-08-17_2024-04-21.csv'));
    const zero: string[] = [];
    for (let i = 0; i < s.length; i++) if (s.volume[i] === 0) zero.push(new Date(s.time[i]!).toISOString());
    expect(zero).toEqual(['2017-09-06T16:00:00.000Z', '2019-06-07T21:00:00.000Z', '2021-02-11T03:00:00.000Z', '2023-03-24T12:00:00.000Z']);
  });
});

describe('readCandleFile in chunks: the same rows and errors as parseCandles on the whole file', () => {
  let dir = '';
  let files = 0;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'candles-chunks-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function fileWith(content: string | Uint8Array): string {
    const file = path.join(dir, `c${files++}.csv`);
    writeFileSync(file, content);
    return file;
  }

  type Outcome = { series: CandleSeries } | { error: CandleFileError };

  function outcomeOf(read: () => CandleSeries): Outcome {
    try {
      return { series: read() };
    } catch (err) {
      expect(err).toBeInstanceOf(CandleFileError);
      return { error: err as CandleFileError };
    }
  }

  /** Same rows (bit for bit) or the same error (line and message). */
  function expectSameOutcome(got: Outcome, want: Outcome, what: string): void {
    if ('error' in want) {
      if (!('error' in got)) expect.fail(`${what}: read ${got.series.length} rows, want the error ${want.error.message}`);
      expect([got.error.line, got.error.message], what).toEqual([want.error.line, want.error.message]);
      return;
    }
    if ('error' in got) expect.fail(`${what}: ${got.error.message}, want ${want.series.length} rows`);
    expectSameSeries(got.series, want.series, what);
  }

  function expectSameSeries(got: CandleSeries, want: CandleSeries, what: string): void {
    expect(got.length, what).toBe(want.length);
    for (const col of ['time', 'open', 'high', 'low', 'close', 'volume'] as const) {
      const x = got[col];
      const y = want[col];
      expect(x.length, what).toBe(got.length);
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(x[i], y[i])) expect.fail(`${what}: ${col}[${i}] is ${x[i]}, want ${y[i]}`);
      }
    }
  }

  /** Reads `content` from a file with each chunk size and compares with parseCandles. */
  function expectChunkedSame(content: string | Uint8Array, chunkSizes: readonly number[]): Outcome {
    const file = fileWith(content);
    const bytes = typeof content === 'string' ? enc.encode(content) : content;
    const want = outcomeOf(() => parseCandles(bytes, file));
    for (const chunkBytes of chunkSizes) {
      expectSameOutcome(outcomeOf(() => readCandleFile(file, { chunkBytes })), want, `${JSON.stringify(typeof content === 'string' ? content.slice(0, 60) : file)} in chunks of ${chunkBytes}`);
    }
    expectSameOutcome(outcomeOf(() => readCandleFile(file)), want, 'default chunks');
    return want;
  }

  /** Every chunk size from 1 byte (a boundary after every byte) past the whole text. */
  const everySize = (text: string): number[] => {
    const n = enc.encode(text).length;
    return [...Array.from({ length: Math.min(n + 1, 48) }, (_, i) => i + 1), 61, 64, 100, 4096];
  };

  const kline = (t: number, rest = '1,2,0.5,1.5,10'): string => `${t},${rest},${t + 59_999},1234.5,42,0.5,21000.1,0`;
  const VALID: [string, string][] = [
    ['LF', `${h}${ok(T0)}\n${ok(T0 + 60_000)}\n${ok(T0 + 120_000)}\n`],
    ['BOM, CRLF', `\uFEFF${HEADER}\r\n${ok(T0)}\r\n${ok(T0 + 60_000)}\r\n${ok(T0 + 120_000)}\r\n`],
    ['no final newline', `${h}${ok(T0)}\n${ok(T0 + 60_000)}`],
    ['no final newline, CRLF', `${HEADER}\r\n${ok(T0)}\r\n${ok(T0 + 60_000)}`],
    ['a lone CR at the very end', `${h}${ok(T0)}\n${ok(T0 + 60_000)}\r`],
    ['trailing blank lines', `${h}${ok(T0)}\r\n\r\n  \n\t\r\n\n`],
    ['header in other case, spaces', ` Timestamp , OPEN,high ,low,close,Volume \r\n${ok(T0)}\r\n`],
    ['ISO times, spaces, signs, exponents (slow path)', `${h}2024-01-01T00:00:00Z, 1 ,+2,0.5e0,\t1.5,1E1\n2024-01-01 00:01:00.5+00:00,1.,2,.5,1.5,0\n`],
    ['Binance 12 columns, microseconds, CRLF', `${kline(1_735_689_600_000_000)}\r\n${kline(1_735_689_660_000_000)}\r\n${kline(1_735_689_720_000_000)}`],
    ['Binance exactly 6 columns', `${T0},1,2,0.5,1.5,10\n${T0 + 60_000},1.5,1.5,1.5,1.5,0\n`],
    ['Binance futures header', `open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n${kline(T0)}\n${kline(T0 + 60_000)}\n`],
    ['BOM, Binance', `\uFEFF${kline(T0)}\n${kline(T0 + 60_000)}\n`],
    ['one row, BOM, no newline', `\uFEFF${HEADER}\n${ok(T0)}`],
  ];

  test.each(VALID)('%s: every chunk size gives the same rows', (_name, text) => {
    const want = expectChunkedSame(text, everySize(text));
    expect('series' in want).toBe(true);
  });

  test.each(ERROR_CASES)('error "%s": every chunk size gives the same line and message', (_name, text, line) => {
    const want = expectChunkedSame(text, everySize(text));
    expect('error' in want && want.error.line).toBe(line);
  });

  test('errors after a BOM and CRLF rows, straddling every boundary', () => {
    const rowsOk = Array.from({ length: 5 }, (_, i) => ok(T0 + i * 60_000));
    const texts = [
      `\uFEFF${HEADER}\r\n${rowsOk.join('\r\n')}\r\n${T0 + 300_000},100,90,90,105,1\r\n${ok(T0 + 360_000)}\r\n`,
      `\uFEFF${HEADER}\r\n${rowsOk.join('\r\n')}\r\n\r\n${ok(T0 + 360_000)}\r\n`,
      `\uFEFF${HEADER}\r\n${rowsOk.join('\r\n')}\r\n${ok(T0 + 240_000)}\r\n`,
      `\uFEFF${HEADER}\r\n${rowsOk.join('\r\n')}\r\n${T0 + 300_000},100,${'x'.repeat(300)},90,105,1\r\n`,
      `${rowsOk.join('\r\n')}\r\n${T0 + 300_000},1,1\r\n`,
      `\uFEFF\r\n\r\n${HEADER}\r\n`,
      `\uFEFF \r\n\t\r\n\n`,
    ];
    const lines = texts.map((text) => {
      const want = expectChunkedSame(text, everySize(text));
      return 'error' in want ? want.error.line : 'rows';
    });
    expect(lines).toEqual([7, 7, 7, 7, 6, 1, undefined]);
  });

  test('a line far longer than the chunk size', () => {
    const text = `${h}${ok(T0)}\n${T0 + 60_000},100,110,90,105,1${'0'.repeat(5000)}\n`;
    expectChunkedSame(text, [1, 7, 100, 4096]);
    expectChunkedSame(`${h}${T0},${'9'.repeat(3000)},1,1,1,1\n`, [3, 1000]);
  });

  test('random files of good, bad, blank and slow-path lines (fast-check)', () => {
    const rowText = fc.oneof(
      fc.constant('{t},100,110,90,105,1'),
      fc.constant('{t}, 100 ,110,90,105,1.5e0'),
      fc.constant('{t},100,110,90,105,-1'),
      fc.constant('{t},100,110,90'),
      fc.constant('{t},100,99,90,105,1'),
      fc.constant(''),
      fc.constant('  '),
    );
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.tuple(rowText, fc.integer({ min: -1, max: 2 })), { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 70 }),
        (bom, eol, lines, finalEol, chunkBytes) => {
          let t = T0;
          const body = lines.map(([row, step]) => {
            t += step * 60_000;
            return row.replace('{t}', String(t));
          });
          const text = `${bom ? '\uFEFF' : ''}${[HEADER, ...body].join(eol)}${finalEol ? eol : ''}`;
          expectChunkedSame(text, [chunkBytes]);
        },
      ),
      { numRuns: 300, seed: 20240101 },
    );
  });

  test('generated candles: the same arrays in any chunk size, CRLF and BOM, and an error deep inside', () => {
    const s = generateCandles({ count: 3_000, startPrice: 60_000, seed: 11 });
    const text = formatCandlesCsv(s);
    expectSameSeries(readCandleFile(fileWith(text), { chunkBytes: 1 }), s, 'chunks of 1');
    expectChunkedSame(text, [2, 3, 7, 61, 62, 63, 1000, 4093, 65536]);
    expectChunkedSame(`\uFEFF${text.replaceAll('\n', '\r\n')}`, [1, 2, 5, 61, 4093]);
    const lines = text.split('\n');
    lines[2_500] = lines[2_500]!.replace(/,[^,]*$/, ',-2'); // line 2501: negative volume
    const want = expectChunkedSame(lines.join('\r\n'), [1, 3, 64, 4093]);
    expect('error' in want && want.error.message).toMatch(/:2501: volume -2 is negative/);
  });

  test('the arrays grow when the first rows are longer than the rest', () => {
    const s = generateCandles({ count: 20_000, startPrice: 60_000, seed: 3 });
    const lines = formatCandlesCsv(s).split('\n');
    for (let i = 1; i <= 300; i++) lines[i] = `${lines[i]}${'0'.repeat(200)}`; // trailing zeros: same values
    const text = lines.join('\n');
    const file = fileWith(text);
    for (const chunkBytes of [4096, 65536, 1 << 20]) expectSameSeries(readCandleFile(file, { chunkBytes }), s, `chunks of ${chunkBytes}`);
    expectChunkedSame(text, [1000]);
  });

  test('the arrays are sized from the file, with little to spare', () => {
    const s = generateCandles({ count: 40_000, startPrice: 60_000, seed: 4 }); // ~2.4 MB: several 1 MiB chunks
    const got = readCandleFile(fileWith(formatCandlesCsv(s)));
    expectSameSeries(got, s, 'default chunks');
    expect(got.time.buffer.byteLength / 8).toBeLessThan(s.length * 1.05 + 64);
  });

  test.skipIf(process.platform === 'win32')('a pipe (unknown size) is read in chunks too', () => {
    const s = generateCandles({ count: 5_000, startPrice: 60_000, seed: 6 });
    const source = fileWith(formatCandlesCsv(s));
    const fifo = path.join(dir, 'pipe.csv');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // The writer runs on its own; readCandleFile blocks in open() until it opens the pipe.
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', source, fifo], { stdio: 'ignore' });
    try {
      expectSameSeries(readCandleFile(fifo, { chunkBytes: 4096 }), s, 'pipe');
    } finally {
      writer.kill();
    }
  });

  test('chunkBytes must be a positive integer', () => {
    const file = fileWith(`${h}${ok(T0)}\n`);
    expect(() => readCandleFile(file, { chunkBytes: 0 })).toThrow(RangeError);
    expect(() => readCandleFile(file, { chunkBytes: 1.5 })).toThrow(RangeError);
  });
});

describe.skipIf(!hasShared)(hasShared ? 'real Binance files in chunks' : `real Binance files in chunks: SKIPPED, ${sharedSkipReason}`, () => {
  test.each([
    'binance_btcusdt_1m_2025-05-20_2025-08-18.csv',
    'binance_btcusdt_1m_2024-07-26_2024-08-25.csv',
    'binance_btcusdt_1m_2023-07-18_2023-08-19.csv',
    'binance_btcusdt_1h_2017-08-17_2024-04-21.csv',
    'binance_btcusdt_1d_2017-08-17_2022-10-10.csv',
  ])('%s: chunked reads give the whole-file parse bit for bit', (name) => {
    const file = sharedData(name);
    const want = parseCandles(readFileSync(file), file);
    const sizes = name.includes('_1d_') ? [1, 7, 4093] : [61, 4093, 1 << 16];
    for (const chunkBytes of [...sizes, undefined]) {
      const got = readCandleFile(file, chunkBytes === undefined ? {} : { chunkBytes });
      expect(got.length).toBe(want.length);
      for (const col of ['time', 'open', 'high', 'low', 'close', 'volume'] as const) {
        const x = got[col];
        const y = want[col];
        for (let i = 0; i < want.length; i++) {
          if (!Object.is(x[i], y[i])) expect.fail(`chunks of ${chunkBytes}: ${col}[${i}] is ${x[i]}, want ${y[i]}`);
        }
      }
    }
  });
});
