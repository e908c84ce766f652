// Pure grid math of docs/grid-rules.md: levels, the start plan, sizing, the counter-order rule
// and the stop's sell. No I/O; every function is deterministic in its inputs.
//
// Every price and amount the grid sends is snapped here, once, to an exact multiple of the
// market's step (levels, q, the start buy, the stop's sell), so what is stored, sent, filled and
// compared is one number: ccxt truncates an amount that is a hair below a multiple by a whole step.
import { ConfigError } from '../config/config-error.js';
import type { GridConfig } from '../config/grid-config.js';
import type { MarketFilters, Side } from '../domain/trading.js';
import { fits, floorToStep, reachesMinNotional, roundToStep, stepDecimals } from '../domain/steps.js';

/** A number for a message: 12 significant digits, without float noise (300.29999999999995 -> 300.3). */
function readable(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** The grid lines L_0 < ... < L_{levels-1}, each rounded to the price step. */
export function gridLevels(config: Pick<GridConfig, 'lower' | 'upper' | 'levels' | 'spacing' | 'market'>): number[] {
  const { lower, upper, levels, spacing } = config;
  const step = config.market.priceStep;
  const decimals = stepDecimals(step);
  const last = levels - 1;
  const result: number[] = [];
  for (let i = 0; i < levels; i++) {
    const raw = spacing === 'geometric' ? lower * (upper / lower) ** (i / last) : lower + (i * (upper - lower)) / last;
    const level = roundToStep(raw, step, decimals);
    const previous = result[i - 1];
    if (previous !== undefined && level <= previous) {
      throw new ConfigError(
        `levels: after rounding to market.priceStep ${step}, level ${i} (${level}) is not above level ${i - 1} (${previous}); use fewer levels, a wider range or a finer priceStep`,
      );
    }
    if (!(level > 0)) throw new ConfigError(`levels: level ${i} rounds to ${level}; lower must be at least one priceStep (${step})`);
    result.push(level);
  }
  return result;
}

/** Index of the level nearest to `price`; a tie (within float noise, 1e-9 of the price) goes to the lower index. */
export function nearestLevel(levels: readonly number[], price: number): number {
  const noise = 1e-9 * Math.abs(price);
  let best = 0;
  for (let i = 1; i < levels.length; i++) {
    if (Math.abs(levels[i]! - price) < Math.abs(levels[best]! - price) - noise) best = i;
  }
  return best;
}

/** The counter-order rule: a filled buy at L_i is answered by a sell at L_{i+1}, a sell at L_i by a buy at L_{i-1}. */
export function counterOrderOf(side: Side, level: number): { side: Side; level: number } {
  return side === 'buy' ? { side: 'sell', level: level + 1 } : { side: 'buy', level: level - 1 };
}

/** Gross profit of a round trip closed by the sell at `sellLevel`: q * (L_{i+1} - L_i). */
export function roundTripProfit(levels: readonly number[], sellLevel: number, quantity: number): number {
  return quantity * (levels[sellLevel]! - levels[sellLevel - 1]!);
}

export type PriceTrigger = 'stopLoss' | 'takeProfit';

/** The stop-loss or take-profit that `price` has reached (at or beyond it), if any. */
export function reachedTrigger(config: Pick<GridConfig, 'stopLoss' | 'takeProfit'>, price: number): PriceTrigger | undefined {
  if (config.stopLoss !== undefined && price <= config.stopLoss) return 'stopLoss';
  if (config.takeProfit !== undefined && price >= config.takeProfit) return 'takeProfit';
  return undefined;
}

export interface StartPlan {
  readonly levels: readonly number[];
  readonly startPrice: number;
  /** The level left empty at start (nearest to the start price). */
  readonly emptyLevel: number;
  readonly quantity: number;
  /** Sell levels nearest first (e+1, e+2, ...): the order they are placed in. */
  readonly sellLevels: readonly number[];
  /** Buy levels nearest first (e-1, e-2, ..., 0). */
  readonly buyLevels: readonly number[];
  /** Base bought with one market order at the start (nSell * q, a multiple of the amount step); 0 when there is no sell level. */
  readonly marketBuyQuantity: number;
  /** The starting wallet: the configured balance, each missing part defaulted as docs/grid-rules.md says. */
  readonly balance: { readonly quote: number; readonly base: number };
  /** Non-fatal findings, e.g. a grid step too small to pay its fees. */
  readonly warnings: readonly string[];
}

/**
 * Everything the start needs, checked before any order is placed. Throws ConfigError naming the
 * key and the rule for every start-time violation (triggers around the start price, min notional
 * of the orders at L_0 and of the start's market buy, a wallet that cannot pay that buy).
 */
export function planStart(config: GridConfig, startPrice: number): StartPlan {
  if (!(startPrice > 0)) throw new ConfigError(`start price must be > 0, got ${startPrice}`);
  const levels = gridLevels(config);
  const { maker, taker } = config.fees;
  const { amountStep, minNotional } = config.market;
  const emptyLevel = nearestLevel(levels, startPrice);
  const buyLevels: number[] = [];
  for (let i = emptyLevel - 1; i >= 0; i--) buyLevels.push(i);
  const sellLevels: number[] = [];
  for (let i = emptyLevel + 1; i < levels.length; i++) sellLevels.push(i);
  const buyLevelSum = buyLevels.reduce((sum, i) => sum + levels[i]!, 0);
  const nSell = sellLevels.length;

  const warnings: string[] = [];
  let quantity: number;
  if (config.quantityPerLevel !== undefined) {
    quantity = floorToStep(config.quantityPerLevel, amountStep);
    if (quantity !== config.quantityPerLevel) {
      warnings.push(`quantityPerLevel ${config.quantityPerLevel} is not a multiple of market.amountStep ${amountStep}; using ${quantity}`);
    }
  } else {
    const investment = config.investment!;
    quantity = floorToStep(investment / ((buyLevelSum + nSell * startPrice) * (1 + Math.max(maker, taker))), amountStep);
  }
  const sizeKey = config.quantityPerLevel !== undefined ? 'quantityPerLevel' : 'investment';
  if (!(quantity > 0)) {
    throw new ConfigError(`${sizeKey}: the quantity per level rounds down to 0 at market.amountStep ${amountStep}; raise it or use fewer levels`);
  }
  if (!reachesMinNotional(quantity, levels[0]!, minNotional)) {
    throw new ConfigError(
      `${sizeKey}: an order of ${quantity} at the lowest level ${levels[0]} is worth ${readable(quantity * levels[0]!)}, below market.minNotional ${minNotional}; raise it or use fewer levels`,
    );
  }
  // nSell * q is a multiple of the step; the product in doubles may miss it by an ulp (13 * 0.00224).
  const marketBuyQuantity = roundToStep(nSell * quantity, amountStep);
  // Only a start price far below the range (under L_0 / nSell) makes this buy smaller than one order at L_0.
  if (nSell > 0 && !reachesMinNotional(marketBuyQuantity, startPrice, minNotional)) {
    throw new ConfigError(
      `${sizeKey}: the start's market buy of ${marketBuyQuantity} at ${startPrice} is worth ${readable(marketBuyQuantity * startPrice)}, below market.minNotional ${minNotional} (an exchange refuses it); raise the size or start nearer the range`,
    );
  }
  if (config.stopLoss !== undefined && !(config.stopLoss < startPrice)) {
    throw new ConfigError(`stopLoss (${config.stopLoss}) must be below the start price (${startPrice}), else it fires at once`);
  }
  if (config.takeProfit !== undefined && !(config.takeProfit > startPrice)) {
    throw new ConfigError(`takeProfit (${config.takeProfit}) must be above the start price (${startPrice}), else it fires at once`);
  }

  const marketBuyCost = marketBuyQuantity * startPrice * (1 + taker);
  const defaultQuote =
    config.investment !== undefined ? config.investment : marketBuyCost + buyLevels.reduce((sum, i) => sum + quantity * levels[i]! * (1 + maker), 0);
  const balance = { quote: config.balance?.quote ?? defaultQuote, base: config.balance?.base ?? 0 };
  if (!fits(marketBuyCost, balance.quote)) {
    throw new ConfigError(
      `balance.quote: the start buys ${readable(marketBuyQuantity)} base for the ${nSell} sell levels at ${startPrice}, costing ${readable(marketBuyCost)} quote with the taker fee, but the wallet holds ${readable(balance.quote)}; raise balance.quote or lower the size`,
    );
  }

  const smallestStep = Math.min(...levels.slice(1).map((level, i) => (level - levels[i]!) / levels[i]!));
  if (smallestStep < 2 * maker) {
    warnings.push(
      `grid step of ${(smallestStep * 100).toFixed(4)}% is smaller than two maker fees (${(2 * maker * 100).toFixed(4)}%): every round trip loses money; use fewer levels or a wider range`,
    );
  }
  return { levels, startPrice, emptyLevel, quantity, sellLevels, buyLevels, marketBuyQuantity, balance, warnings };
}

/**
 * The base a stop sells: the position floored to the amount step (what is left below one step is
 * dust that no exchange takes; it stays in the wallet), and nothing when that is worth less than
 * minNotional at `price`, the stop's price where it is known (a stop-loss or take-profit; a stop by
 * command sells and lets the exchange judge).
 */
export function stopSellQuantity(market: MarketFilters, position: number, price: number | undefined): number {
  const sellable = floorToStep(position, market.amountStep);
  if (!(sellable > 0)) return 0;
  return price === undefined || reachesMinNotional(sellable, price, market.minNotional) ? sellable : 0;
}
