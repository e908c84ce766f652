// Rounding to exchange steps (price tick, amount step) in plain doubles.
//
// Prices and amounts are doubles throughout (fast, and what ccxt hands us). The discrete
// decisions — which multiple of a step a value rounds to — are made with a tolerance so that
// 100.005 / 0.01 = 10000.499999999998 still counts as a half, and every result is normalised to
// the step's decimals, so a level of 30000.01 equals the parsed CSV "30000.01".
// truncateToStep is the exception: it reproduces ccxt's amountToPrecision (exact decimal
// arithmetic, no tolerance), so the paper exchange quantises as live trading does.

/**
 * Slack when comparing x/step with a boundary: 1e-9 steps, or a few ulps of the ratio once it is
 * large (at 111849.805 / 0.01 the division alone is off by more than 1e-9).
 */
function tolerance(ratio: number): number {
  return Math.max(1e-9, Math.abs(ratio) * 4 * Number.EPSILON);
}

/** Digits after the decimal point of `step` written as a plain decimal (0.01 -> 2, 5 -> 0, 1e-8 -> 8). */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) throw new RangeError(`step must be a positive number, got ${step}`);
  for (let d = 0; d <= 20; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 20;
}

function normalise(units: number, step: number, decimals: number): number {
  return Number((units * step).toFixed(decimals));
}

/** Nearest multiple of `step`, halves away from zero. */
export function roundToStep(x: number, step: number, decimals = stepDecimals(step)): number {
  const ratio = Math.abs(x) / step;
  const whole = Math.floor(ratio);
  const frac = ratio - whole;
  const units = frac >= 0.5 - tolerance(ratio) ? whole + 1 : whole;
  return Math.sign(x) * normalise(units, step, decimals);
}

/** Largest multiple of `step` not above `x` (tolerating representation error just below a multiple). */
export function floorToStep(x: number, step: number, decimals = stepDecimals(step)): number {
  const ratio = x / step;
  return normalise(Math.floor(ratio + tolerance(ratio)), step, decimals);
}

/** True when `needed` fits in `available`, allowing for floating-point noise. */
export function fits(needed: number, available: number): boolean {
  return needed <= available * (1 + 1e-9) + 1e-12;
}

/** `x` as its shortest decimal (what `String(x)` and ccxt's numberToString write): `units * 10^-scale`. */
function shortestDecimal(x: number): { units: bigint; scale: number } {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (match === null) throw new RangeError(`not a finite number: ${x}`);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const scale = fraction.length - Number(exponent);
  const units = BigInt(`${sign}${whole}${fraction}`);
  return scale >= 0 ? { units, scale } : { units: units * 10n ** BigInt(-scale), scale: 0 };
}

/**
 * `x` truncated towards zero to a multiple of `step`, in exact decimal arithmetic on the shortest
 * decimal of each double: what ccxt's amountToPrecision sends (TRUNCATE, TICK_SIZE). There is no
 * tolerance but the double's own: 0.02912 is a multiple of 0.00001, 13 * 0.00224 =
 * 0.029119999999999997 is not and becomes 0.02911. Amounts the grid sends are snapped first, so
 * this changes nothing of theirs.
 */
export function truncateToStep(x: number, step: number): number {
  const value = shortestDecimal(x);
  const tick = shortestDecimal(step);
  if (!(tick.units > 0n)) throw new RangeError(`step must be a positive number, got ${step}`);
  const scale = Math.max(value.scale, tick.scale);
  const scaled = value.units * 10n ** BigInt(scale - value.scale);
  const tickUnits = tick.units * 10n ** BigInt(scale - tick.scale);
  return Number(`${(scaled / tickUnits) * tickUnits}e-${scale}`);
}

/**
 * The min notional rule: `amount * price` is worth at least `minNotional`, to float noise (1e-9
 * relative), so the product of two exact decimals that is exactly the minimum passes.
 */
export function reachesMinNotional(amount: number, price: number, minNotional: number): boolean {
  return amount * price >= minNotional * (1 - 1e-9);
}
