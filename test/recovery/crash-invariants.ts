// What must hold at rest after any crashes: the bot never loses an order, never places one twice,
// books every fill once, keeps exactly the levels the grid's rule implies, and its store agrees
// with the exchange. Each broken invariant is one line saying what broke.
import type { ExchangeOrder } from '../../src/adapters/exchange/port.js';
import type { Fill } from '../../src/domain/trading.js';
import { fillKey } from '../support/fill-key.js';
import { GRID_ID, type SimRun } from './crash-sim.js';

const prefix = `bb${GRID_ID}_`;
const ofGrid = (clientOrderId: string): boolean => clientOrderId.startsWith(prefix);
const ended = new Set(['canceled', 'rejected', 'expired']);

const openOnExchange = (run: SimRun): ExchangeOrder[] => run.exchange.allOrders().filter((order) => order.status === 'open' && ofGrid(order.clientOrderId));
const exchangeFills = (run: SimRun): readonly Fill[] => run.exchange.fillLog.filter((fill) => ofGrid(fill.clientOrderId));
const sorted = (values: Iterable<string>): string[] => [...values].sort();
const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((value, i) => value === b[i]);
/** Figures summed in another order differ in the last bits. */
const rounded = (value: number): number => Number(value.toPrecision(10));

/** Every invariant `run` breaks; with `uninterrupted` (the same scenario without crashes, no walk while down) also every difference from it. */
export function brokenInvariants(run: SimRun, uninterrupted?: SimRun): string[] {
  if (run.unrested !== undefined || run.grid === undefined) return [`not at rest: ${run.unrested ?? 'the grid never traded'}`];
  return [...noOrderLostOrDoubled(run), ...everyFillBookedOnce(run), ...levelsOfTheRule(run), ...storeEqualsExchange(run), ...(uninterrupted ? sameAs(run, uninterrupted) : [])];
}

function noOrderLostOrDoubled(run: SimRun): string[] {
  const broken: string[] = [];
  const twice = run.sent.filter((id, i) => run.sent.indexOf(id) !== i);
  if (twice.length > 0) broken.push(`sent twice as a new order: ${twice.join(', ')}`);
  for (const doubled of run.doubledLevels) broken.push(`two orders at one level: ${doubled}`);
  for (const line of run.logs) {
    if (String(line['msg']).startsWith('open orders with this grid')) broken.push(`the recovery found orders its books do not know: ${String(line['orders'])}`);
  }
  const slots = new Set(run.grid!.context.slots.flatMap((slot) => (slot ? [slot.clientOrderId] : [])));
  const unknown = openOnExchange(run).filter((order) => !slots.has(order.clientOrderId) || !run.liveOrders.has(order.clientOrderId));
  if (unknown.length > 0) broken.push(`open on the exchange, but not a slot with a live order of the grid: ${unknown.map((order) => order.clientOrderId).join(', ')}`);
  return broken;
}

function everyFillBookedOnce(run: SimRun): string[] {
  const broken: string[] = [];
  const onExchange = exchangeFills(run);
  const stored = [...run.store.fills.values()];
  const storedKeys = sorted(stored.map((fill) => `${fill.tradeId} ${fillKey(fill)}`));
  const exchangeKeys = sorted(onExchange.map((fill) => `${fill.tradeId} ${fillKey(fill)}`));
  if (!same(storedKeys, exchangeKeys)) broken.push(`stored fills [${storedKeys.join('; ')}] are not the exchange's [${exchangeKeys.join('; ')}]`);
  // Each live order has taken every fill the exchange made of it.
  for (const [clientOrderId, order] of run.liveOrders) {
    const filled = onExchange.filter((fill) => fill.clientOrderId === clientOrderId).reduce((sum, fill) => sum + fill.amount, 0);
    if (rounded(order.filled) !== rounded(filled)) broken.push(`order ${clientOrderId} (${order.state}) booked ${order.filled} filled, the exchange filled ${filled}`);
  }
  const { stats } = run.grid!.context;
  const filledLimits = (side: 'buy' | 'sell'): number =>
    run.exchange.allOrders().filter((order) => ofGrid(order.clientOrderId) && order.type === 'limit' && order.side === side && order.status === 'closed').length;
  if (stats.buyFills !== filledLimits('buy') || stats.sellFills !== filledLimits('sell')) {
    broken.push(`the grid counts ${stats.buyFills} buy and ${stats.sellFills} sell fills, the exchange filled ${filledLimits('buy')} buy and ${filledLimits('sell')} sell orders`);
  }
  return broken;
}

/** At rest, inside the range, nothing skipped: one order at every level but one. */
function levelsOfTheRule(run: SimRun): string[] {
  const { value, context } = run.grid!;
  const levels = context.plan!.levels;
  const price = run.exchange.lastPrice;
  if (JSON.stringify(value) !== JSON.stringify({ active: 'running' })) return [`the grid is ${JSON.stringify(value)} at rest, not trading`];
  if (context.stats.skippedOrders > 0 || price <= levels[0]! || price >= levels.at(-1)!) return [];
  const open = openOnExchange(run);
  const taken = new Set(open.map((order) => order.price));
  const broken: string[] = [];
  if (taken.size !== levels.length - 1 || open.length !== levels.length - 1) {
    broken.push(`${open.length} open orders on ${taken.size} of ${levels.length} levels at ${price}, not one on every level but one: ${open.map((order) => `${order.clientOrderId}@${order.price}`).join(', ')}`);
  }
  const wrongSide = open.filter((order) => (order.side === 'buy') !== order.price! < price);
  if (wrongSide.length > 0) broken.push(`on the wrong side of ${price}: ${wrongSide.map((order) => `${order.clientOrderId}@${order.price}`).join(', ')}`);
  return broken;
}

function storeEqualsExchange(run: SimRun): string[] {
  const filled = new Map<string, number>();
  for (const fill of run.store.fills.values()) filled.set(fill.clientOrderId, (filled.get(fill.clientOrderId) ?? 0) + fill.amount);
  const storedOpen = sorted(
    [...run.store.intents.values()]
      .filter(({ intent }) => !ended.has(run.store.orderUpdates.get(intent.clientOrderId)?.status ?? '') && rounded(filled.get(intent.clientOrderId) ?? 0) < rounded(intent.amount))
      .map(({ intent }) => intent.clientOrderId),
  );
  const exchangeOpen = sorted(openOnExchange(run).map((order) => order.clientOrderId));
  return same(storedOpen, exchangeOpen) ? [] : [`the store's open orders [${storedOpen.join(', ')}] are not the exchange's [${exchangeOpen.join(', ')}]`];
}

/** Crashes without a walk while down change nothing: the same orders, fills and grid as without them. */
function sameAs(run: SimRun, uninterrupted: SimRun): string[] {
  const broken: string[] = [];
  const orders = (of: SimRun): string[] => sorted(of.exchange.allOrders().map((order) => `${order.clientOrderId} ${order.side} ${order.price} ${order.status} ${order.filled}`));
  if (!same(orders(run), orders(uninterrupted))) broken.push(`the exchange's orders [${orders(run).join('; ')}] are not the uninterrupted run's [${orders(uninterrupted).join('; ')}]`);
  const fills = (of: SimRun): string[] => exchangeFills(of).map(fillKey);
  if (!same(fills(run), fills(uninterrupted))) broken.push(`the exchange's fills [${fills(run).join('; ')}] are not the uninterrupted run's [${fills(uninterrupted).join('; ')}]`);
  const grid = (of: SimRun): string => {
    const { context } = of.grid!;
    const stats = Object.fromEntries(Object.entries(context.stats).map(([key, value]) => [key, rounded(value)]));
    return JSON.stringify({ slots: context.slots, cycles: context.cycles, deferred: context.deferred, position: rounded(context.position), stats });
  };
  if (grid(run) !== grid(uninterrupted)) broken.push(`the grid ${grid(run)} is not the uninterrupted run's ${grid(uninterrupted)}`);
  return broken;
}
