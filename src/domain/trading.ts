// Plain trading vocabulary shared by machines, actors and adapters (types only, no behaviour).

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';

/** Exchange filters of one market. */
export interface MarketFilters {
  readonly priceStep: number;
  readonly amountStep: number;
  readonly minNotional: number;
}

/** What the grid wants on the exchange; stored before it is sent (write ahead). */
export interface OrderIntent {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  /** Limit price; absent for market orders. */
  readonly price?: number;
  readonly amount: number;
  /** Grid level of a limit order; -1 for the grid's market orders. */
  readonly level: number;
}

/** One execution of an order, as the exchange reports it. Fees are in quote. */
export interface Fill {
  readonly tradeId: string;
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly amount: number;
  readonly fee: number;
  readonly takerOrMaker: 'taker' | 'maker';
  readonly timestamp: number;
}
