// A grid's figures from its own books (the grid statechart's context): what /health and /metrics
// show of it. Pure: the context and the last price in, numbers out.
import type { GridFigures } from '../domain/figures.js';
import type { GridContext } from './grid.machine.js';

/** Orders the grid has out: its limit orders in their levels' slots (acknowledged or not yet). A market order is not counted. */
export function pendingOrders(context: Pick<GridContext, 'slots'>): number {
  return context.slots.reduce((count, slot) => count + (slot === null ? 0 : 1), 0);
}

/**
 * Lots bought whose counter-sell has not filled: every sell the grid has out (resting, or sent and
 * not yet acknowledged) and every sell waiting to be placed (deferred: its level still taken, the
 * grid paused or in ERROR). A buy's fill makes a lot whose counter-sell is one of these; the start
 * buy's lots are the grid's first sells. Between the start buy's fill and the placing of those
 * sells (only when the grid went to ERROR meanwhile) the start buy's lots count while the position
 * holds them. Orders cancelled by a stop leave their lots uncounted (the grid no longer sells them).
 * A sell the exchange refused (funds) leaves its lot uncounted: the grid no longer tracks it.
 */
export function openPositions(context: Pick<GridContext, 'plan' | 'slots' | 'deferred' | 'gridPlaced' | 'pendingMarketOrder' | 'position'>): number {
  const { plan } = context;
  if (plan === undefined) return 0;
  let lots = 0;
  for (const slot of context.slots) if (slot?.side === 'sell') lots++;
  for (const order of context.deferred) if (order.side === 'sell') lots++;
  // The start buy filled but its sells were never placed: its lots, as far as the position still holds them (a stop may have sold them).
  if (!context.gridPlaced && context.pendingMarketOrder === undefined && plan.marketBuyQuantity > 0) {
    lots += Math.min(plan.sellLevels.length, Math.floor(context.position / plan.quantity + 1e-9));
  }
  return lots;
}

/**
 * Equity by the grid's books, in quote: quote + base position x `price`. NaN before the grid has a
 * plan (never started), for a price not known, or for a snapshot saved before the books kept quote.
 */
export function gridEquity(context: Pick<GridContext, 'plan' | 'quote' | 'position'>, price: number): number {
  if (context.plan === undefined || typeof context.quote !== 'number' || !Number.isFinite(price)) return Number.NaN;
  return context.quote + context.position * price;
}

/** Equity at the grid's start: its starting wallet, the base valued at the start price. NaN before a plan. */
export function startEquity(context: Pick<GridContext, 'plan'>): number {
  const plan = context.plan;
  if (plan === undefined) return Number.NaN;
  return plan.balance.quote + plan.balance.base * plan.startPrice;
}

/** The grid's figures from its context, `state` its lifecycle state, `lastPrice` the last price seen (NaN: none yet). */
export function gridFigures(id: string, state: string, context: GridContext, lastPrice: number): GridFigures {
  const equity = gridEquity(context, lastPrice);
  return {
    id,
    symbol: context.config.symbol,
    state,
    pendingOrders: pendingOrders(context),
    openPositions: openPositions(context),
    gridProfit: context.stats.gridProfit,
    fees: context.stats.fees,
    equity,
    pnl: equity - startEquity(context),
    fills: { buy: context.stats.buyFills, sell: context.stats.sellFills },
    roundTrips: context.stats.roundTrips,
    lastPrice,
    levels: context.plan?.levels ?? [],
  };
}

/** A grid whose figures are not known (RECOVERING: they could be stale): every figure NaN. */
export function unknownFigures(id: string, symbol: string, state: string): GridFigures {
  const unknown = Number.NaN;
  return {
    id,
    symbol,
    state,
    pendingOrders: unknown,
    openPositions: unknown,
    gridProfit: unknown,
    fees: unknown,
    equity: unknown,
    pnl: unknown,
    levels: [],
    fills: { buy: unknown, sell: unknown },
    roundTrips: unknown,
    lastPrice: unknown,
  };
}
