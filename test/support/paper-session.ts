// A paper exchange as a grid's live session (GridService's LiveSession): requests, own-order
// stream and the first tick from the paper exchange, every new order's client id counted (a
// second send of a client id would show).
import type { LiveSession } from '../../src/actors/trading/grid-service.js';
import type { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import type { Tick } from '../../src/adapters/exchange/port.js';

export function paperSession(exchange: PaperExchange): { session: LiveSession; sent: string[] } {
  const sent: string[] = [];
  const session: LiveSession = {
    loadMarket: (symbol) => exchange.loadMarket(symbol),
    createLimitOrder: (request) => {
      sent.push(request.clientOrderId);
      return exchange.createLimitOrder(request);
    },
    createMarketOrder: (request) => {
      sent.push(request.clientOrderId);
      return exchange.createMarketOrder(request);
    },
    cancelOrder: (clientOrderId, symbol) => exchange.cancelOrder(clientOrderId, symbol),
    fetchOrderByClientId: (clientOrderId, symbol) => exchange.fetchOrderByClientId(clientOrderId, symbol),
    fetchOpenOrders: (symbol) => exchange.fetchOpenOrders(symbol),
    fetchFills: (symbol, since) => exchange.fetchFills(symbol, since),
    fetchBalance: () => exchange.fetchBalance(),
    subscribe: (listener) => exchange.subscribe(listener),
    firstTick: async (symbol): Promise<Tick> => ({ symbol, price: exchange.lastPrice, timestamp: Date.now() }),
    onTick: () => () => undefined,
    status: () => ({ state: 'connected', lastError: null, attempt: 0, lastTickAt: null }),
  };
  return { session, sent };
}
