// REST polling of own fills: the fallback of the own-order stream (and, until the WebSocket
// streams land, the way the live adapter learns of fills). Wraps any exchange port: its
// subscribers get the inner port's events plus every fill found by polling fetchFills, each
// trade once (de-duplicated by trade id), oldest first. A failed poll is reported and retried on
// the next tick; nothing is lost, since each poll asks again from the last fill seen.
import type { Fill } from '../../domain/trading.js';
import type { ExchangeEvent, ExchangePort, ExchangeRequests } from './port.js';

export interface PolledFillsOptions {
  /** The symbols whose fills are polled. */
  readonly symbols: readonly string[];
  readonly intervalMs: number;
  /** Fills before this time (ms) are not reported (e.g. the process start). */
  readonly since: number;
  /** Told of a failed poll (the error is already the port's, without secrets). */
  readonly onError?: (error: unknown) => void;
}

/** How many trade ids are remembered for de-duplication (far more than one poll returns). */
const SEEN_LIMIT = 10_000;

export function withPolledFills(inner: ExchangeRequests & Partial<Pick<ExchangePort, 'subscribe'>>, options: PolledFillsOptions): ExchangePort & { pollNow(): Promise<void> } {
  const listeners = new Set<(event: ExchangeEvent) => void>();
  const seen = new Set<string>();
  const since = new Map(options.symbols.map((symbol) => [symbol, options.since]));
  let timer: NodeJS.Timeout | undefined;
  let unsubscribeInner: (() => void) | undefined;
  let polling: Promise<void> | undefined;

  /** Delivers a fill once, whichever way it came. */
  const deliver = (event: ExchangeEvent): void => {
    if (event.type === 'fill') {
      if (seen.has(event.fill.tradeId)) return;
      seen.add(event.fill.tradeId);
      if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value!);
    }
    for (const listener of listeners) listener(event);
  };

  const pollSymbol = async (symbol: string): Promise<void> => {
    const fills: Fill[] = await inner.fetchFills(symbol, since.get(symbol));
    for (const fill of fills) {
      // Ask again from the newest fill's time: same-millisecond fills arrive again and are dropped by id.
      if (fill.timestamp > (since.get(symbol) ?? 0)) since.set(symbol, fill.timestamp);
      deliver({ type: 'fill', fill });
    }
  };

  const pollNow = (): Promise<void> => {
    polling ??= (async () => {
      for (const symbol of options.symbols) {
        try {
          await pollSymbol(symbol);
        } catch (error) {
          options.onError?.(error);
        }
      }
    })().finally(() => (polling = undefined));
    return polling;
  };

  const start = (): void => {
    unsubscribeInner = inner.subscribe?.(deliver);
    timer = setInterval(() => void pollNow(), options.intervalMs);
    timer.unref();
  };
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
    unsubscribeInner?.();
    unsubscribeInner = undefined;
  };

  return {
    loadMarket: (symbol) => inner.loadMarket(symbol),
    createLimitOrder: (request) => inner.createLimitOrder(request),
    createMarketOrder: (request) => inner.createMarketOrder(request),
    cancelOrder: (clientOrderId, symbol) => inner.cancelOrder(clientOrderId, symbol),
    fetchOrderByClientId: (clientOrderId, symbol) => inner.fetchOrderByClientId(clientOrderId, symbol),
    fetchOpenOrders: (symbol) => inner.fetchOpenOrders(symbol),
    fetchFills: (symbol, from) => inner.fetchFills(symbol, from),
    fetchBalance: () => inner.fetchBalance(),
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    pollNow,
  };
}
