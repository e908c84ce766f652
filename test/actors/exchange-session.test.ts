// ExchangeSession: the streams while they are up, REST polling while they are down, the
// connection statechart deciding between them, and every fill delivered exactly once.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { ExchangeSession, type ExchangeSessionOptions } from '../../src/actors/exchange/exchange-session.js';
import { ExchangeError, type ExchangeEvent, type Tick } from '../../src/adapters/exchange/port.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { FakeStreamingExchange } from '../support/fake-streaming-exchange.js';
import { until } from '../support/until.js';

const SYMBOL = 'BTC/USDT';
let session: ExchangeSession | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

function startSession(exchange: FakeStreamingExchange, options: Partial<ExchangeSessionOptions> = {}) {
  const logs: string[] = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (line) => logs.push(line) });
  session = new ExchangeSession({
    exchange,
    symbols: [SYMBOL],
    own: true,
    since: 0,
    logger,
    staleAfterMs: 10_000,
    pollIntervalMs: 20,
    reconcileIntervalMs: 60_000,
    connectTimeoutMs: 2_000,
    backoff: { baseMs: 20, maxMs: 50, jitter: 0.2 },
    ...options,
  });
  const fills: string[] = [];
  const orders: ExchangeEvent[] = [];
  const ticks: Tick[] = [];
  session.subscribe((event) => (event.type === 'fill' ? fills.push(event.fill.tradeId) : orders.push(event)));
  session.onTick((tick) => ticks.push(tick));
  session.start();
  return { session, fills, ticks, logs };
}

describe('ExchangeSession', () => {
  test('connects on the first tick, streams ticks and fills, and delivers each fill once', async () => {
    const exchange = new FakeStreamingExchange();
    const { session, fills, ticks } = startSession(exchange);
    // While connecting, REST polling already gives a price.
    await until(() => ticks.length > 0, 'a polled tick');
    expect(session.status().state).toBe('connecting');
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(101);
    await until(() => session.status().state === 'connected', 'connected');
    expect(session.lastTick(SYMBOL)?.price).toBe(101);
    const polledBefore = exchange.fetchTickCount;

    await until(() => exchange.watching.fills === 1, 'the own-fill watch');
    const fill = exchange.makeFill(true);
    await until(() => fills.length === 1, 'the streamed fill');
    expect(fills).toEqual([fill.tradeId]);
    // The catch-up meets the same fill again: still delivered once.
    await session.catchUp();
    expect(fills).toEqual([fill.tradeId]);
    await sleep(60);
    expect(exchange.fetchTickCount).toBe(polledBefore); // no REST polling while connected
  });

  test('a dropped stream: REST polling carries on, the reconnect resubscribes and catches up the fills missed', async () => {
    const exchange = new FakeStreamingExchange();
    const { session, fills, ticks, logs } = startSession(exchange);
    const reconnects: string[] = [];
    session.onReconnect((exchangeId) => reconnects.push(exchangeId));
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(101);
    await until(() => session.status().state === 'connected' && exchange.watching.fills === 1, 'connected with own watches');
    expect(session.websocket()).toEqual({ status: 'healthy', connected: true });
    expect(reconnects).toEqual([]); // the first connection is no reconnect

    exchange.refuseWatches = new ExchangeError('retryable', 'connect ECONNREFUSED 127.0.0.1', 'NETWORK');
    exchange.dropSockets();
    await until(() => session.status().state === 'reconnecting', 'reconnecting');
    expect(session.status().lastError).toMatch(/closing code 1006/);
    // /health's websocket: not connected, still healthy while REST polling carries prices.
    expect(session.websocket()).toEqual({ status: 'healthy', connected: false });
    expect(logs.some((line) => line.includes('exchange streams down'))).toBe(true);
    // Down: fills are found by polling, prices come from REST.
    exchange.price = 95;
    const missed = exchange.makeFill(false);
    await until(() => fills.includes(missed.tradeId), 'the polled fill');
    await until(() => ticks.at(-1)?.price === 95, 'a polled price');

    // Back up: a fill made while nothing listened is caught up after the reconnect.
    const alsoMissed = exchange.makeFill(false);
    exchange.refuseWatches = undefined;
    await until(() => exchange.watching.ticks === 1, 'the resubscribed ticker');
    exchange.pushTick(96);
    await until(() => session.status().state === 'connected', 'connected again');
    await until(() => fills.includes(alsoMissed.tradeId), 'the caught-up fill');
    expect(fills).toEqual([missed.tradeId, alsoMissed.tradeId]);
    expect(session.status().attempt).toBe(0);
    expect(reconnects).toEqual([exchange.exchangeId]);
    expect(session.websocket()).toEqual({ status: 'healthy', connected: true });
  });

  test('a silent stream is stale: the sockets are closed and a new attempt is made', async () => {
    const exchange = new FakeStreamingExchange();
    const { session } = startSession(exchange, { staleAfterMs: 100 });
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(101);
    await until(() => session.status().state === 'connected', 'connected');
    const closes = exchange.closeCount;
    await until(() => session.status().state !== 'connected', 'the stale timer');
    expect(session.status().lastError).toBe('stale');
    expect(exchange.closeCount).toBeGreaterThan(closes);
    await until(() => exchange.watching.ticks === 1, 'the next attempt watching again');
    exchange.pushTick(102);
    await until(() => session.status().state === 'connected', 'connected again');
  });

  test('/health: healthy while prices come (stream or REST); no price at all for noPriceUnhealthyAfterMs is unhealthy, and healthy again with the next one', async () => {
    const exchange = new FakeStreamingExchange();
    const { session } = startSession(exchange, { noPriceUnhealthyAfterMs: 150, pollIntervalMs: 10_000 });
    expect(session.health()).toMatchObject({ healthy: true });
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(101);
    await until(() => session.status().state === 'connected', 'connected');
    expect(session.health()).toMatchObject({ healthy: true, state: 'connected' });
    await until(() => !session.health().healthy, 'no price for 150 ms', 2_000);
    expect(session.health().reason).toMatch(/^no price from the exchange for \d+ s \(stream connected; REST polling gets none either\)$/);
    expect(session.websocket()).toEqual({ status: 'unhealthy', connected: true, reason: session.health().reason });
    await until(() => exchange.watching.ticks === 1, 'the ticker watch again');
    exchange.pushTick(102);
    await until(() => session.health().healthy, 'healthy with the next price');
  });

  test('no first tick within the connect timeout fails the attempt, and it is retried', async () => {
    const exchange = new FakeStreamingExchange();
    const { session } = startSession(exchange, { connectTimeoutMs: 50 });
    await until(() => session.status().state === 'reconnecting', 'the failed attempt');
    expect(session.status().lastError).toMatch(/no ticker within 50 ms/);
    await until(() => session.status().state === 'connecting', 'the retry');
    await until(() => exchange.watching.ticks === 1, 'watching');
    exchange.pushTick(100);
    await until(() => session.status().state === 'connected', 'connected');
  });

  test('refused credentials stop the retries (failed), REST polling goes on, RETRY tries again', async () => {
    const exchange = new FakeStreamingExchange();
    exchange.refuseWatches = new ExchangeError('auth', 'bingx {"code":100001,"msg":"Signature verification failed"}', 'AUTH');
    const { session, ticks } = startSession(exchange);
    await until(() => session.status().state === 'failed', 'failed');
    expect(session.status().lastError).toMatch(/Signature verification failed/);
    expect(session.websocket()).toMatchObject({ status: 'unhealthy', connected: false, reason: expect.stringContaining('the exchange connection gave up') });
    const polled = ticks.length;
    await until(() => ticks.length > polled, 'polling after the failure');
    exchange.refuseWatches = undefined;
    session.retry();
    await until(() => exchange.watching.ticks === 1, 'watching again');
    exchange.pushTick(100);
    await until(() => session.status().state === 'connected', 'connected');
  });

  test('an exchange without WebSocket watches is polled only', async () => {
    const exchange = new FakeStreamingExchange();
    exchange.canStream = { ticker: false, own: false };
    const { session, fills, ticks } = startSession(exchange);
    expect(session.status().state).toBe('polling');
    expect(session.websocket()).toEqual({ status: 'disabled', connected: false, reason: 'REST polling only: exchange.streams is false, or ccxt has no WebSocket for this exchange' });
    const fill = exchange.makeFill(false);
    await until(() => fills.length === 1 && ticks.length > 0, 'a polled fill and price');
    expect(fills).toEqual([fill.tradeId]);
    expect(exchange.watching).toEqual({ ticks: 0, fills: 0, orders: 0 });
  });

  test('market data only (demo): no own watches and no fill requests', async () => {
    const exchange = new FakeStreamingExchange();
    const { session } = startSession(exchange, { own: false });
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(100);
    await until(() => session.status().state === 'connected', 'connected');
    await session.catchUp();
    expect(exchange.watching.fills).toBe(0);
    expect(exchange.fetchFillsCount).toBe(0);
  });

  test('stop closes the streams and delivers nothing more', async () => {
    const exchange = new FakeStreamingExchange();
    const { session, fills, ticks } = startSession(exchange);
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(100);
    await until(() => session.status().state === 'connected', 'connected');
    await session.stop();
    const seen = ticks.length;
    exchange.pushTick(99);
    exchange.makeFill(true);
    await sleep(50);
    expect([ticks.length, fills.length]).toEqual([seen, 0]);
    expect(exchange.watching).toEqual({ ticks: 0, fills: 0, orders: 0 });
  });

  test('fills from before `since` are not reported', async () => {
    const exchange = new FakeStreamingExchange();
    exchange.canStream = { ticker: false, own: false };
    exchange.makeFill(false, 1_000);
    const { fills } = startSession(exchange, { since: 2_000 });
    const recent = exchange.makeFill(false, 3_000);
    await until(() => fills.length === 1, 'the recent fill');
    expect(fills).toEqual([recent.tradeId]);
  });
});
