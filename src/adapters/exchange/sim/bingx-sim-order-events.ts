// The paper exchange's own-order events as the contents of BingX executionReport frames.
//
// PaperExchange publishes, in order: {order} alone when it accepts a resting order or cancels
// one, and {fill} then {order} (a copy of the order just after that fill) for every fill. Events
// arrive in microtasks, after the call that made them, when the order may have moved on (both
// parts of a split fill settle in one walk), so a fill is reported with the order copy that
// follows it, which is the order as that fill left it. An order that fills on arrival (market,
// or a limit crossing the price) never rests: it has TRADE frames only.
import type { Fill } from '../../../domain/trading.js';
import type { ExchangeEvent, ExchangeOrder } from '../port.js';
import type { ExecutionReport } from './bingx-ws-wire.js';

export class ExecutionReports {
  private pendingFill: Fill | undefined;
  /** Quote value filled so far of the open orders that have fills (closed orders are dropped). */
  private readonly quoteFilled = new Map<string, number>();

  /** `orders` and `fills`: the exchange's state at start, for orders partly filled before it. */
  constructor(orders: readonly ExchangeOrder[], fills: readonly Fill[]) {
    const partlyFilled = new Set(orders.filter((order) => order.status === 'open' && order.filled > 0).map((order) => order.id));
    for (const fill of fills) {
      if (partlyFilled.has(fill.orderId)) this.quoteFilled.set(fill.orderId, (this.quoteFilled.get(fill.orderId) ?? 0) + fill.price * fill.amount);
    }
  }

  /** The report an event makes, if any (a fill's report waits for the order copy after it). */
  report(event: ExchangeEvent): ExecutionReport | undefined {
    if (event.type === 'fill') {
      this.pendingFill = event.fill;
      return undefined;
    }
    const { order } = event;
    const fill = this.pendingFill;
    this.pendingFill = undefined;
    const before = this.quoteFilled.get(order.id) ?? 0;
    if (fill !== undefined && fill.orderId === order.id) {
      const cumulativeQuote = before + fill.price * fill.amount;
      if (order.status === 'open') this.quoteFilled.set(order.id, cumulativeQuote);
      else this.quoteFilled.delete(order.id);
      return { execution: { type: 'TRADE', fill }, order, cumulativeQuote };
    }
    if (order.status === 'canceled') {
      this.quoteFilled.delete(order.id);
      return { execution: { type: 'CANCELED' }, order, cumulativeQuote: before };
    }
    return order.status === 'open' && order.filled === 0 ? { execution: { type: 'NEW' }, order, cumulativeQuote: 0 } : undefined;
  }
}
