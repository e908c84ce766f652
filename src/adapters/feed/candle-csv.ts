// Reads candle files straight from their bytes: a year of 1-minute candles is ~30 MB and
// 525,600 rows, so there is no per-line string, no split and no per-row object.
//
// Two formats, told apart by the first line:
//  (a) CSV with the header `timestamp,open,high,low,close,volume` (any case, whitespace
//      around the names, optional UTF-8 BOM); timestamp in UTC milliseconds or ISO 8601.
//  (b) Binance kline CSV: no header, at least 6 columns (open time, open, high, low, close,
//      volume, then ignored columns); open time in milliseconds or microseconds.
// In both, an integer time >= 1e14 is read as microseconds (Binance's spot dumps since 2025).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { allocateCandles, sliceCandles, type CandleSeries } from './candles.js';

/** A problem in a candle file: `<file>:<line>: <what is wrong> (<what to do>)`. */
export class CandleFileError extends Error {
  override readonly name = 'CandleFileError';
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, problem: string, fix: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem} (${fix})`);
    this.file = file;
    this.line = line;
  }
}

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const COMMA = 44;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;
const ZERO = 48;

const HEADER = 'timestamp,open,high,low,close,volume';
const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;
const BINANCE_COLUMNS = ['open time', 'open', 'high', 'low', 'close', 'volume'] as const;
/** Integer times at or above this are microseconds (1e14 ms would be the year 5138). */
const MICROSECOND_THRESHOLD = 1e14;
const TWO_53 = 9007199254740992;
// 10^0..10^22 are exact doubles: with an integer mantissa below 2^53, one multiplication or
// division by them is correctly rounded, so it gives the same double as Number() (Clinger's
// fast path).
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/**
 * Parses the decimal number in `bytes[start, end)`: `[+-]digits[.digits][(e|E)[+-]digits]`
 * (`1.` and `.5` as Number() reads them). Returns exactly the double Number() returns for that
 * text, or NaN if the text is not such a decimal (empty, `Infinity`, `0x10`, spaces, ...).
 */
export function parseDecimal(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let neg = false;
  let c = bytes[i];
  if (c === MINUS) {
    neg = true;
    i++;
  } else if (c === PLUS) {
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fracDigits = 0;
  while (i < end) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
    digits++;
    i++;
  }
  if (i < end && bytes[i] === DOT) {
    i++;
    while (i < end) {
      const d = bytes[i]! - ZERO;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      digits++;
      fracDigits++;
      i++;
    }
  }
  if (digits === 0) return NaN;
  let exp = 0;
  if (i < end) {
    c = bytes[i];
    if (c !== 101 && c !== 69) return NaN; // e, E
    i++;
    let expNeg = false;
    c = bytes[i];
    if (c === MINUS) {
      expNeg = true;
      i++;
    } else if (c === PLUS) {
      i++;
    }
    let expDigits = 0;
    while (i < end) {
      const d = bytes[i]! - ZERO;
      if (d < 0 || d > 9) return NaN;
      if (exp < 1e9) exp = exp * 10 + d;
      expDigits++;
      i++;
    }
    if (expDigits === 0) return NaN;
    if (expNeg) exp = -exp;
  }
  // If the true mantissa is below 2^53, every partial sum above was exact; if it is not, the
  // rounded one is >= 2^53 too, so this test never passes an inexact mantissa.
  if (mantissa < TWO_53) {
    const p = exp - fracDigits;
    let v: number;
    if (mantissa === 0) v = 0;
    else if (p === 0) v = mantissa;
    else if (p < 0 && p >= -22) v = mantissa / POW10[-p]!;
    else if (p > 0 && p <= 22) v = mantissa * POW10[p]!;
    else return Number(latin1(bytes, start, end));
    return neg ? -v : v;
  }
  return Number(latin1(bytes, start, end));
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

const utf8 = new TextDecoder('utf-8');

/** The text of a field for an error message, shortened if long. */
function shown(bytes: Uint8Array, start: number, end: number): string {
  const text = utf8.decode(bytes.subarray(start, Math.min(end, start + 60)));
  return end - start > 60 ? `${text}...` : text;
}

/** Integer in `bytes[start, end)` made of digits only (at most 16), or NaN. */
function parseDigits(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 16) return NaN;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

/** Fixed-width number of `width` digits at `at`, or -1. */
function fixed(bytes: Uint8Array, at: number, width: number, end: number): number {
  if (at + width > end) return -1;
  let v = 0;
  for (let i = at; i < at + width; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * ISO 8601 time in `bytes[start, end)` as UTC milliseconds, or NaN:
 * `YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)fraction]]][Z|z|±HH[:MM]|±HHMM]`; no zone means UTC.
 */
export function parseIsoTime(bytes: Uint8Array, start: number, end: number): number {
  const y = fixed(bytes, start, 4, end);
  if (y < 0 || bytes[start + 4] !== MINUS || bytes[start + 7] !== MINUS) return NaN;
  const mo = fixed(bytes, start + 5, 2, end);
  const d = fixed(bytes, start + 8, 2, end);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return NaN;
  let ms = daysFromCivil(y, mo, d) * 86_400_000;
  let i = start + 10;
  if (i === end) return ms;
  const sep = bytes[i];
  if (sep !== 84 && sep !== 116 && sep !== SPACE) return NaN; // T, t, space
  const h = fixed(bytes, i + 1, 2, end);
  const mi = fixed(bytes, i + 4, 2, end);
  if (h < 0 || h > 23 || bytes[i + 3] !== 58 || mi < 0 || mi > 59) return NaN;
  ms += h * 3_600_000 + mi * 60_000;
  i += 6;
  if (i < end && bytes[i] === 58) {
    const s = fixed(bytes, i + 1, 2, end);
    if (s < 0 || s > 59) return NaN;
    ms += s * 1000;
    i += 3;
    if (i < end && (bytes[i] === DOT || bytes[i] === COMMA)) {
      i++;
      let frac = 0;
      let n = 0;
      while (i < end) {
        const dd = bytes[i]! - ZERO;
        if (dd < 0 || dd > 9) break;
        if (n < 15) {
          frac = frac * 10 + dd;
          n++;
        }
        i++;
      }
      if (n === 0) return NaN;
      ms += n <= 3 ? frac * POW10[3 - n]! : frac / POW10[n - 3]!;
    }
  }
  if (i === end) return ms;
  const z = bytes[i];
  if ((z === 90 || z === 122) && i + 1 === end) return ms; // Z, z
  if (z !== PLUS && z !== MINUS) return NaN;
  const oh = fixed(bytes, i + 1, 2, end);
  if (oh < 0 || oh > 23) return NaN;
  let om = 0;
  i += 3;
  if (i < end) {
    if (bytes[i] === 58) i++;
    om = fixed(bytes, i, 2, end);
    if (om < 0 || om > 59) return NaN;
    i += 2;
  }
  if (i !== end) return NaN;
  const offset = (oh * 60 + om) * 60_000;
  return z === PLUS ? ms - offset : ms + offset;
}

function isBlank(c: number | undefined): boolean {
  return c === SPACE || c === TAB || c === CR;
}

/** The first line (without BOM, line ending or surrounding whitespace) as a string. */
function firstLineText(bytes: Uint8Array, from: number): string {
  let end = bytes.indexOf(LF, from);
  if (end < 0) end = bytes.length;
  return utf8.decode(bytes.subarray(from, end)).trim();
}

function fail(file: string, line: number, problem: string, fix: string): never {
  throw new CandleFileError(file, line, problem, fix);
}

// Where the last scanUint/scanNumber stopped: lets the hot loop read a row in one pass.
let scanEnd = 0;

/** Digits only (at most 16) from `i`, stopping at the first non-digit; NaN if none. */
function scanUint(bytes: Uint8Array, i: number, n: number): number {
  const from = i;
  let v = 0;
  for (; i < n; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  scanEnd = i;
  return i === from || i - from > 16 ? NaN : v;
}

/**
 * `[-]digits[.digits]` from `i`, stopping at the first other byte. NaN when the text there
 * is not of that form or needs more than the fast path (then the line is re-read slowly).
 */
function scanNumber(bytes: Uint8Array, i: number, n: number): number {
  let neg = false;
  if (bytes[i] === MINUS) {
    neg = true;
    i++;
  }
  let m = 0;
  let digits = 0;
  for (; i < n; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) break;
    m = m * 10 + d;
    digits++;
  }
  let frac = 0;
  if (i < n && bytes[i] === DOT) {
    for (i++; i < n; i++) {
      const d = bytes[i]! - ZERO;
      if (d < 0 || d > 9) break;
      m = m * 10 + d;
      frac++;
    }
  }
  scanEnd = i;
  if (digits + frac === 0 || m >= TWO_53 || frac > 22) return NaN;
  const v = frac === 0 ? m : m / POW10[frac]!;
  return neg ? -v : v;
}

/** Length of a UTF-8 BOM at the start of `bytes` (3), or 0. */
function bomLength(bytes: Uint8Array): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

function emptyFile(file: string): CandleFileError {
  return new CandleFileError(file, undefined, 'the file is empty', `expected the header ${HEADER} and candle rows, or Binance kline rows`);
}

/** `first` is the trimmed first line, neither our header nor a Binance row. */
function badFirstLine(file: string, first: string): never {
  const what = first === '' ? 'the first line is empty' : `the first line "${first.length > 80 ? `${first.slice(0, 80)}...` : first}" is not the header ${HEADER}`;
  return fail(file, 1, `${what} and not a Binance kline row`, `start the file with the header ${HEADER}, or give a headerless Binance kline CSV`);
}

/** The format told by the first line, and where the rows start. */
interface Format {
  readonly binance: boolean;
  /** Offset of the first row's line. */
  readonly body: number;
  /** Its line number. */
  readonly line: number;
}

/**
 * Reads the format from the first line, which starts at `p` (after any BOM) and must be
 * whole in `bytes` (up to its LF, or the end of the file).
 */
function detectFormat(bytes: Uint8Array, p: number, file: string): Format {
  const first = firstLineText(bytes, p);
  const names = first.toLowerCase().split(',').map((s) => s.trim()).join(',');
  if (names === HEADER || names.startsWith('open_time,')) {
    // `open_time,...` is the header of Binance's futures kline dumps: skip it like ours.
    const eol = bytes.indexOf(LF, p);
    return { binance: names !== HEADER, body: eol < 0 ? bytes.length : eol + 1, line: 2 };
  }
  if (/^\d+$/.test(first.split(',')[0]!.trim())) return { binance: true, body: p, line: 1 };
  return badFirstLine(file, first);
}

/** What parseRows carries from one block of lines to the next. */
interface RowState {
  readonly file: string;
  readonly binance: boolean;
  /** Number of the next line to read. */
  line: number;
  rows: number;
  /** Line of the first blank line seen (0 if none): only blank lines may follow it. */
  blankLine: number;
  prevTime: number;
  /** Rows are stored here; its length is the capacity. */
  out: CandleSeries;
  /** Size of the file in bytes, 0 if unknown: sizes the arrays when they must grow. */
  readonly fileBytes: number;
  /** File offset of `bytes[0]` in the current parseRows call. */
  base: number;
}

function newRowState(file: string, format: Format, capacity: number, fileBytes: number): RowState {
  return {
    file,
    binance: format.binance,
    line: format.line,
    rows: 0,
    blankLine: 0,
    prevTime: -Infinity,
    out: allocateCandles(capacity),
    fileBytes,
    base: 0,
  };
}

/** Upper bound of the rows in `bytes[p..]`: one per line. */
function countLines(bytes: Uint8Array, p: number): number {
  let lines = 1;
  for (let i = bytes.indexOf(LF, p); i >= 0; i = bytes.indexOf(LF, i + 1)) lines++;
  return lines;
}

/**
 * Room for at least one more row: projects the row count from the bytes read so far when the
 * file size is known (at least 1.125x), else grows by 1.5x.
 */
function growRows(st: RowState, consumed: number): void {
  const cap = st.out.length;
  let next = cap + (cap >> 1) + 16;
  if (st.fileBytes > consumed && consumed > 0) {
    next = Math.max(Math.ceil((st.rows / consumed) * st.fileBytes * 1.02) + 16, cap + (cap >> 3) + 16);
  }
  const bigger = allocateCandles(next);
  const rows = st.rows;
  bigger.time.set(st.out.time.subarray(0, rows));
  bigger.open.set(st.out.open.subarray(0, rows));
  bigger.high.set(st.out.high.subarray(0, rows));
  bigger.low.set(st.out.low.subarray(0, rows));
  bigger.close.set(st.out.close.subarray(0, rows));
  bigger.volume.set(st.out.volume.subarray(0, rows));
  st.out = bigger;
}

const starts = new Int32Array(7);
const ends = new Int32Array(7);
const vals = new Float64Array(6);

/**
 * Parses the rows in `bytes[p..]`, which holds whole lines only: each ends with its LF except
 * the file's last line. The end of `bytes` is taken as a line end, so it must be the end of
 * a line (after an LF) or of the file. Throws CandleFileError for a bad row.
 */
function parseRows(st: RowState, bytes: Uint8Array, p: number): void {
  const n = bytes.length;
  const { file, binance } = st;
  const names6 = binance ? BINANCE_COLUMNS : COLUMNS;
  let { line, rows, blankLine, prevTime } = st;
  let { time, open, high, low, close, volume } = st.out;
  let cap = time.length;

  for (; p < n; line++) {
    let t: number;
    let o = NaN;
    let h = NaN;
    let l = NaN;
    let c = NaN;
    let v = NaN;
    let next = -1;

    // Fast path: `digits,num,num,num,num,num` then the line end (or more columns for Binance).
    fast: {
      t = scanUint(bytes, p, n);
      let i = scanEnd;
      if (t !== t || bytes[i] !== COMMA) break fast;
      o = scanNumber(bytes, i + 1, n);
      i = scanEnd;
      if (o !== o || bytes[i] !== COMMA) break fast;
      h = scanNumber(bytes, i + 1, n);
      i = scanEnd;
      if (h !== h || bytes[i] !== COMMA) break fast;
      l = scanNumber(bytes, i + 1, n);
      i = scanEnd;
      if (l !== l || bytes[i] !== COMMA) break fast;
      c = scanNumber(bytes, i + 1, n);
      i = scanEnd;
      if (c !== c || bytes[i] !== COMMA) break fast;
      v = scanNumber(bytes, i + 1, n);
      i = scanEnd;
      if (v !== v) break fast;
      if (i === n) {
        next = n;
      } else {
        const e = bytes[i];
        if (e === LF) next = i + 1;
        else if (e === CR && (i + 1 === n || bytes[i + 1] === LF)) next = i + 2;
        else if (e === COMMA && binance) {
          const lf = bytes.indexOf(LF, i);
          next = lf < 0 ? n : lf + 1;
        }
      }
    }

    if (next < 0) {
      // Slow path: any other form, blank lines and errors.
      let fields = 0;
      starts[0] = p;
      let q = p;
      for (; q < n; q++) {
        const b = bytes[q];
        if (b === LF) break;
        if (b === COMMA) {
          if (fields < 6) {
            ends[fields] = q;
            starts[fields + 1] = q + 1;
          }
          fields++;
        }
      }
      if (fields < 7) ends[fields] = q;
      fields++;
      next = q + 1;

      // Trim spaces, tabs and the CR of CRLF around each field read.
      const used = fields < 6 ? fields : 6;
      for (let f = 0; f < used; f++) {
        let s = starts[f]!;
        let e = ends[f]!;
        while (s < e && isBlank(bytes[s])) s++;
        while (e > s && isBlank(bytes[e - 1])) e--;
        starts[f] = s;
        ends[f] = e;
      }
      if (fields === 1 && starts[0] === ends[0]) {
        if (blankLine === 0) blankLine = line;
        p = next;
        continue;
      }
      if (blankLine !== 0) blankLineError(file, blankLine);
      if (fields < 6) {
        fail(
          file,
          line,
          `the row has ${fields} column${fields === 1 ? '' : 's'}, expected ${binance ? 'at least 6' : '6'}`,
          `each row needs ${names6.join(',')}`,
        );
      }
      if (fields > 6 && !binance) {
        fail(file, line, `the row has ${fields} columns, expected 6`, `the header names 6 columns: ${HEADER}`);
      }
      t = parseDigits(bytes, starts[0]!, ends[0]!);
      if (t !== t && !binance) t = parseIsoTime(bytes, starts[0]!, ends[0]!);
      if (t !== t) {
        if (binance) badField(file, line, bytes, starts, ends, names6, 0, 'not an integer time', 'Binance kline open times are UTC milliseconds or microseconds');
        badField(file, line, bytes, starts, ends, names6, 0, 'not UTC milliseconds or an ISO 8601 time', 'write e.g. 1704067200000 or 2024-01-01T00:00:00Z');
      }
      vals[0] = t;
      for (let f = 1; f < 6; f++) {
        const x = parseDecimal(bytes, starts[f]!, ends[f]!);
        if (x !== x) badField(file, line, bytes, starts, ends, names6, f, 'not a number', 'write a plain decimal such as 42000.5');
        if (x === Infinity || x === -Infinity) badField(file, line, bytes, starts, ends, names6, f, 'too large', 'write a finite decimal');
        vals[f] = x;
      }
      o = vals[1]!;
      h = vals[2]!;
      l = vals[3]!;
      c = vals[4]!;
      v = vals[5]!;
    }
    if (blankLine !== 0) blankLineError(file, blankLine);

    if (t >= MICROSECOND_THRESHOLD) t /= 1000;
    if (t <= prevTime) {
      if (t === prevTime) fail(file, line, `duplicate timestamp ${t}: the previous row has the same time`, 'remove the duplicate row');
      fail(file, line, `timestamp ${t} is not after the previous row's ${prevTime}`, 'rows must be sorted by time, oldest first');
    }
    if (!(o > 0 && h > 0 && l > 0 && c > 0 && v >= 0)) {
      const px = [o, h, l, c];
      for (let f = 0; f < 4; f++) {
        if (!(px[f]! > 0)) fail(file, line, `${names6[f + 1]} price ${px[f]} is not positive`, 'prices must be > 0');
      }
      fail(file, line, `volume ${v} is negative`, 'volume must be >= 0');
    }
    if (h < o || h < c) {
      fail(file, line, `high ${h} is below max(open, close) = ${Math.max(o, c)}`, 'high must be >= open and close');
    }
    if (l > o || l > c) {
      fail(file, line, `low ${l} is above min(open, close) = ${Math.min(o, c)}`, 'low must be <= open and close');
    }

    if (rows === cap) {
      st.rows = rows;
      growRows(st, st.base + p);
      ({ time, open, high, low, close, volume } = st.out);
      cap = time.length;
    }
    time[rows] = t;
    open[rows] = o;
    high[rows] = h;
    low[rows] = l;
    close[rows] = c;
    volume[rows] = v;
    rows++;
    prevTime = t;
    p = next;
  }

  st.line = line;
  st.rows = rows;
  st.blankLine = blankLine;
  st.prevTime = prevTime;
}

/** A row after a blank line: the blank line is the error. */
function blankLineError(file: string, line: number): never {
  return fail(file, line, 'the line is empty', 'remove blank lines between rows; only trailing blank lines are allowed');
}

function finishRows(st: RowState): CandleSeries {
  if (st.rows === 0) {
    fail(st.file, 1, 'the file has a header but no candle rows', 'add rows below the header, oldest first');
  }
  return sliceCandles(st.out, 0, st.rows);
}

/**
 * Parses a candle file's bytes. `file` names it in errors. Throws CandleFileError with the
 * line number for an unsorted, duplicate or malformed row.
 */
export function parseCandles(bytes: Uint8Array, file: string): CandleSeries {
  const n = bytes.length;
  const p = bomLength(bytes);
  let blankOnly = true;
  for (let i = p; i < n; i++) {
    const c = bytes[i];
    if (!isBlank(c) && c !== LF) {
      blankOnly = false;
      break;
    }
  }
  if (blankOnly) throw emptyFile(file);

  const format = detectFormat(bytes, p, file);
  const st = newRowState(file, format, countLines(bytes, format.body), n);
  parseRows(st, bytes, format.body);
  return finishRows(st);
}

function badField(
  file: string,
  line: number,
  bytes: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  names: readonly string[],
  col: number,
  what: string,
  fix: string,
): never {
  const s = starts[col]!;
  const e = ends[col]!;
  const problem = s === e ? `column "${names[col]}" is empty` : `column "${names[col]}" is "${shown(bytes, s, e)}", ${what}`;
  return fail(file, line, problem, fix);
}

function readError(path: string, err: unknown): CandleFileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CandleFileError(path, undefined, 'no such file', 'check the path given to --data');
  if (code === 'EISDIR') return new CandleFileError(path, undefined, 'is a directory, not a file', 'give the path of a CSV file');
  return new CandleFileError(path, undefined, `cannot read the file: ${(err as Error).message}`, 'check the path and its permissions');
}

/** A file read in chunks into one buffer; the unparsed tail is moved to its front. */
class ChunkReader {
  /** File bytes from `offset`; `buf[0, filled)` holds data. */
  buf: Uint8Array;
  filled = 0;
  /** File offset of `buf[0]`. */
  offset = 0;
  eof = false;
  private readonly fd: number;
  private readonly path: string;
  private readonly chunkBytes: number;

  constructor(fd: number, path: string, chunkBytes: number) {
    this.fd = fd;
    this.path = path;
    this.chunkBytes = chunkBytes;
    this.buf = new Uint8Array(chunkBytes + 256);
  }

  /** Reads up to chunkBytes more after the data held (the buffer grows for a long line). */
  fill(): void {
    if (this.filled + this.chunkBytes > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.filled + this.chunkBytes));
      bigger.set(this.buf.subarray(0, this.filled));
      this.buf = bigger;
    }
    let got: number;
    try {
      got = readSync(this.fd, this.buf, this.filled, this.chunkBytes, null);
    } catch (err) {
      throw readError(this.path, err);
    }
    if (got === 0) this.eof = true;
    this.filled += got;
  }

  /** Drops `buf[0, from)`, moving the rest to the front. */
  discard(from: number): void {
    this.buf.copyWithin(0, from, this.filled);
    this.filled -= from;
    this.offset += from;
  }
}

/** Options of readCandleFile. */
export interface ReadCandleOptions {
  /** Bytes per read (default 1 MiB). Tests use tiny values to split rows across reads. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * Reads and parses a candle file (see parseCandles); a missing file is a CandleFileError.
 * The file is read in chunks into one reused buffer and parsed as it comes, so the whole file
 * is never in memory: only the candle arrays are.
 */
export function readCandleFile(path: string, options: ReadCandleOptions = {}): CandleSeries {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  let fd: number;
  let fileBytes: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw readError(path, err);
  }
  try {
    try {
      const stat = fstatSync(fd);
      fileBytes = stat.isFile() ? stat.size : 0;
    } catch (err) {
      throw readError(path, err);
    }
    return parseChunks(new ChunkReader(fd, path, chunkBytes), path, fileBytes);
  } finally {
    closeSync(fd);
  }
}

/** Index after the last LF in `buf[from, to)`, or -1. */
function afterLastLf(buf: Uint8Array, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (buf[i] === LF) return i + 1;
  return -1;
}

/** Rows expected in the file, from the lines in the first block `bytes[p..]`. */
function estimateRows(bytes: Uint8Array, p: number, eof: boolean, bytesLeft: number): number {
  const lines = countLines(bytes, p);
  if (eof) return lines; // the whole rest of the file: exact, as parseCandles
  const blockBytes = bytes.length - p;
  if (bytesLeft <= blockBytes) return 2 * lines + 16; // size unknown: growRows takes over
  return Math.max(lines, Math.ceil((bytesLeft / blockBytes) * (lines - 1) * 1.02) + 16);
}

function parseChunks(r: ChunkReader, file: string, fileBytes: number): CandleSeries {
  // The first line, whole: the BOM, the empty-file check and the format need it.
  let eol: number;
  for (let searched = 0; ; ) {
    r.fill();
    eol = r.buf.subarray(0, r.filled).indexOf(LF, searched);
    searched = r.filled;
    if (eol >= 0 || r.eof) break;
  }
  const firstEnd = eol < 0 ? r.filled : eol;
  const p = bomLength(r.buf.subarray(0, firstEnd));
  let firstBlank = true;
  for (let i = p; i < firstEnd; i++) {
    if (!isBlank(r.buf[i])) {
      firstBlank = false;
      break;
    }
  }
  if (firstBlank) {
    // The file is empty if only blanks and line ends follow, else its first line is.
    let i = firstEnd;
    for (;;) {
      for (; i < r.filled; i++) {
        const c = r.buf[i];
        if (!isBlank(c) && c !== LF) badFirstLine(file, '');
      }
      if (r.eof) throw emptyFile(file);
      r.discard(r.filled);
      i = 0;
      r.fill();
    }
  }
  const format = detectFormat(r.buf.subarray(0, r.filled), p, file);

  // Then whole lines, block by block; a line cut by a read waits for the next one.
  const st = newRowState(file, format, 0, fileBytes);
  let estimated = false;
  let from = format.body;
  let carried = 0; // the first bytes of buf are a line's start (no LF)
  for (;;) {
    let end = r.filled;
    if (!r.eof) {
      end = afterLastLf(r.buf, Math.max(from, carried), r.filled);
      if (end < 0) end = from;
    }
    if (end > from) {
      const bytes = r.buf.subarray(0, end);
      if (!estimated) {
        st.out = allocateCandles(estimateRows(bytes, from, r.eof, fileBytes - r.offset - from));
        estimated = true;
      }
      st.base = r.offset;
      parseRows(st, bytes, from);
    }
    if (r.eof) break;
    r.discard(end);
    carried = r.filled;
    from = 0;
    r.fill();
  }
  return finishRows(st);
}
