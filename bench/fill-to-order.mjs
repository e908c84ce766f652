// Fill received -> counter-order handed to the exchange, in process, on the embedded store: a
// grid launched as `btcbot run` launches it in live mode (GridService: journal, snapshot saves,
// write-ahead intents) on PGlite in a temp directory, its exchange a paper exchange whose
// createLimitOrder is timed. Each round walks the price across one resting order: its fill is
// delivered to the runtime (t0), stored, handed to its order, the grid decides the counter-order,
// its intent is stored, and createLimitOrder is called (t1). The next fill comes once the grid is
// at rest again (orders open, journal and snapshot written), so each figure is one fill's path,
// not a queue. Prints p50 / p99 / max of t1 - t0 in ms with tracing off (the no-op port) and on
// (the OpenTelemetry SDK with an in-memory exporter: every span recorded, none sent).
// Target (issue: traces): p99 < 2 ms. Asserts nothing.
// Run: npm run build && node bench/fill-to-order.mjs (BENCH_FILLS fills per case, default 1000, after 100 warm-up fills)
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GridService } from '../dist/actors/trading/grid-service.js';
import { PaperExchange } from '../dist/adapters/exchange/paper-exchange.js';
import { openStore } from '../dist/adapters/store/open-store.js';
import { startInMemoryTracing } from '../dist/adapters/telemetry/in-memory-tracing.js';
import { silentLogger } from '../dist/adapters/telemetry/logger.js';
import { noopTracePort } from '../dist/adapters/telemetry/trace-port.js';
import { parseGridConfig } from '../dist/config/grid-config.js';

const FILLS = Number(process.env.BENCH_FILLS ?? 1_000);
const WARMUP = 100;
const work = mkdtempSync(path.join(tmpdir(), 'btcbot-bench-fill-'));

/** The paper exchange as a live session, fills timed as they are delivered and creates as they are called; trade ids made unique to the grid (the cases share one store). */
function timedSession(exchange, id) {
  const unique = (fill) => ({ ...fill, tradeId: `${id}-${fill.tradeId}` });
  const timing = { receivedAt: undefined, samples: [], created: undefined };
  const session = {
    loadMarket: (symbol) => exchange.loadMarket(symbol),
    createLimitOrder: (request) => {
      const at = performance.now();
      if (timing.receivedAt !== undefined) {
        timing.samples.push(at - timing.receivedAt);
        timing.receivedAt = undefined;
        timing.created?.();
      }
      return exchange.createLimitOrder(request);
    },
    createMarketOrder: (request) => exchange.createMarketOrder(request),
    cancelOrder: (clientOrderId, symbol) => exchange.cancelOrder(clientOrderId, symbol),
    fetchOrderByClientId: (clientOrderId, symbol) => exchange.fetchOrderByClientId(clientOrderId, symbol),
    fetchOpenOrders: (symbol) => exchange.fetchOpenOrders(symbol),
    fetchFills: async (symbol, since) => (await exchange.fetchFills(symbol, since)).map(unique),
    fetchBalance: () => exchange.fetchBalance(),
    subscribe: (listener) =>
      exchange.subscribe((event) => {
        if (event.type !== 'fill') return listener(event);
        timing.receivedAt = performance.now();
        listener({ type: 'fill', fill: unique(event.fill) });
      }),
    firstTick: async (symbol) => ({ symbol, price: exchange.lastPrice, timestamp: Date.now() }),
    onTick: () => () => undefined,
    status: () => ({ state: 'connected', lastError: null, attempt: 0, lastTickAt: null }),
  };
  return { session, timing };
}

async function until(condition, what, state = () => '') {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${state()}`);
    await sleep(0);
  }
}

/** A new grid on the store, `warmup` + `fills` fills; the samples after the warm-up. */
async function measure(store, id, tracer, warmup, fills) {
  const exchange = new PaperExchange({
    market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 },
    fees: { maker: 0.001, taker: 0.001 },
    balance: { base: 0, quote: 1_000_000 },
    now: Date.now,
  });
  exchange.setPrice(50_000);
  const config = parseGridConfig({ id, symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
  await store.registerGrid(config);
  const { session, timing } = timedSession(exchange, id);
  let runtime;
  const service = new GridService({ config, session, store, logger: silentLogger, signal: new globalThis.AbortController().signal, tracer, onStarted: (_, started) => (runtime = started) });
  service.start();
  await service.ready;
  const atRest = () => runtime.orders.size === 4 && [...runtime.orders.values()].every((order) => order.getSnapshot().value === 'open');
  await until(atRest, 'the grid to rest', () => JSON.stringify([runtime.actor.getSnapshot().value, [...runtime.orders.values()].map((o) => o.getSnapshot().value)]));
  await service.settled();
  // 48,000 .. 52,000 in 5 levels, started at 50,000: buys at 48,000 and 49,000, sells at 51,000
  // and 52,000. Down to 49,000 fills the buy (its counter-order: a sell at 50,000); up to 50,000
  // fills that sell (its counter-order: a buy at 49,000 again).
  for (let i = 0; i < warmup + fills; i++) {
    const created = new Promise((resolve) => (timing.created = resolve));
    while (exchange.step(i % 2 === 0 ? 49_000 : 50_000));
    await created;
    await until(atRest, 'the counter-order to rest');
    await service.settled();
  }
  service.stop();
  await service.settled();
  // The first sample is the start's (its market buy's fill leading to the resting orders).
  return timing.samples.slice(1 + warmup);
}

function figures(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) };
}

const ms = (value) => value.toFixed(3);
/** The median duration of the spans named `name`, in ms. */
const medianSpan = (spans, name) => {
  const durations = spans.filter((span) => span.name === name).map((span) => span.duration[0] * 1e3 + span.duration[1] / 1e6);
  return figures(durations).p50;
};

// Off and on alternate, in blocks, each block a new grid (the machine is shared and noisy: a
// slow spell then hits both cases alike). The SDK is registered throughout; off uses the no-op port.
const BLOCKS = 4;
const { store, database } = await openStore({ dataDir: path.join(work, 'data') }, silentLogger);
const tracing = startInMemoryTracing();
try {
  console.log(`fill received -> createLimitOrder called, embedded PGlite, ${FILLS} fills per case in ${BLOCKS} blocks (${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)})`);
  const samples = { off: [], on: [] };
  let spans = [];
  for (let block = 0; block < BLOCKS; block++) {
    const warmup = block === 0 ? WARMUP : 20;
    samples.off.push(...(await measure(store, `boff${block}`, noopTracePort, warmup, Math.ceil(FILLS / BLOCKS))));
    tracing.reset();
    samples.on.push(...(await measure(store, `bon${block}`, tracing.port, warmup, Math.ceil(FILLS / BLOCKS))));
    spans = spans.concat(tracing.spans());
    tracing.reset();
  }
  const off = figures(samples.off);
  const on = figures(samples.on);
  console.log(`  tracing off (no-op port):        p50 ${ms(off.p50)} ms  p99 ${ms(off.p99)} ms  max ${ms(off.max)} ms  (n=${off.n})`);
  console.log(`  tracing on (in-memory exporter): p50 ${ms(on.p50)} ms  p99 ${ms(on.p99)} ms  max ${ms(on.max)} ms  (n=${on.n}, ${spans.length} spans)`);
  console.log(`  where it goes (median span, tracing on): store.record_fill ${ms(medianSpan(spans, 'store.record_fill'))} ms, store.record_intent (journal wait + insert) ${ms(medianSpan(spans, 'store.record_intent'))} ms`);
  // For scale: one round trip to the embedded database, nothing else.
  const trips = [];
  for (let i = 0; i < 500; i++) {
    const started = performance.now();
    await database.sql`select 1`;
    trips.push(performance.now() - started);
  }
  const trip = figures(trips);
  console.log(`  one store round trip (select 1):  p50 ${ms(trip.p50)} ms  p99 ${ms(trip.p99)} ms`);
} finally {
  await tracing.shutdown();
  await database.close();
  rmSync(work, { recursive: true, force: true });
}
