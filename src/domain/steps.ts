// Rounding to exchange steps (price tick, amount step) in plain doubles.
//
// Prices and amounts are doubles throughout (fast, and what ccxt hands us). The discrete
// decisions — which multiple of a step a value rounds to — are made with a tolerance so that
// 100.005 / 0.01 = 10000.499999999998 still counts as a half, and every result is normalised to
// the step's decimals, so a level of 30000.01 equals the parsed CSV "30000.01".

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
