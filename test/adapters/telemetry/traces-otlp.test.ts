// End to end: the decision chain of a fill reaches an OTLP/HTTP collector (a node:http server on
// 127.0.0.1 taking POST /v1/traces; the exporter sends JSON), with its parent/child structure and
// attributes; startTracing made its port the default one the runtime picks up.
import { afterEach, describe, expect, it } from 'vitest';
import { startGridRuntime } from '../../../src/actors/grid/grid-runtime.js';
import { MemoryStore } from '../../../src/adapters/store/memory-store.js';
import { defaultTracePort, noopTracePort } from '../../../src/adapters/telemetry/trace-port.js';
import { startTracing } from '../../../src/adapters/telemetry/tracing.js';
import { parseGridConfig } from '../../../src/config/grid-config.js';
import { paperExchangeAt50k } from '../../support/paper-exchange.js';
import { until } from '../../support/until.js';
import { attributesOf, startCollector } from './otlp-collector.js';

const config = parseGridConfig({ id: 'ot', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task();
});

describe('traces over OTLP/HTTP', () => {
  it("a fill's chain reaches the collector: grid.fill -> order.place -> store.record_intent, exchange.create_order, store.record_ack", async () => {
    const collector = await startCollector();
    cleanup.push(() => collector.close());
    const tracing = await startTracing({ serviceName: 'btcbot-e2e', env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
    cleanup.push(() => tracing.shutdown(0));
    expect(defaultTracePort()).toBe(tracing.port);

    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), journal: true });
    runtime.send({ type: 'START', price: 50_000 });
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2 && [...runtime.orders.values()].every((o) => o.getSnapshot().value === 'open'), 'the grid to rest');
    while (exchange.step(49_000));
    await until(() => exchange.openOrderCount.sell === 3 && [...runtime.orders.values()].every((o) => o.getSnapshot().value === 'open'), 'the counter-order resting');
    runtime.stop();
    expect(await tracing.shutdown(5_000)).toBe('flushed');
    expect(defaultTracePort()).toBe(noopTracePort); // shutdown puts the no-op port back

    expect(collector.received.every((r) => r.path === '/v1/traces' && r.headers['content-type'] === 'application/json')).toBe(true);
    const spans = collector.spans().map(({ span, resource }) => ({ span, resource, attributes: attributesOf(span) }));
    expect(new Set(spans.map(({ span }) => span.name))).toEqual(
      new Set(['grid.start', 'order.place', 'store.record_intent', 'exchange.create_order', 'store.record_ack', 'grid.fill', 'store.record_fill']),
    );
    expect(spans.every(({ resource }) => resource['service.name'] === 'btcbot-e2e')).toBe(true);

    // The fill at 49,000 (level 1) and its counter-order, a sell at level 2.
    const fill = spans.find(({ span, attributes }) => span.name === 'grid.fill' && attributes['btcbot.level'] === 1)!;
    expect(fill.span.parentSpanId ?? '').toBe('');
    expect(fill.attributes).toMatchObject({ 'btcbot.grid': 'ot', 'btcbot.side': 'buy', 'btcbot.price': 49_000, 'btcbot.fill.new': true });
    const children = spans.filter(({ span }) => span.parentSpanId === fill.span.spanId);
    expect(children.map(({ span }) => span.name).sort()).toEqual(['order.place', 'store.record_fill']);
    const counter = children.find(({ span }) => span.name === 'order.place')!;
    expect(counter.span.traceId).toBe(fill.span.traceId);
    expect(counter.attributes).toMatchObject({ 'btcbot.grid': 'ot', 'btcbot.level': 2, 'btcbot.side': 'sell', 'btcbot.reason': 'counter', 'btcbot.outcome': 'open' });
    expect(counter.attributes['btcbot.client_order_id']).toMatch(/^bbot_2s/);
    const steps = spans.filter(({ span }) => span.parentSpanId === counter.span.spanId).map(({ span }) => span.name);
    expect(steps.sort()).toEqual(['exchange.create_order', 'store.record_ack', 'store.record_intent']);
  });
});
