// Spans of the decision chains, in process (the SDK's in-memory exporter): a fill's trace holds
// the counter-order it led to and that order's steps; a START's, its placement; a grid's launch,
// its recovery; a dropped stream, its reconnect. Log lines written along a chain carry its ids.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import { startGridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { GridService } from '../../src/actors/trading/grid-service.js';
import { ExchangeError } from '../../src/adapters/exchange/port.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { startInMemoryTracing, type FinishedSpan, type InMemoryTracing } from '../../src/adapters/telemetry/in-memory-tracing.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { defaultTracePort, noopTracePort } from '../../src/adapters/telemetry/trace-port.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { FakeStreamingExchange } from '../support/fake-streaming-exchange.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'tr', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = startInMemoryTracing();
});
afterAll(async () => {
  await tracing.shutdown();
});
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task();
  tracing.reset();
});

const idOf = (span: FinishedSpan): string => span.spanContext().spanId;
const parentOf = (span: FinishedSpan): string | undefined => span.parentSpanContext?.spanId;
const named = (name: string): FinishedSpan[] => tracing.spans().filter((span) => span.name === name);
const childrenOf = (parent: FinishedSpan): FinishedSpan[] => tracing.spans().filter((span) => parentOf(span) === idOf(parent));
const namesOf = (spans: FinishedSpan[]): string[] => spans.map((span) => span.name).sort();

function jsonLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger };
}

/** A runtime on the paper exchange at 50,000, started and resting (2 buys, 2 sells). */
async function restingGrid(options: { tracer?: typeof noopTracePort } = {}) {
  const exchange = paperExchangeAt50k();
  const { lines, logger } = jsonLogs();
  const runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), journal: true, logger, logFills: true, ...options });
  cleanup.push(() => runtime.stop());
  runtime.send({ type: 'START', price: 50_000 });
  await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2 && [...runtime.orders.values()].every((o) => o.getSnapshot().value === 'open'), 'the grid to rest');
  return { exchange, runtime, lines };
}

describe('spans of the order path', () => {
  test("a START's placement: grid.start -> the start's market buy (order.place -> its steps); that buy's fill, linked to it, -> the resting orders", async () => {
    await restingGrid();
    const [start, ...more] = named('grid.start');
    expect(more).toEqual([]);
    expect(parentOf(start!)).toBeUndefined(); // a trace of its own
    expect(start!.attributes).toMatchObject({ 'btcbot.grid': 'tr', 'btcbot.symbol': 'BTC/USDT', 'btcbot.price': 50_000 });
    const [buy, ...others] = childrenOf(start!);
    expect(others).toEqual([]);
    expect(buy!.name).toBe('order.place');
    expect(buy!.attributes).toMatchObject({ 'btcbot.grid': 'tr', 'btcbot.level': -1, 'btcbot.side': 'buy', 'btcbot.order_type': 'market', 'btcbot.reason': 'start', 'btcbot.outcome': 'filled' });
    expect(buy!.attributes['btcbot.client_order_id']).toMatch(/^bbtr_/);
    expect(namesOf(childrenOf(buy!))).toEqual(['exchange.create_order', 'store.record_ack', 'store.record_intent']);

    // The buy's fill: a trace of its own, linked to the buy's placement; the grid's resting orders are its children.
    const [fill] = named('grid.fill');
    expect(parentOf(fill!)).toBeUndefined();
    expect(fill!.links.map((link) => link.context.spanId)).toEqual([idOf(buy!)]);
    expect(fill!.attributes).toMatchObject({ 'btcbot.client_order_id': buy!.attributes['btcbot.client_order_id'], 'btcbot.level': -1 });
    const placements = childrenOf(fill!).filter((span) => span.name === 'order.place');
    expect(placements.map((span) => `${String(span.attributes['btcbot.side'])}@${String(span.attributes['btcbot.level'])}`).sort()).toEqual(['buy@0', 'buy@1', 'sell@3', 'sell@4']);
    for (const placement of placements) {
      expect(placement.spanContext().traceId).toBe(fill!.spanContext().traceId);
      expect(placement.attributes).toMatchObject({ 'btcbot.grid': 'tr', 'btcbot.reason': 'start', 'btcbot.order_type': 'limit', 'btcbot.outcome': 'open' });
      expect(namesOf(childrenOf(placement))).toEqual(['exchange.create_order', 'store.record_ack', 'store.record_intent']);
    }
  });

  test('a fill: one trace, grid.fill -> store.record_fill and the counter-order (order.place -> intent stored -> exchange call -> ack); its log lines carry its ids', async () => {
    const { exchange, runtime, lines } = await restingGrid();
    const buy = [...runtime.orders.values()].find((order) => order.getSnapshot().context.intent.level === 1)!.getSnapshot().context.intent;
    tracing.reset();
    lines.length = 0;

    while (exchange.step(49_000)); // the buy at level 1 fills; its counter-order is a sell at level 2
    await until(() => named('order.place').some((span) => span.attributes['btcbot.outcome'] === 'open'), 'the counter-order resting');

    const [fill, ...more] = named('grid.fill');
    expect(more).toEqual([]);
    expect(parentOf(fill!)).toBeUndefined();
    expect(fill!.attributes).toMatchObject({
      'btcbot.grid': 'tr',
      'btcbot.level': 1,
      'btcbot.side': 'buy',
      'btcbot.client_order_id': buy.clientOrderId,
      'btcbot.symbol': 'BTC/USDT',
      'btcbot.fill.new': true,
      'btcbot.fill.source': 'stream',
    });
    expect(typeof fill!.attributes['btcbot.trade_id']).toBe('string');
    expect(namesOf(childrenOf(fill!))).toEqual(['order.place', 'store.record_fill']);

    const [counter] = childrenOf(fill!).filter((span) => span.name === 'order.place');
    expect(counter!.spanContext().traceId).toBe(fill!.spanContext().traceId);
    expect(counter!.attributes).toMatchObject({ 'btcbot.grid': 'tr', 'btcbot.level': 2, 'btcbot.side': 'sell', 'btcbot.reason': 'counter', 'btcbot.order_type': 'limit', 'btcbot.outcome': 'open' });
    const counterId = counter!.attributes['btcbot.client_order_id'];
    expect(counterId).toMatch(/^bbtr_/);
    const steps = childrenOf(counter!).sort((a, b) => Number(a.startTime[0] - b.startTime[0]) || a.startTime[1] - b.startTime[1]);
    expect(steps.map((span) => span.name)).toEqual(['store.record_intent', 'exchange.create_order', 'store.record_ack']);
    expect(steps[0]!.attributes).toMatchObject({ 'btcbot.intent': 'new' });
    expect(steps[1]!.attributes).toMatchObject({ 'btcbot.outcome': 'open' });

    // The fill line (module trades) and the filled order's state lines are written inside the fill's span.
    const traceId = fill!.spanContext().traceId;
    const filledLine = lines.find((line) => line['msg'] === 'buy filled at 49000');
    expect(filledLine).toMatchObject({ module: 'trades', app: 'btcbot', trace_id: traceId, span_id: idOf(fill!), clientOrderId: buy.clientOrderId });
    const counterState = lines.find((line) => line['msg'] === 'order state' && line['clientOrderId'] === counterId && line['state'] === 'recording');
    expect(counterState).toMatchObject({ module: 'orders', trace_id: traceId });
  });

  test('a fill the store had already (a replayed stream) is a grid.fill with btcbot.fill.new false and nothing after it', async () => {
    const { exchange, runtime } = await restingGrid();
    tracing.reset();
    while (exchange.step(49_000));
    await until(() => named('grid.fill').length === 1 && named('order.place').length > 0 && [...runtime.orders.values()].every((o) => o.getSnapshot().value === 'open'), 'the counter-order');
    const fill = exchange.fillLog.at(-1)!;
    tracing.reset();
    expect(await runtime.deliverFills([fill])).toBe(0);
    const [again] = named('grid.fill');
    expect(again!.attributes).toMatchObject({ 'btcbot.fill.new': false, 'btcbot.fill.source': 'recovery' });
    expect(namesOf(childrenOf(again!))).toEqual(['store.record_fill']);
  });

  test('with the no-op port nothing is recorded, even with an SDK registered', async () => {
    expect(defaultTracePort()).toBe(tracing.port);
    const { exchange } = await restingGrid({ tracer: noopTracePort });
    while (exchange.step(49_000));
    await until(() => exchange.openOrderCount.sell === 3, 'the counter-order');
    expect(tracing.spans()).toEqual([]);
  });
});

describe('spans of a launch', () => {
  test('grid.recovery: a new grid (kind new) with recovery.load and the grid.start of its placement; a restart (kind saved) with recovery.reconcile', async () => {
    const exchange = paperExchangeAt50k();
    const { session } = paperSession(exchange);
    const store = new MemoryStore();
    const { logger, lines } = jsonLogs();
    const launch = (): GridService => {
      const service = new GridService({ config, session, store, logger, signal: new AbortController().signal });
      cleanup.push(() => service.stop());
      service.start();
      return service;
    };
    const first = launch();
    await first.ready;
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2 && named('order.place').filter((s) => s.attributes['btcbot.outcome'] === 'open').length === 4, 'the grid to rest');
    first.stop();
    await first.settled(); // its last snapshot saved
    const [recovery] = named('grid.recovery');
    expect(recovery!.attributes).toMatchObject({ 'btcbot.grid': 'tr', 'btcbot.recovery.kind': 'new' });
    expect(namesOf(childrenOf(recovery!))).toEqual(['grid.start', 'recovery.load']);
    expect(namesOf(childrenOf(named('grid.start')[0]!))).toEqual(['order.place']);
    // The launch's lines carry the recovery's trace; the grid's lines its module.
    expect(lines.find((line) => line['msg'] === 'grid started on the exchange')).toMatchObject({ module: 'grid', trace_id: recovery!.spanContext().traceId });

    tracing.reset();
    const second = launch();
    await second.ready;
    const [again] = named('grid.recovery');
    expect(again!.attributes).toMatchObject({ 'btcbot.recovery.kind': 'saved', 'btcbot.recovery.orders': 4, 'btcbot.recovery.caught_up_fills': 0 });
    expect(namesOf(childrenOf(again!))).toEqual(['recovery.load', 'recovery.reconcile']);
  });
});

describe('spans of the exchange session', () => {
  test('exchange.connect per attempt; a dropped stream is an exchange.reconnect lasting until the streams are up again, its attempts its children', async () => {
    const exchange = new FakeStreamingExchange();
    const { logger, lines } = jsonLogs();
    const session = new ExchangeSession({
      exchange,
      symbols: ['BTC/USDT'],
      own: true,
      since: 0,
      logger,
      staleAfterMs: 10_000,
      pollIntervalMs: 20,
      reconcileIntervalMs: 60_000,
      connectTimeoutMs: 2_000,
      backoff: { baseMs: 20, maxMs: 50, jitter: 0.2 },
    });
    cleanup.push(() => session.stop());
    session.start();
    await until(() => exchange.watching.ticks === 1, 'the ticker watch');
    exchange.pushTick(101);
    await until(() => session.status().state === 'connected' && exchange.watching.fills === 1, 'connected');
    await until(() => named('exchange.connect').length === 1, 'the first attempt span');
    expect(named('exchange.connect')[0]!.attributes).toMatchObject({ 'btcbot.exchange': exchange.exchangeId, 'btcbot.attempt': 1, 'btcbot.reason': 'start' });
    expect(parentOf(named('exchange.connect')[0]!)).toBeUndefined();

    exchange.refuseWatches = new ExchangeError('retryable', 'connect ECONNREFUSED 127.0.0.1', 'NETWORK');
    exchange.dropSockets();
    await until(() => session.status().state === 'reconnecting', 'reconnecting');
    await until(() => named('exchange.connect').length >= 2, 'a refused attempt');
    exchange.refuseWatches = undefined;
    await until(() => exchange.watching.ticks === 1, 'the resubscribed ticker');
    exchange.pushTick(96);
    await until(() => session.status().state === 'connected' && named('exchange.reconnect').length === 1, 'connected again');

    const [outage] = named('exchange.reconnect');
    expect(parentOf(outage!)).toBeUndefined();
    expect(outage!.attributes).toMatchObject({ 'btcbot.exchange': exchange.exchangeId, 'btcbot.outcome': 'connected' });
    expect(String(outage!.attributes['btcbot.reconnect.cause'])).toMatch(/1006/);
    const attempts = childrenOf(outage!);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(outage!.attributes['btcbot.attempt']).toBe(attempts.length);
    expect(attempts.every((span) => span.name === 'exchange.connect' && span.attributes['btcbot.reason'] === 'reconnect')).toBe(true);
    expect(attempts.filter((span) => span.status.code === 2).length).toBe(attempts.length - 1); // the refused ones are errors
    expect(lines.find((line) => String(line['msg']).startsWith('exchange streams down'))).toMatchObject({ module: 'exchange', app: 'btcbot' });
  });
});
