// Independent reference implementation of the grid backtest contract
// (../shared/spec/grid-semantics.md), written from the spec alone as one plain loop, plus the
// exchange's filters the spec is silent on (issue 9, docs/grid-engine.md "Exact amounts"): the
// start's market buy is nSell * q as a multiple of the amount step, and a config where that buy
// is worth less than minNotional at P0 is rejected (an exchange refuses it); a stop sells the base
// floored to the amount step, and nothing when that is worth less than minNotional at the trigger
// price (the rest, dust, stays in the wallet).
//
// It is the oracle for the tests of the production engine (XState actors; both must agree
// to 1e-6) and the "plain loop" baseline of the benchmark. It shares no code with src/:
// only the CandleSeries type is imported, and only as a type.
//
// Node 24 runs this file directly with type stripping, so it uses erasable syntax only
// (no enums, namespaces, parameter properties; `import type` for types).
//
// Speed: the walk keeps the highest resting buy and the lowest resting sell at hand, so a
// segment that touches no order and no trigger costs two comparisons and no allocation.

import type { CandleSeries } from '../../src/adapters/feed/candles.js';

export interface ReferenceGridConfig {
  symbol: string;
  lower: number;
  upper: number;
  levels: number;
  spacing?: 'arithmetic' | 'geometric';
  quantityPerLevel?: number;
  investment?: number;
  fees?: { maker?: number; taker?: number };
  market?: { priceStep?: number; amountStep?: number; minNotional?: number };
  stopLoss?: number;
  takeProfit?: number;
  balance?: { quote?: number; base?: number };
}

export interface ReferenceWallet {
  base: number;
  quote: number;
  equity: number;
}

export type ReferenceStop = 'stopLoss' | 'takeProfit';

/** Exactly the JSON object of the spec's "Report" section (same keys, same order). */
export interface ReferenceReport {
  candles: number;
  startPrice: number;
  lastPrice: number;
  quantityPerLevel: number;
  levels: number[];
  fills: { buy: number; sell: number };
  roundTrips: number;
  gridProfit: number;
  fees: number;
  skippedOrders: number;
  initial: ReferenceWallet;
  final: ReferenceWallet;
  openOrders: { buy: number; sell: number };
  stopped: ReferenceStop | null;
  maxDrawdown: number;
}

/** One trade, for tests and debugging; only built when a hook asks for it. */
export interface ReferenceTrade {
  /** 'start': the start's market buy; 'limit': a grid order's fill; 'stop': the stop's market sell. */
  kind: 'start' | 'limit' | 'stop';
  side: 'buy' | 'sell';
  /** Candle index of the walk; -1 for the start. */
  candle: number;
  /** Level index of a limit fill; -1 for market orders. */
  level: number;
  price: number;
  quantity: number;
  fee: number;
  /** A sell that closed a round trip (placed as the counter of a buy). */
  roundTrip: boolean;
}

/** An order that could not be funded and was not placed. */
export interface ReferenceSkip {
  side: 'buy' | 'sell';
  candle: number;
  level: number;
  price: number;
  quantity: number;
}

export interface ReferenceHooks {
  onTrade?: (trade: ReferenceTrade) => void;
  onSkip?: (skip: ReferenceSkip) => void;
}

// ---------------------------------------------------------------------------------------
// Numbers

/** Digits after the decimal point of `step` written as a plain decimal (0.01 -> 2, 5 -> 0, 1e-8 -> 8). */
export function stepDecimals(step: number): number {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(String(Math.abs(step)));
  if (m === null) throw new Error(`cannot read the decimals of step ${step}`);
  const frac = m[2] === undefined ? 0 : m[2].length;
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  return Math.min(100, Math.max(0, frac - exp));
}

/** Slack around a boundary of x/step: 1e-9, or 4 ulps of the ratio when that is larger. */
function slack(r: number): number {
  return Math.max(1e-9, Math.abs(r) * 4 * Number.EPSILON);
}

/** Nearest multiple of `step`, half away from zero (within the slack of .5 counts as half). */
export function roundToStep(x: number, step: number, decimals: number = stepDecimals(step)): number {
  const r = x / step;
  const a = Math.abs(r);
  const fl = Math.floor(a);
  let k = Math.abs(a - fl - 0.5) <= slack(r) ? fl + 1 : Math.floor(a + 0.5);
  if (r < 0) k = -k;
  return Number((k * step).toFixed(decimals));
}

/** Largest multiple of `step` not above `x` (with the slack in units of step). */
export function floorStep(x: number, step: number, decimals: number = stepDecimals(step)): number {
  const r = x / step;
  return Number((Math.floor(r + slack(r)) * step).toFixed(decimals));
}

/** Funding rule: `needed` fits in `free` with a relative tolerance of 1e-9. */
function fits(needed: number, free: number): boolean {
  return needed <= free * (1 + 1e-9) + 1e-12;
}

/** Min notional rule: `notional >= minNotional`, with a relative tolerance of 1e-9. */
function reachesMinNotional(notional: number, minNotional: number): boolean {
  return notional >= minNotional * (1 - 1e-9);
}

function fail(message: string): never {
  throw new Error(`grid config: ${message}`);
}

function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

// ---------------------------------------------------------------------------------------
// Levels and sizing (exported so tests can check them on their own)

export function referenceLevels(config: ReferenceGridConfig): number[] {
  const { lower, upper, levels } = config;
  if (!isNum(lower) || !isNum(upper) || !(lower > 0) || !(lower < upper)) {
    fail(`lower and upper must satisfy 0 < lower < upper (got lower=${lower}, upper=${upper})`);
  }
  if (!Number.isInteger(levels) || levels < 2 || levels > 500) {
    fail(`levels must be an integer with 2 <= levels <= 500 (got ${levels})`);
  }
  const spacing = config.spacing ?? 'arithmetic';
  if (spacing !== 'arithmetic' && spacing !== 'geometric') {
    fail(`spacing must be "arithmetic" or "geometric" (got ${String(spacing)})`);
  }
  const priceStep = config.market?.priceStep ?? 0.01;
  if (!isNum(priceStep) || !(priceStep > 0)) fail(`market.priceStep must be > 0 (got ${priceStep})`);
  const dec = stepDecimals(priceStep);
  const out: number[] = new Array<number>(levels);
  const n1 = levels - 1;
  for (let i = 0; i < levels; i++) {
    const raw = spacing === 'arithmetic'
      ? lower + (i * (upper - lower)) / n1
      : lower * Math.pow(upper / lower, i / n1);
    out[i] = roundToStep(raw, priceStep, dec);
  }
  for (let i = 1; i < levels; i++) {
    if (!((out[i] as number) > (out[i - 1] as number))) {
      fail(
        `levels: rounded to market.priceStep ${priceStep}, grid lines ${i - 1} and ${i} are ` +
          `${out[i - 1]} and ${out[i]}; rounded levels must be strictly increasing ` +
          `(use fewer levels, a wider range or a finer priceStep)`,
      );
    }
  }
  if (!((out[0] as number) > 0)) fail(`lower ${lower} rounds to ${out[0]} at market.priceStep ${priceStep}; it must stay > 0`);
  return out;
}

/** Index of the level nearest to `p0`; a tie (within float noise) goes to the lower index. */
export function nearestLevel(levels: readonly number[], p0: number): number {
  const tol = 1e-9 * Math.abs(p0);
  let best = 0;
  let bestD = Math.abs((levels[0] as number) - p0);
  for (let i = 1; i < levels.length; i++) {
    const d = Math.abs((levels[i] as number) - p0);
    if (d < bestD - tol) {
      best = i;
      bestD = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------
// The backtest

const NONE = 0;
const BUY = 1;
const SELL = 2;

export function referenceBacktest(
  config: ReferenceGridConfig,
  candles: CandleSeries,
  hooks?: ReferenceHooks,
): ReferenceReport {
  // ---- config ---------------------------------------------------------------------------
  if (typeof config.symbol !== 'string' || config.symbol.length === 0) fail('symbol is required');
  const hasQ = config.quantityPerLevel !== undefined;
  const hasI = config.investment !== undefined;
  if (hasQ === hasI) fail('exactly one of quantityPerLevel and investment must be given');
  if (hasQ && (!isNum(config.quantityPerLevel) || !(config.quantityPerLevel > 0))) {
    fail(`quantityPerLevel must be > 0 (got ${config.quantityPerLevel})`);
  }
  if (hasI && (!isNum(config.investment) || !(config.investment > 0))) {
    fail(`investment must be > 0 (got ${config.investment})`);
  }
  const maker = config.fees?.maker ?? 0.001;
  const taker = config.fees?.taker ?? 0.001;
  if (!isNum(maker) || maker < 0 || maker >= 0.1) fail(`fees.maker must satisfy 0 <= fee < 0.1 (got ${maker})`);
  if (!isNum(taker) || taker < 0 || taker >= 0.1) fail(`fees.taker must satisfy 0 <= fee < 0.1 (got ${taker})`);
  const amountStep = config.market?.amountStep ?? 0.00001;
  const minNotional = config.market?.minNotional ?? 5;
  if (!isNum(amountStep) || !(amountStep > 0)) fail(`market.amountStep must be > 0 (got ${amountStep})`);
  if (!isNum(minNotional) || minNotional < 0) fail(`market.minNotional must be >= 0 (got ${minNotional})`);

  const L = referenceLevels(config);
  const n = L.length;

  const N = candles.length;
  if (!(N > 0)) throw new Error('backtest: the candle series is empty');
  const O = candles.open;
  const Hi = candles.high;
  const Lo = candles.low;
  const C = candles.close;
  const p0 = O[0] as number;
  if (!isNum(p0) || !(p0 > 0)) throw new Error(`backtest: start price (open of the first candle) must be > 0 (got ${p0})`);

  const e = nearestLevel(L, p0);
  const nSell = n - 1 - e;
  let sumBuy = 0;
  for (let i = 0; i < e; i++) sumBuy += L[i] as number;

  let q: number;
  if (hasQ) {
    q = floorStep(config.quantityPerLevel as number, amountStep);
    if (!(q > 0)) fail(`quantityPerLevel ${config.quantityPerLevel} floors to ${q} at market.amountStep ${amountStep}; it must be > 0`);
  } else {
    const inv = config.investment as number;
    q = floorStep(inv / ((sumBuy + nSell * p0) * (1 + Math.max(maker, taker))), amountStep);
    if (!(q > 0)) fail(`investment ${inv} is too small: the quantity per level floors to ${q} at market.amountStep ${amountStep}`);
  }
  const L0 = L[0] as number;
  if (!reachesMinNotional(q * L0, minNotional)) {
    fail(`quantityPerLevel * lowest level = ${q} * ${L0} = ${q * L0} is below market.minNotional ${minNotional}`);
  }
  const startBuy = roundToStep(nSell * q, amountStep);
  if (nSell > 0 && !reachesMinNotional(startBuy * p0, minNotional)) {
    fail(`the start's market buy of ${startBuy} at ${p0} is worth ${startBuy * p0}, below market.minNotional ${minNotional}`);
  }

  const sl = config.stopLoss;
  const tp = config.takeProfit;
  if (sl !== undefined && (!isNum(sl) || !(sl > 0) || !(sl < p0))) {
    fail(`stopLoss must satisfy 0 < stopLoss < start price ${p0} (got ${sl})`);
  }
  if (tp !== undefined && (!isNum(tp) || !(tp > p0))) {
    fail(`takeProfit must satisfy start price ${p0} < takeProfit (got ${tp})`);
  }
  const slPrice = sl === undefined ? -Infinity : sl;
  const tpPrice = tp === undefined ? Infinity : tp;

  const marketCost = startBuy * p0 * (1 + taker);
  let defaultQuote: number;
  if (hasQ) {
    let sumBuyCost = 0;
    for (let i = 0; i < e; i++) sumBuyCost += q * (L[i] as number) * (1 + maker);
    defaultQuote = marketCost + sumBuyCost;
  } else {
    defaultQuote = config.investment as number;
  }
  const startQuote = config.balance?.quote ?? defaultQuote;
  const startBase = config.balance?.base ?? 0;
  if (!isNum(startQuote) || startQuote < 0) fail(`balance.quote must be >= 0 (got ${startQuote})`);
  if (!isNum(startBase) || startBase < 0) fail(`balance.base must be >= 0 (got ${startBase})`);

  // ---- state ----------------------------------------------------------------------------
  let quote = startQuote;
  let base = startBase;
  let lockedQuote = 0;
  let lockedBase = 0;
  let fees = 0;
  let fillsBuy = 0;
  let fillsSell = 0;
  let roundTrips = 0;
  let gridProfit = 0;
  let skipped = 0;
  let openBuy = 0;
  let openSell = 0;
  let stopped: ReferenceStop | null = null;
  let candle = -1;

  const side = new Uint8Array(n); // NONE / BUY / SELL per level
  const counter = new Uint8Array(n); // 1: the sell at this level is the counter of a buy
  const price = Float64Array.from(L);
  const buyLock = new Float64Array(n); // quote locked by a buy at level i
  for (let i = 0; i < n; i++) buyLock[i] = q * (price[i] as number) * (1 + maker);
  let hb = -1; // highest resting buy, -1 if none
  let ls = n; // lowest resting sell, n if none
  let hbPrice = -Infinity;
  let lsPrice = Infinity;

  const onTrade = hooks?.onTrade;
  const onSkip = hooks?.onSkip;

  // ---- the start's market buy -------------------------------------------------------------
  if (nSell > 0) {
    if (!fits(marketCost, quote)) {
      fail(
        `balance.quote ${quote} cannot pay the start's market buy of ${startBuy} at ${p0} ` +
          `(${marketCost} with the taker fee)`,
      );
    }
    const fee = startBuy * p0 * taker;
    quote -= marketCost;
    base += startBuy;
    fees += fee;
    if (onTrade) {
      onTrade({ kind: 'start', side: 'buy', candle: -1, level: -1, price: p0, quantity: startBuy, fee, roundTrip: false });
    }
  }

  function placeBuy(i: number): boolean {
    if (side[i] !== NONE) throw new Error(`reference: level ${i} already holds an order`);
    const need = buyLock[i] as number;
    if (!fits(need, quote - lockedQuote)) {
      skipped++;
      if (onSkip) onSkip({ side: 'buy', candle, level: i, price: price[i] as number, quantity: q });
      return false;
    }
    side[i] = BUY;
    lockedQuote += need;
    openBuy++;
    return true;
  }

  function placeSell(i: number, isCounter: boolean): boolean {
    if (side[i] !== NONE) throw new Error(`reference: level ${i} already holds an order`);
    if (!fits(q, base - lockedBase)) {
      skipped++;
      if (onSkip) onSkip({ side: 'sell', candle, level: i, price: price[i] as number, quantity: q });
      return false;
    }
    side[i] = SELL;
    counter[i] = isCounter ? 1 : 0;
    lockedBase += q;
    openSell++;
    return true;
  }

  // ---- initial placement: sells from the nearest level up, then buys from it down ---------
  for (let i = e + 1; i < n; i++) {
    if (placeSell(i, false) && i < ls) {
      ls = i;
      lsPrice = price[i] as number;
    }
  }
  for (let i = e - 1; i >= 0; i--) {
    if (placeBuy(i) && i > hb) {
      hb = i;
      hbPrice = price[i] as number;
    }
  }

  function fillBuy(i: number): void {
    const p = price[i] as number;
    const lock = buyLock[i] as number;
    const fee = q * p * maker;
    side[i] = NONE;
    openBuy--;
    lockedQuote -= lock;
    quote -= lock;
    base += q;
    fees += fee;
    fillsBuy++;
    if (onTrade) onTrade({ kind: 'limit', side: 'buy', candle, level: i, price: p, quantity: q, fee, roundTrip: false });
    // next highest buy
    let j = i - 1;
    while (j >= 0 && side[j] !== BUY) j--;
    hb = j;
    hbPrice = j >= 0 ? (price[j] as number) : -Infinity;
    // counter sell one level up (it is always below the lowest resting sell)
    if (placeSell(i + 1, true)) {
      ls = i + 1;
      lsPrice = price[i + 1] as number;
    }
  }

  function fillSell(i: number): void {
    const p = price[i] as number;
    const fee = q * p * maker;
    const rt = counter[i] === 1;
    side[i] = NONE;
    counter[i] = 0;
    openSell--;
    lockedBase -= q;
    base -= q;
    quote += q * p * (1 - maker);
    fees += fee;
    fillsSell++;
    if (rt) {
      roundTrips++;
      gridProfit += q * (p - (price[i - 1] as number));
    }
    if (onTrade) onTrade({ kind: 'limit', side: 'sell', candle, level: i, price: p, quantity: q, fee, roundTrip: rt });
    // next lowest sell
    let j = i + 1;
    while (j < n && side[j] !== SELL) j++;
    ls = j;
    lsPrice = j < n ? (price[j] as number) : Infinity;
    // counter buy one level down (it is always above the highest resting buy)
    if (placeBuy(i - 1)) {
      hb = i - 1;
      hbPrice = price[i - 1] as number;
    }
  }

  function fireStop(at: number, why: ReferenceStop): void {
    side.fill(NONE);
    counter.fill(0);
    openBuy = 0;
    openSell = 0;
    lockedQuote = 0;
    lockedBase = 0;
    hb = -1;
    ls = n;
    hbPrice = -Infinity;
    lsPrice = Infinity;
    const amount = floorStep(base, amountStep);
    if (amount > 0 && reachesMinNotional(amount * at, minNotional)) {
      const fee = amount * at * taker;
      quote += amount * at * (1 - taker);
      base -= amount;
      if (Math.abs(base) <= amount * 1e-9) base = 0; // float residue of selling it all
      fees += fee;
      if (onTrade) onTrade({ kind: 'stop', side: 'sell', candle, level: -1, price: at, quantity: amount, fee, roundTrip: false });
    }
    stopped = why;
  }

  /** Move the price from a to b. */
  function walk(a: number, b: number): void {
    if (b < a) {
      if (b > hbPrice && b > slPrice) return;
      const hitStop = b <= slPrice;
      const floor = hitStop ? slPrice : b;
      while (hb >= 0 && hbPrice >= floor) fillBuy(hb);
      if (hitStop) fireStop(slPrice, 'stopLoss');
    } else if (b > a) {
      if (b < lsPrice && b < tpPrice) return;
      const hitStop = b >= tpPrice;
      const ceil = hitStop ? tpPrice : b;
      while (ls < n && lsPrice <= ceil) fillSell(ls);
      if (hitStop) fireStop(tpPrice, 'takeProfit');
    }
  }

  // ---- the walk ----------------------------------------------------------------------------
  let peak = quote + base * p0;
  let maxDrawdown = 0;
  let prev = p0;
  for (let c = 0; c < N; c++) {
    const o = O[c] as number;
    const h = Hi[c] as number;
    const l = Lo[c] as number;
    const cl = C[c] as number;
    if (stopped === null) {
      candle = c;
      walk(prev, o); // for the first candle prev = o = P0: nothing
      if (cl >= o) {
        if (stopped === null) walk(o, l);
        if (stopped === null) walk(l, h);
        if (stopped === null) walk(h, cl);
      } else {
        if (stopped === null) walk(o, h);
        if (stopped === null) walk(h, l);
        if (stopped === null) walk(l, cl);
      }
    }
    prev = cl;
    const eq = quote + base * cl;
    if (eq > peak) peak = eq;
    else if (peak > 0) {
      const dd = (peak - eq) / peak;
      if (dd > maxDrawdown) maxDrawdown = dd;
    }
  }

  const last = C[N - 1] as number;
  return {
    candles: N,
    startPrice: p0,
    lastPrice: last,
    quantityPerLevel: q,
    levels: L,
    fills: { buy: fillsBuy, sell: fillsSell },
    roundTrips,
    gridProfit,
    fees,
    skippedOrders: skipped,
    initial: { base: startBase, quote: startQuote, equity: startQuote + startBase * p0 },
    final: { base, quote, equity: quote + base * last },
    openOrders: { buy: openBuy, sell: openSell },
    stopped,
    maxDrawdown,
  };
}
