// Random grids and price paths for the property tests of the grid engine
// (../shared/spec/grid-semantics.md).
//
// A scenario is a raw grid configuration (the keys of the spec, as a user writes them; both
// parseGridConfig and the reference implementation read it) and a candle series. Grids are
// arithmetic or geometric, 2..60 levels, around the start price or beside it, sized by
// quantityPerLevel or investment, fees 0..0.005, optional stop-loss / take-profit on the right
// sides of the start price (sometimes exactly on a level), and sometimes a short quote balance so
// that buys get skipped. Paths are random-walk candles with valid OHLC, prices on the price step,
// occasional gaps between a close and the next open, and some lows, highs and closes snapped onto
// grid levels so that exact touches happen; or windows of the real Binance candles in
// ../shared/data.
//
// The builders use the reference implementation's helpers (test/reference), never src/, so a
// generator cannot inherit a bug of the engine it tests.
import fc from 'fast-check';
import { allocateCandles, sliceCandles, type CandleSeries } from '../../src/adapters/feed/candles.js';
import { readCandleFile } from '../../src/adapters/feed/candle-csv.js';
import { floorStep, nearestLevel, referenceLevels, stepDecimals, type ReferenceGridConfig } from '../reference/grid-reference.js';
import { sharedData } from '../shared.js';
import { candlesFromRows, type CandleRow } from '../support/candle-rows.js';

export interface Scenario {
  /** The grid configuration as a user writes it (spec keys, defaults left out where the spec has one). */
  readonly raw: ReferenceGridConfig;
  readonly candles: CandleSeries;
  /** Where the candles come from: "random" or "<file>[start, end)". */
  readonly source: string;
}

// ---- numbers -------------------------------------------------------------------------------

/** `m * 10^exp` as the double nearest that decimal (e.g. 0.01, 5e-7, 100). */
function decimalStep(m: 1 | 5, exp: number): number {
  return Number(`${m}e${exp}`);
}

/** k steps as the double nearest the decimal (what a CSV file would hold). */
function onStep(k: number, step: number, decimals: number): number {
  return Number((k * step).toFixed(decimals));
}

/** 8 significant digits: readable counterexamples, and still arbitrary (not on the price step). */
function readable(x: number): number {
  return Number(x.toPrecision(8));
}

// ---- grid parameters ------------------------------------------------------------------------

type Trigger = { kind: 'none' } | { kind: 'level'; pick: number } | { kind: 'price'; frac: number };
type Wallet = { kind: 'default' } | { kind: 'short'; frac: number } | { kind: 'extra'; quote: number; base: number };

export interface GridParams {
  readonly spacing: 'arithmetic' | 'geometric';
  readonly levels: number;
  /** Where the range sits: around the start price, or wholly above or below it. */
  readonly placement: 'around' | 'above' | 'below';
  /** Range widths (fractions). */
  readonly a: number;
  readonly b: number;
  readonly sizing: 'quantity' | 'investment';
  /** Quote value of one grid order, roughly. */
  readonly notional: number;
  /** quantityPerLevel not a multiple of amountStep (the engine floors it). */
  readonly qNoise: boolean;
  readonly minNotional: number;
  readonly maker: number;
  readonly taker: number;
  readonly stopLoss: Trigger;
  readonly takeProfit: Trigger;
  readonly wallet: Wallet;
}

/** 0, or a rate with 6 decimals up to `max`. */
const feeUpTo = (max: number) =>
  fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 0, max: Math.round(max * 1e6) }).map((x) => x / 1e6), weight: 3 });
/** Uniform on [min, max] in a million steps (fc.double favours the ends and tiny values: flat paths). */
const fraction = (min: number, max: number) => fc.integer({ min: 0, max: 1_000_000 }).map((k) => min + ((max - min) * k) / 1_000_000);
/** Uniform on [-max, max], shrinking towards 0. */
const signed = (max: number) => fc.integer({ min: -1_000_000, max: 1_000_000 }).map((k) => (max * k) / 1_000_000);

const trigger: fc.Arbitrary<Trigger> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('level' as const), pick: fraction(0, 1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('price' as const), frac: fraction(0.001, 0.4) }), weight: 1 },
);

const wallet: fc.Arbitrary<Wallet> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'default' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('short' as const), frac: fraction(0, 1) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('extra' as const), quote: fraction(0, 2), base: fraction(0, 3) }), weight: 1 },
);

export interface GridBounds {
  /** Most grid lines (default 60). */
  readonly maxLevels?: number;
  /** Highest fee rate (default 0.005). */
  readonly maxFee?: number;
}

/** Random grid parameters: 2..maxLevels levels, fees 0..maxFee. */
export const gridParamsWithin = ({ maxLevels = 60, maxFee = 0.005 }: GridBounds = {}): fc.Arbitrary<GridParams> =>
  fc.record({
    spacing: fc.constantFrom('arithmetic' as const, 'geometric' as const),
    levels: fc.integer({ min: 2, max: maxLevels }),
    placement: fc.oneof(
      { arbitrary: fc.constant('around' as const), weight: 8 },
      { arbitrary: fc.constant('above' as const), weight: 1 },
      { arbitrary: fc.constant('below' as const), weight: 1 },
    ),
    a: fraction(0.002, 0.6),
    b: fraction(0.002, 1),
    sizing: fc.constantFrom('quantity' as const, 'investment' as const),
    notional: fraction(10, 2000),
    qNoise: fc.boolean(),
    minNotional: fc.constantFrom(0, 1, 5, 10),
    maker: feeUpTo(maxFee),
    taker: feeUpTo(maxFee),
    stopLoss: trigger,
    takeProfit: trigger,
    wallet,
  });

export const gridParams = gridParamsWithin();

export interface Market {
  /** The start price (the first candle's open), a multiple of priceStep. */
  readonly p0: number;
  readonly priceStep: number;
}

/**
 * The raw configuration for `g` at start price `market.p0`. `range` gives [lower, upper] for
 * the "around" placement (random paths: P0*(1-a), P0*(1+b); real windows: towards the window's
 * extremes). Levels are reduced while the rounded levels would not be strictly increasing.
 */
export function buildConfig(g: GridParams, market: Market, range: (a: number, b: number) => [number, number]): ReferenceGridConfig {
  const { p0, priceStep } = market;
  let lower: number;
  let upper: number;
  if (g.placement === 'around') [lower, upper] = range(g.a, g.b);
  else if (g.placement === 'above') {
    lower = p0 * (1 + g.a / 2);
    upper = lower * (1 + g.b);
  } else {
    upper = p0 * (1 - g.a / 2);
    lower = upper / (1 + g.b);
  }
  lower = readable(Math.max(lower, priceStep));
  upper = readable(Math.max(upper, lower + 3 * priceStep));
  const market0 = { priceStep, amountStep: 1, minNotional: g.minNotional };
  const base = { symbol: 'BTC/USDT', lower, upper, spacing: g.spacing, market: market0 } as const;
  const fits = (n: number): boolean => {
    try {
      referenceLevels({ ...base, levels: n });
      return true;
    } catch {
      return false;
    }
  };
  let levels = g.levels;
  while (levels > 2 && !fits(levels)) levels--;
  const L = referenceLevels({ ...base, levels });
  const e = nearestLevel(L, p0);
  const nSell = L.length - 1 - e;
  let sumBuy = 0;
  for (let i = 0; i < e; i++) sumBuy += L[i]!;
  const L0 = L[0]!;

  // Size: about `notional` quote per order, at least minNotional at the lowest level and for the
  // start's market buy (a start far below the range buys little: nSell * q at p0).
  let q = Math.max(g.notional / p0, (g.minNotional * 1.02) / L0, nSell > 0 ? (g.minNotional * 1.02) / (nSell * p0) : 0);
  const amountStep = decimalStep(1, Math.floor(Math.log10(q)) - 3);
  const amountDecimals = stepDecimals(amountStep);
  const maxFee = Math.max(g.maker, g.taker);
  const config: ReferenceGridConfig = {
    symbol: 'BTC/USDT',
    lower,
    upper,
    levels,
    spacing: g.spacing,
    fees: { maker: g.maker, taker: g.taker },
    market: { priceStep, amountStep, minNotional: g.minNotional },
  };
  let defaultQuote: number;
  if (g.sizing === 'quantity') {
    q = onStep(Math.ceil(q / amountStep), amountStep, amountDecimals);
    config.quantityPerLevel = g.qNoise ? readable(q + 0.37 * amountStep) : q;
    let buyCost = 0;
    for (let i = 0; i < e; i++) buyCost += q * L[i]! * (1 + g.maker);
    defaultQuote = nSell * q * p0 * (1 + g.taker) + buyCost;
  } else {
    let investment = Number((q * (sumBuy + nSell * p0) * (1 + maxFee)).toFixed(2));
    for (let tries = 0; ; tries++) {
      q = floorStep(investment / ((sumBuy + nSell * p0) * (1 + maxFee)), amountStep);
      if ((q > 0 && q * L0 >= g.minNotional * 1.001 && (nSell === 0 || nSell * q * p0 >= g.minNotional * 1.001)) || tries > 20) break;
      investment = Number((investment * 1.5 + 1).toFixed(2));
    }
    config.investment = investment;
    defaultQuote = investment;
  }
  const marketCost = nSell * q * p0 * (1 + g.taker);
  if (g.wallet.kind === 'short') {
    // Enough for the start's market buy (else the config is rejected), not for every buy.
    config.balance = { quote: marketCost * (1 + 1e-12) + g.wallet.frac * Math.max(0, defaultQuote - marketCost) };
  } else if (g.wallet.kind === 'extra') {
    config.balance = { quote: defaultQuote * (1 + g.wallet.quote), base: readable(g.wallet.base * q * levels) };
  }

  const decimals = stepDecimals(priceStep);
  const below = L.filter((x) => x < p0);
  const above = L.filter((x) => x > p0);
  const sl = g.stopLoss;
  if (sl.kind === 'level' && below.length > 0) config.stopLoss = below[Math.min(below.length - 1, Math.floor(sl.pick * below.length))]!;
  else if (sl.kind !== 'none') {
    const k = Math.floor((p0 * (1 - (sl.kind === 'price' ? sl.frac : 0.05))) / priceStep);
    if (k >= 1 && onStep(k, priceStep, decimals) < p0) config.stopLoss = onStep(k, priceStep, decimals);
  }
  const tp = g.takeProfit;
  if (tp.kind === 'level' && above.length > 0) config.takeProfit = above[Math.min(above.length - 1, Math.floor(tp.pick * above.length))]!;
  else if (tp.kind !== 'none') {
    const k = Math.ceil((p0 * (1 + (tp.kind === 'price' ? tp.frac : 0.05))) / priceStep);
    if (onStep(k, priceStep, decimals) > p0) config.takeProfit = onStep(k, priceStep, decimals);
  }
  return config;
}

// ---- random paths ---------------------------------------------------------------------------

interface Move {
  /** log(close/open) in units of the candle volatility. */
  readonly body: number;
  /** Wicks beyond max(open, close) and min(open, close), in units of the volatility. */
  readonly up: number;
  readonly down: number;
  /** log(open / previous close) in units of the volatility; 0 for most candles. */
  readonly gap: number;
  /** 1: low onto a grid level, 2: high onto a level, 3: close onto a level; else nothing. */
  readonly snap: number;
}

const move: fc.Arbitrary<Move> = fc.record({
  body: signed(1),
  up: fc.oneof(fc.constant(0), fraction(0, 1)),
  down: fc.oneof(fc.constant(0), fraction(0, 1)),
  gap: fc.oneof({ arbitrary: fc.constant(0), weight: 12 }, { arbitrary: signed(3), weight: 1 }),
  snap: fc.integer({ min: 0, max: 9 }),
});

export interface PathParams {
  /** 0: the start price moved onto the nearest level, 1: onto the middle of two levels (a tie when on the step); else kept. */
  readonly start: number;
  /** log10 of the start price: 1 .. 100,000. */
  readonly magnitude: number;
  /** Significant digits of the price step below the price's leading digit. */
  readonly stepDigits: number;
  readonly stepFive: boolean;
  /** Candle volatility as a multiple of the grid spacing. */
  readonly volatility: number;
  readonly moves: readonly Move[];
}

export const pathParams = (maxCandles: number): fc.Arbitrary<PathParams> =>
  fc.record({
    start: fc.integer({ min: 0, max: 5 }),
    magnitude: fraction(0, 5),
    stepDigits: fc.oneof({ arbitrary: fc.constant(2), weight: 1 }, { arbitrary: fc.integer({ min: 3, max: 6 }), weight: 4 }),
    stepFive: fc.boolean(),
    volatility: fraction(0.1, 3),
    moves: fc.array(move, { minLength: 1, maxLength: maxCandles, size: 'max' }),
  });

const T0 = Date.UTC(2025, 0, 1);

/** Candles from `moves`, starting at `p0`, on `priceStep`; snapping onto `levels` as each move says. */
function buildPath(p0: number, priceStep: number, levels: readonly number[], vol: number, moves: readonly Move[]): CandleSeries {
  const decimals = stepDecimals(priceStep);
  const units = (x: number) => Math.round(x / priceStep);
  const levelUnits = levels.map(units);
  const s = allocateCandles(moves.length);
  let prevClose = units(p0);
  moves.forEach((m, i) => {
    let o = i === 0 ? prevClose : Math.max(1, units(prevClose * priceStep * Math.exp(m.gap * vol)));
    let c = Math.max(1, units(o * priceStep * Math.exp(m.body * vol)));
    if (m.snap === 3) c = nearest(levelUnits, c, 1, Infinity) ?? c;
    let h = Math.max(o, c, units(Math.max(o, c) * priceStep * Math.exp(m.up * vol)));
    let l = Math.max(1, Math.min(o, c, units(Math.min(o, c) * priceStep * Math.exp(-m.down * vol))));
    if (m.snap === 1) l = nearest(levelUnits, l, 1, Math.min(o, c)) ?? l;
    if (m.snap === 2) h = nearest(levelUnits, h, Math.max(o, c), Infinity) ?? h;
    if (i === 0) o = units(p0);
    s.time[i] = T0 + i * 60_000;
    s.open[i] = onStep(o, priceStep, decimals);
    s.high[i] = onStep(h, priceStep, decimals);
    s.low[i] = onStep(l, priceStep, decimals);
    s.close[i] = onStep(c, priceStep, decimals);
    s.volume[i] = 1;
    prevClose = c;
  });
  return s;
}

/** The value in `values` nearest `x` within [min, max], or undefined. */
function nearest(values: readonly number[], x: number, min: number, max: number): number | undefined {
  let best: number | undefined;
  for (const v of values) if (v >= min && v <= max && (best === undefined || Math.abs(v - x) < Math.abs(best - x))) best = v;
  return best;
}

function describeScenario(s: Scenario): string {
  const rows: string[] = [];
  for (let i = 0; i < s.candles.length; i++) rows.push(`[${s.candles.open[i]},${s.candles.high[i]},${s.candles.low[i]},${s.candles.close[i]}]`);
  const candles = s.source === 'random' ? `rows (open, high, low, close) = [${rows.join(',')}]` : `${s.candles.length} candles`;
  return `Scenario(${s.source}; config = ${JSON.stringify(s.raw)}; ${candles})`;
}

function scenario(raw: ReferenceGridConfig, candles: CandleSeries, source: string): Scenario {
  const s: Scenario & { [fc.toStringMethod]?: () => string } = { raw, candles, source };
  Object.defineProperty(s, fc.toStringMethod, { value: () => describeScenario(s), enumerable: false });
  return s;
}

/** Random grids on random-walk candles (1..maxCandles of them). */
export function randomScenario(maxCandles: number, bounds: GridBounds = {}): fc.Arbitrary<Scenario> {
  return fc.record({ grid: gridParamsWithin(bounds), path: pathParams(maxCandles) }).map(({ grid, path }) => {
    const magnitude = Math.floor(path.magnitude);
    const priceStep = decimalStep(path.stepFive ? 5 : 1, magnitude - path.stepDigits);
    const decimals = stepDecimals(priceStep);
    const around = onStep(Math.max(1, Math.round(10 ** path.magnitude / priceStep)), priceStep, decimals);
    const range = (a: number, b: number): [number, number] => [around * (1 - a), around * (1 + b)];
    let p0 = around;
    let raw = buildConfig(grid, { p0, priceStep }, range);
    let L = referenceLevels(raw);
    if (grid.placement === 'around' && path.start <= 1) {
      // Same lower and upper, so the same levels: start on a level, or halfway between two.
      const i = nearestLevel(L, around);
      const j = i + 1 < L.length ? i + 1 : i - 1;
      const target = path.start === 0 ? L[i]! : (L[i]! + L[j]!) / 2;
      p0 = onStep(Math.max(1, Math.round(target / priceStep)), priceStep, decimals);
      raw = buildConfig(grid, { p0, priceStep }, range);
      L = referenceLevels(raw);
    }
    const spacing = (L[L.length - 1]! - L[0]!) / Math.max(1, L.length - 1) / p0;
    const vol = Math.min(0.3, spacing * path.volatility);
    return scenario(raw, buildPath(p0, priceStep, L, vol, path.moves), 'random');
  });
}

// ---- real candles -----------------------------------------------------------------------------

/** The real files the windows are cut from: 1-minute (with the August 2024 crash and the 2023-08-17 drop), 1-hour (with outage gaps), 1-day. */
export const REAL_FILES = [
  'binance_btcusdt_1m_2023-07-18_2023-08-19.csv',
  'binance_btcusdt_1m_2024-07-26_2024-08-25.csv',
  'binance_btcusdt_1m_2025-05-20_2025-08-18.csv',
  'binance_btcusdt_1h_2017-08-17_2024-04-21.csv',
  'binance_btcusdt_1d_2017-08-17_2022-10-10.csv',
] as const;

const loaded = new Map<string, CandleSeries>();
function realFile(name: string): CandleSeries {
  let series = loaded.get(name);
  if (series === undefined) {
    series = readCandleFile(sharedData(name));
    loaded.set(name, series);
  }
  return series;
}

/** Random grids on random windows (minLength..maxLength candles) of the real files. Needs ../shared. */
export function realScenario(minLength = 300, maxLength = 2000): fc.Arbitrary<Scenario> {
  return fc
    .record({
      grid: gridParams,
      file: fc.constantFrom(...REAL_FILES),
      at: fraction(0, 1),
      length: fc.integer({ min: minLength, max: maxLength }),
      lowReach: fraction(0.05, 1),
      highReach: fraction(0.05, 1),
    })
    .map(({ grid, file, at, length: wanted, lowReach, highReach }) => {
      const all = realFile(file);
      const length = Math.min(wanted, all.length);
      const start = Math.min(all.length - length, Math.floor(at * (all.length - length + 1)));
      const candles = sliceCandles(all, start, start + length);
      const p0 = candles.open[0]!;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < candles.length; i++) {
        lo = Math.min(lo, candles.low[i]!);
        hi = Math.max(hi, candles.high[i]!);
      }
      // "around": from the start price towards the window's extremes (2% beyond them at most).
      const range = (): [number, number] => [p0 - lowReach * (p0 - lo * 0.98), p0 + highReach * (hi * 1.02 - p0)];
      const raw = buildConfig(grid, { p0, priceStep: 0.01 }, range);
      return scenario(raw, candles, `${file}[${start}, ${start + length})`);
    });
}

// ---- configurations near the start-time rules --------------------------------------------------

/** A raw configuration that may break a rule, and one candle around its start price. */
export interface EdgyScenario {
  readonly raw: Record<string, unknown>;
  readonly candles: CandleSeries;
}

/**
 * Configurations near every start-time rule, on a quarter-unit grid so that boundaries are hit
 * exactly: levels that collide after rounding, q * L0 at minNotional, a wallet that just pays the
 * market buy, triggers at or beyond P0. Roughly half of them are rejected.
 */
const quarter = (min: number, max: number) => fc.integer({ min, max }).map((k) => k / 4);
export const edgyScenario: fc.Arbitrary<EdgyScenario> = fc
  .record({
    lower: quarter(1, 400),
    width: quarter(0, 400),
    levels: fc.integer({ min: 2, max: 80 }),
    spacing: fc.constantFrom('arithmetic' as const, 'geometric' as const),
    priceStep: fc.constantFrom(0.001, 0.01, 0.25, 0.5, 1, 5),
    amountStep: fc.constantFrom(0.00001, 0.001, 0.01, 0.1),
    minNotional: fc.constantFrom(0, 5, 10, 25),
    q: fc.option(fc.integer({ min: 1, max: 300 }).map((k) => k / 100)),
    investment: fc.integer({ min: 1, max: 20_000 }),
    maker: fc.constantFrom(0, 0.001, 0.002),
    taker: fc.constantFrom(0, 0.001, 0.002),
    p0: quarter(1, 900),
    /** In quarters below P0 (a few at or above it). */
    stopLoss: fc.option(fc.integer({ min: -4, max: 200 })),
    /** In quarters above P0 (a few at or below it). */
    takeProfit: fc.option(fc.integer({ min: -4, max: 200 })),
    quote: fc.option(fc.integer({ min: 0, max: 20_000 })),
    base: fc.option(fc.integer({ min: 0, max: 20 })),
  })
  .map((c) => {
    const raw: Record<string, unknown> = {
      symbol: 'BTC/USDT',
      lower: c.lower,
      upper: c.lower + c.width,
      levels: c.levels,
      spacing: c.spacing,
      fees: { maker: c.maker, taker: c.taker },
      market: { priceStep: c.priceStep, amountStep: c.amountStep, minNotional: c.minNotional },
    };
    if (c.q === null) raw.investment = c.investment;
    else raw.quantityPerLevel = c.q;
    if (c.stopLoss !== null) raw.stopLoss = c.p0 - c.stopLoss / 4 > 0 ? c.p0 - c.stopLoss / 4 : c.p0 / 2;
    if (c.takeProfit !== null) raw.takeProfit = c.p0 + c.takeProfit / 4;
    if (c.quote !== null || c.base !== null) raw.balance = { ...(c.quote === null ? {} : { quote: c.quote }), ...(c.base === null ? {} : { base: c.base }) };
    const p0 = c.p0;
    // one candle around P0 (10% either way), on the quarter grid
    const candles = allocateCandles(1);
    candles.time[0] = Date.UTC(2025, 0, 1);
    candles.open[0] = p0;
    candles.high[0] = Math.round(p0 * 1.1 * 4) / 4;
    candles.low[0] = Math.max(0.25, Math.round(p0 * 0.9 * 4) / 4);
    candles.close[0] = Math.round(p0 * 1.02 * 4) / 4;
    return { raw, candles };
  });


/** A scenario from a raw configuration and candle rows (open, high, low, close), one minute apart: for examples. */
export function scenarioFrom(raw: ReferenceGridConfig, rows: readonly CandleRow[]): Scenario {
  return scenario(raw, candlesFromRows(rows, T0), 'random');
}
