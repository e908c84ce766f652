// BingX spot WebSocket wire format for the exchange simulator: the frames of
// wss://open-api-ws.bingx.com/market that ccxt's pro bingx class reads, shaped like the recorded
// spot frames (ccxt's ws fixtures, bingx.json "spot ticker") and the spot executionReport of
// BingX's docs and of the frames quoted in ccxt's pro/bingx.js.
//
// Every frame the server sends is gzip-compressed JSON in a binary message, as on BingX (ccxt's
// bingx sets options.ws.gunzip). Unlike the REST answers, numbers are JSON numbers here, as in
// the recorded frames; only the order id is a string (19 digits do not fit a double).
import { gzipSync } from 'node:zlib';
import type { Fill } from '../../../domain/trading.js';
import type { ExchangeOrder, MarketInfo } from '../port.js';
import { decimal, marketId, wireOrderId, wireTradeId } from './bingx-wire.js';

/** The one private channel: own orders and fills. */
export const EXECUTION_REPORT = 'spot.executionReport';

/** The ticker channel of a market (BTC-USDT@ticker). */
export function tickerDataType(market: MarketInfo): string {
  return `${marketId(market)}@ticker`;
}

/** A frame as sent on the wire: gzip-compressed JSON. */
export function gzipFrame(frame: unknown): Buffer {
  return gzipSync(JSON.stringify(frame));
}

/** A number as a JSON number, float noise beyond 1e-12 dropped (decimal() of the REST answers). */
function num(value: number): number {
  return Number(decimal(value));
}

/** The server's heartbeat: `{"ping": id, "time": "2025-01-01T00:00:00.000+0000"}` (BingX writes its local offset). */
export function pingFrame(id: string, now: number): Record<string, unknown> {
  return { ping: id, time: new Date(now).toISOString().replace('Z', '+0000') };
}

/** The answer to a (un)subscription. */
export function subscriptionAck(id: unknown, now: number): Record<string, unknown> {
  return { code: 0, id, msg: 'SUCCESS', timestamp: now };
}

/** A refused request; ccxt raises the class its exceptions.exact gives `code`, with the frame as message. */
export function requestError(id: unknown, code: number, msg: string, now: number): Record<string, unknown> {
  return { code, id, msg, timestamp: now };
}

/** The 24 h ticker's figures over the window the simulator keeps (see bingx-sim-market-stats.ts). */
export interface TickerFigures {
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly last: number;
  /** Base and quote volume traded in the window. */
  readonly baseVolume: number;
  readonly quoteVolume: number;
  /** When the window opened, ms. */
  readonly openTime: number;
}

/**
 * Best bid and ask quantity: the simulator has no book beyond the own orders, so a nominal one.
 * Bid at the last price, ask one price step above it (the last trade hit the bid, as in the
 * recorded frames).
 */
const NOMINAL_TOP_OF_BOOK_QUANTITY = 1;

/** A 24hTicker frame, the fields and JSON types of the recorded spot frames, in their order. */
export function tickerFrame(figures: TickerFigures, market: MarketInfo, now: number): Record<string, unknown> {
  const change = figures.last - figures.open;
  return {
    code: 0,
    timestamp: now,
    dataType: tickerDataType(market),
    data: {
      e: '24hTicker',
      E: now,
      s: marketId(market),
      p: num(change),
      P: `${((change / figures.open) * 100).toFixed(2)}%`,
      o: num(figures.open),
      h: num(figures.high),
      l: num(figures.low),
      c: num(figures.last),
      v: num(figures.baseVolume),
      q: num(figures.quoteVolume),
      O: figures.openTime,
      C: now,
      A: num(figures.last + market.priceStep),
      a: NOMINAL_TOP_OF_BOOK_QUANTITY,
      B: num(figures.last),
      b: NOMINAL_TOP_OF_BOOK_QUANTITY,
    },
  };
}

/** The REST 24 h ticker entry (GET /openApi/spot/v1/ticker/24hr): the same figures as decimal strings, as BingX answers. */
export function restTicker(figures: TickerFigures, market: MarketInfo, now: number): Record<string, unknown> {
  const frame = tickerFrame(figures, market, now)['data'] as Record<string, number | string>;
  const text = (value: number | string | undefined): string => decimal(Number(value));
  return {
    symbol: frame['s'],
    openPrice: text(frame['o']),
    highPrice: text(frame['h']),
    lowPrice: text(frame['l']),
    lastPrice: text(frame['c']),
    priceChange: text(frame['p']),
    priceChangePercent: frame['P'],
    volume: text(frame['v']),
    quoteVolume: text(frame['q']),
    openTime: String(frame['O']),
    closeTime: String(frame['C']),
    askPrice: text(frame['A']),
    askQty: text(frame['a']),
    bidPrice: text(frame['B']),
    bidQty: text(frame['b']),
  };
}

/** What happened to an order: accepted (NEW), filled in part or whole (TRADE), canceled. */
export type Execution = { readonly type: 'NEW' } | { readonly type: 'CANCELED' } | { readonly type: 'TRADE'; readonly fill: Fill };

export interface ExecutionReport {
  readonly execution: Execution;
  /** The order just after the event. */
  readonly order: ExchangeOrder;
  /** Quote value of all the order's fills so far, this one included. */
  readonly cumulativeQuote: number;
}

/** Order status as BingX's executionReport writes it (X). */
function executionStatus(report: ExecutionReport): string {
  switch (report.execution.type) {
    case 'NEW':
      return 'NEW';
    case 'CANCELED':
      return 'CANCELED';
    case 'TRADE':
      return report.order.status === 'closed' ? 'FILLED' : 'PARTIALLY_FILLED';
  }
}

/**
 * A spot.executionReport frame. q and p are the order's quantity and price, l / L / n / t / T / Y
 * the fill's (zero without one), z and Z the order's cumulative quantity and quote value. n is
 * the fill's commission, negative and in quote as in the REST myTrades answer. Q (a quote-amount
 * market order's amount) is 0: the simulator keeps orders by base amount. ccxt's parseTrade reads
 * q and p as the trade's amount and price for spot; that is ccxt's reading, not the wire's.
 */
export function executionReportFrame(report: ExecutionReport, market: MarketInfo, now: number): Record<string, unknown> {
  const { order, execution } = report;
  const fill = execution.type === 'TRADE' ? execution.fill : undefined;
  return {
    code: 0,
    dataType: EXECUTION_REPORT,
    data: {
      e: 'executionReport',
      E: now,
      s: marketId(market),
      S: order.side.toUpperCase(),
      o: order.type.toUpperCase(),
      q: num(order.amount),
      p: num(order.price ?? 0),
      x: execution.type,
      X: executionStatus(report),
      i: wireOrderId(order.id),
      c: order.clientOrderId,
      l: num(fill?.amount ?? 0),
      z: num(order.filled),
      L: num(fill?.price ?? 0),
      n: num(-(fill?.fee ?? 0)),
      N: market.quote,
      T: fill?.timestamp ?? 0,
      t: fill === undefined ? 0 : Number(wireTradeId(fill.tradeId)),
      O: order.timestamp,
      Z: num(report.cumulativeQuote),
      Y: num(fill === undefined ? 0 : fill.price * fill.amount),
      Q: 0,
      m: fill?.takerOrMaker === 'maker',
    },
  };
}
