// BingX spot REST wire format for the exchange simulator: the `{ code, msg, debugMsg, data }`
// envelope, decimal strings, order / fill / balance payloads shaped like the recorded BingX answers
// in ccxt's static fixtures (response/bingx.json), and the error codes ccxt's bingx class maps to
// the right error classes (exceptions.exact in ccxt's bingx.js). The WebSocket frames are in
// bingx-ws-wire.ts.
import type { Fill } from '../../../domain/trading.js';
import type { ExchangeOrder, MarketInfo } from '../port.js';

/** `code` is a numeric string, as in the recorded BingX answers ("0" on success). */
export interface BingxEnvelope {
  readonly code: string;
  readonly msg: string;
  readonly debugMsg: string;
  readonly data: unknown;
}

/** BingX error codes, as ccxt 4.5's bingx class classifies them. */
export const BingxCode = {
  /** AuthenticationError: signature verification failed. */
  AUTH_SIGNATURE: 100001,
  /** AuthenticationError: null signature / API key. */
  AUTH_NULL: 100412,
  /** InsufficientFunds. */
  INSUFFICIENT_BALANCE: 100202,
  /** BadRequest: invalid parameters (also duplicate client order id, unknown symbol, unknown path). */
  BAD_REQUEST: 100400,
  /** OperationFailed: system busy, try again (the simulator has no price yet). */
  BUSY: 100410,
  /** OrderNotFound. */
  ORDER_NOT_FOUND: 80016,
  /** ExchangeError: internal error. */
  INTERNAL: 100503,
} as const;

/** An answer BingX sends without the envelope (the user data stream endpoints): the body as it is. */
export interface BareAnswer {
  readonly bare: Record<string, unknown>;
}

export function bare(body: Record<string, unknown>): BareAnswer {
  return { bare: body };
}

export function ok(data: unknown): BingxEnvelope {
  return { code: '0', msg: '', debugMsg: '', data };
}

export function fail(code: number, msg: string): BingxEnvelope {
  return { code: String(code), msg, debugMsg: '', data: {} };
}

/** A number as BingX writes it: a plain decimal string, no exponent, float noise beyond 1e-12 dropped. */
export function decimal(value: number): string {
  if (!Number.isFinite(value)) return '0';
  if (Number.isInteger(value)) return String(value);
  let text = value.toFixed(12);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

/** BTC/USDT -> BTC-USDT. */
export function marketId(market: MarketInfo): string {
  return `${market.base}-${market.quote}`;
}

// PaperExchange ids ("P17", "T5") shown as BingX-like numeric ids (19 digits) and back.
const ORDER_ID_BASE = 1_700_000_000_000_000_000n;
const TRADE_ID_BASE = 40_000_000n;

export function wireOrderId(paperId: string): string {
  const n = /^P(\d+)$/.exec(paperId)?.[1];
  return n === undefined ? paperId : String(ORDER_ID_BASE + BigInt(n));
}

export function paperOrderId(wireId: string): string {
  if (!/^\d+$/.test(wireId)) return wireId;
  const n = BigInt(wireId) - ORDER_ID_BASE;
  return n > 0n ? `P${n}` : wireId;
}

export function wireTradeId(paperId: string): string {
  const n = /^T(\d+)$/.exec(paperId)?.[1];
  return n === undefined ? paperId : String(TRADE_ID_BASE + BigInt(n));
}

/** Status strings of BingX spot orders (PENDING as in the recorded spot answers; ccxt reads NEW the same). */
export function wireStatus(order: ExchangeOrder): string {
  switch (order.status) {
    case 'open':
      return order.filled > 0 ? 'PARTIALLY_FILLED' : 'PENDING';
    case 'closed':
      return 'FILLED';
    case 'canceled':
      return 'CANCELED';
    default:
      return 'FAILED';
  }
}

/** The order's fills (for executed cost, average and fee). */
function totals(order: ExchangeOrder, fills: readonly Fill[]): { cost: number; fee: number } {
  let cost = 0;
  let fee = 0;
  for (const fill of fills) {
    if (fill.orderId !== order.id) continue;
    cost += fill.price * fill.amount;
    fee += fill.fee;
  }
  return { cost, fee };
}

/** An order as answered by cancel (POST /openApi/spot/v1/trade/cancel). */
export function canceledOrder(order: ExchangeOrder, market: MarketInfo, fills: readonly Fill[]): Record<string, unknown> {
  const { cost } = totals(order, fills);
  return {
    symbol: marketId(market),
    orderId: wireOrderId(order.id),
    price: decimal(order.price ?? 0),
    origQty: decimal(order.amount),
    executedQty: decimal(order.filled),
    cummulativeQuoteQty: decimal(cost),
    status: wireStatus(order),
    type: order.type.toUpperCase(),
    side: order.side.toUpperCase(),
    clientOrderID: order.clientOrderId,
  };
}

/** An order as answered by create (POST /openApi/spot/v1/trade/order): the cancel answer plus its time. */
export function createdOrder(order: ExchangeOrder, market: MarketInfo, fills: readonly Fill[]): Record<string, unknown> {
  return { ...canceledOrder(order, market, fills), transactTime: String(order.timestamp) };
}

/**
 * An order as listed by openOrders and answered by query: the recorded openOrders item
 * (time, updateTime, StopPrice, origQuoteOrderQty, clientOrderID, fee) plus feeAsset and avgPrice.
 */
export function listedOrder(order: ExchangeOrder, market: MarketInfo, fills: readonly Fill[]): Record<string, unknown> {
  const { cost, fee } = totals(order, fills);
  const lastFill = fills.filter((fill) => fill.orderId === order.id).at(-1);
  return {
    symbol: marketId(market),
    orderId: wireOrderId(order.id),
    price: decimal(order.price ?? 0),
    StopPrice: '0',
    origQty: decimal(order.amount),
    executedQty: decimal(order.filled),
    cummulativeQuoteQty: decimal(cost),
    status: wireStatus(order),
    type: order.type.toUpperCase(),
    side: order.side.toUpperCase(),
    time: String(order.timestamp),
    updateTime: String(lastFill?.timestamp ?? order.timestamp),
    origQuoteOrderQty: '0',
    clientOrderID: order.clientOrderId,
    fee: decimal(-fee),
    feeAsset: market.quote,
    avgPrice: decimal(order.filled > 0 ? cost / order.filled : 0),
  };
}

/** A fill as listed by myTrades (commission negative, in quote: the paper exchange charges fees in quote). */
export function wireFill(fill: Fill, market: MarketInfo): Record<string, unknown> {
  return {
    symbol: marketId(market),
    id: wireTradeId(fill.tradeId),
    orderId: wireOrderId(fill.orderId),
    price: decimal(fill.price),
    qty: decimal(fill.amount),
    quoteQty: decimal(fill.price * fill.amount),
    commission: decimal(-fill.fee),
    commissionAsset: market.quote,
    time: String(fill.timestamp),
    isBuyer: fill.side === 'buy',
    isMaker: fill.takerOrMaker === 'maker',
  };
}

/** The spot symbol as listed by GET /openApi/spot/v1/common/symbols (the recorded markets' `info`). */
export function wireSymbol(market: MarketInfo): Record<string, unknown> {
  return {
    symbol: marketId(market),
    minQty: decimal(market.amountStep),
    maxQty: '1000000',
    minNotional: decimal(market.minNotional),
    maxNotional: '100000000',
    status: '1',
    tickSize: decimal(market.priceStep),
    stepSize: decimal(market.amountStep),
    apiStateSell: true,
    apiStateBuy: true,
    timeOnline: '0',
  };
}
