// The acceptance run of exchange connectivity: a grid in live mode trades a replayed day of real
// BTC/USDT candles against the BingX simulator, through the ccxt adapter and UNMODIFIED ccxt
// (REST and WebSocket), while the simulator injects 10% request errors, bursts of 429s, withheld
// order answers, partial fills and a dropped WebSocket every few (simulated) minutes.
//
// The simulator is the judge: its own order log must hold no client order id twice; every fill it
// made must be in the bot's books, and nothing else; at the end the bot's resting orders, fills and
// balances must agree exactly with the simulator's; the grid invariants are sampled throughout.
import { afterAll, describe, expect, test } from 'vitest';
import { ExchangeSession } from '../../src/actors/exchange/exchange-session.js';
import type { GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { runLiveTrading, type LiveGridReport } from '../../src/actors/trading/live-trading.js';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { ExchangeOrder, MarketInfo } from '../../src/adapters/exchange/port.js';
import { startBingxSimulator, type BingxSimulator } from '../../src/adapters/exchange/sim/bingx-sim-server.js';
import { readCandleFile } from '../../src/adapters/feed/candle-csv.js';
import { sliceCandles } from '../../src/adapters/feed/candles.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import type { Fill } from '../../src/domain/trading.js';
import { hasShared, sharedData, sharedSkipReason } from '../shared.js';
import { fillKey } from '../support/fill-key.js';
import { until } from '../support/until.js';

const DAY_FILE = 'binance_btcusdt_1m_2024-07-26_2024-08-25.csv';
/** 2024-07-27 UTC: 1440 one-minute candles, a 3.8% range. */
const DAY = { start: 1440, length: 1440 };
/**
 * Candles per second: the day takes 72 s of wall time. Faster, the bot's request pace (ccxt's
 * rate limiter: 100 ms per BingX request) lets the price cross levels back and forth before a
 * counter-order is out, and the day trades too little to prove much.
 */
const SPEED = Number(process.env.ACCEPTANCE_SPEED ?? 20);
/** A dropped WebSocket every 3 s of wall time (an hour of the day at speed 20): about 24 drops over the run. */
const DROP_WS_MS = 3_000;
const market: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 };
const fees = { maker: 0.0005, taker: 0.001 };
const START_BALANCE = { base: 0, quote: 20_000 };

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The grid invariants, as the exchange shows them: one order per level, buys below sells, one level empty. */
function checkBook(open: readonly ExchangeOrder[], levels: readonly number[]): string | undefined {
  const prices = open.map((order) => order.price!);
  if (new Set(prices).size !== prices.length) return `two resting orders at one level: ${prices.join(', ')}`;
  if (open.length > levels.length - 1) return `${open.length} resting orders for ${levels.length} levels`;
  const buys = open.filter((order) => order.side === 'buy').map((order) => order.price!);
  const sells = open.filter((order) => order.side === 'sell').map((order) => order.price!);
  if (buys.length > 0 && sells.length > 0 && Math.max(...buys) >= Math.min(...sells)) return `a buy at ${Math.max(...buys)} is not below a sell at ${Math.min(...sells)}`;
  const offGrid = prices.find((price) => !levels.some((level) => Math.abs(level - price) < 1e-6));
  if (offGrid !== undefined) return `a resting order at ${offGrid}, which is no grid level`;
  return undefined;
}

describe.skipIf(!hasShared)(`a live grid over a replayed day against the BingX simulator${hasShared ? '' : ` (skipped: ${sharedSkipReason})`}`, () => {
  test(
    'no order placed twice, every fill booked, orders, fills and balances agree exactly at the end',
    async () => {
      const day = sliceCandles(readCandleFile(sharedData(DAY_FILE)), DAY.start, DAY.start + DAY.length);
      const low = Math.min(...day.low);
      const high = Math.max(...day.high);
      const sim: BingxSimulator = await startBingxSimulator({
        port: 0,
        market,
        fees,
        balance: START_BALANCE,
        replay: { candles: day, speed: SPEED },
        faults: { error: 0.1, rateLimit: 0.03, rateLimitBurst: 5, timeoutAfterAccept: 0.02, holdMs: 1_500, partial: 0.2, dropWs: DROP_WS_MS, seed: 2024 },
      });
      cleanups.push(() => sim.close());

      const logs: Array<Record<string, unknown>> = [];
      const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
      const exchange = await CcxtExchange.create({ exchangeId: 'bingx', apiKey: 'sim-key', secret: 'sim-secret', exchangeUrl: sim.url, timeoutMs: 1_000 });
      // The tree's exchange child makes the session (a new one at each restart); the test reads the latest.
      let session!: ExchangeSession;
      const openSession = (): ExchangeSession => (session = new ExchangeSession({
        exchange,
        symbols: [market.symbol],
        own: true,
        since: Date.now() - 1_000,
        logger,
        seed: 7,
        staleAfterMs: 3_000,
        pollIntervalMs: 500,
        reconcileIntervalMs: 1_000,
        connectTimeoutMs: 3_000,
        backoff: { baseMs: 200, maxMs: 2_000 },
      }));

      const config = parseGridConfig({
        id: 'day',
        symbol: market.symbol,
        lower: Math.floor(low * 0.995),
        upper: Math.ceil(high * 1.005),
        levels: 24,
        quantityPerLevel: 0.002,
        fees,
      });
      const store = new MemoryStore();
      const stop = new AbortController();
      let runtime: GridRuntime | undefined;
      const running = runLiveTrading({ grids: [config], loadMarket: (symbol) => exchange.loadMarket(symbol), openSession, store, logger, signal: stop.signal, submitTimeoutMs: 3_000, statusIntervalMs: 5_000, onStarted: (_, started) => (runtime = started) });
      cleanups.push(() => stop.abort());

      // Sample the book all day long: the invariants must hold throughout, not just at the end.
      const violations: string[] = [];
      let samples = 0;
      const sampler = setInterval(() => {
        const plan = runtime?.actor.getSnapshot().context.plan;
        if (plan === undefined) return;
        samples++;
        const open = sim.exchange.allOrders().filter((order) => order.status === 'open');
        const problem = checkBook(open, plan.levels);
        if (problem !== undefined) violations.push(`sample ${samples}: ${problem}`);
      }, 200);
      cleanups.push(() => clearInterval(sampler));

      await sim.replayFinished;
      // The day is over: faults off, and let the bot settle every fill and order the day left.
      sim.setFaults(undefined);
      const simFills = (): readonly Fill[] => sim.exchange.fillLog;
      const unsettled = (): string[] => {
        const booked = new Set([...store.fills.values()].map(fillKey));
        const missing = simFills().filter((fill) => !booked.has(fillKey(fill))).map((fill) => `fill not booked: ${fillKey(fill)}`);
        const inFlight = [...(runtime?.orders ?? [])].filter(([, order]) => !order.getSnapshot().matches('open')).map(([id, order]) => `order ${id} in ${JSON.stringify(order.getSnapshot().value)}`);
        return [...missing, ...inFlight];
      };
      await until(() => unsettled().length === 0, 'the bot to book every fill and settle its orders', 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}:\n${unsettled().slice(0, 20).join('\n')}\nsession: ${JSON.stringify(session.status())}`);
      });
      clearInterval(sampler);
      stop.abort();
      const report = (await running).get('day') as LiveGridReport;

      // 1. No order placed twice: the simulator's own order log.
      const simOrders = sim.exchange.allOrders();
      const ids = simOrders.map((order) => order.clientOrderId);
      expect(new Set(ids).size).toBe(ids.length);
      // 2. Every fill the simulator made is in the bot's books, and nothing else is.
      const booked = [...store.fills.values()];
      expect(booked.map(fillKey).sort()).toEqual(simFills().map(fillKey).sort());
      // 3. The bot's resting orders are the simulator's.
      const resting = simOrders.filter((order) => order.status === 'open');
      expect(Object.entries(report.openOrders).sort()).toEqual(resting.map((order) => [order.clientOrderId, `${order.side}@${order.price}`]).sort());
      // 4. Balances: the start plus the booked fills is what the simulator holds.
      const base = booked.reduce((sum, fill) => sum + (fill.side === 'buy' ? fill.amount : -fill.amount), START_BALANCE.base);
      const quote = booked.reduce((sum, fill) => sum + (fill.side === 'buy' ? -1 : 1) * fill.price * fill.amount - fill.fee, START_BALANCE.quote);
      const balances = await sim.exchange.fetchBalance();
      expect(base).toBeCloseTo(balances['BTC']!.total, 9);
      expect(quote).toBeCloseTo(balances['USDT']!.total, 6);
      // 5. The grid invariants held in every sample, and the grid is still running.
      expect(violations).toEqual([]);
      expect(report.state).toEqual({ active: 'running' });

      // The day really traded, and the faults really happened.
      const calls = sim.calls;
      const figures = {
        candles: DAY.length,
        speed: SPEED,
        simOrders: simOrders.length,
        simFills: simFills().length,
        partialFills: simFills().length - new Set(simFills().map((fill) => fill.clientOrderId)).size,
        roundTrips: report.roundTrips,
        http500: calls.filter((call) => call.code === 100503).length,
        http429: calls.filter((call) => call.code === 429).length,
        streamsLost: logs.filter((line) => line['msg'] === String(line['msg']) && String(line['msg']).startsWith('exchange streams down')).length,
        samples,
      };
      console.log(`live day: ${JSON.stringify(figures)}`);
      if (process.env.ACCEPTANCE_DEBUG) {
        const counts = new Map<string, number>();
        for (const line of logs) counts.set(String(line['msg']), (counts.get(String(line['msg'])) ?? 0) + 1);
        console.log(JSON.stringify(report), [...counts]);
      }
      expect(figures.roundTrips).toBeGreaterThan(20);
      expect(figures.http500).toBeGreaterThan(5);
      expect(figures.http429).toBeGreaterThanOrEqual(5); // at least one burst of 5
      expect(figures.streamsLost).toBeGreaterThan(4);
      expect(figures.partialFills).toBeGreaterThan(0);
      // What it is doing, at a glance: a status line per grid, with the stream's state.
      const status = logs.filter((line) => line['msg'] === 'grid status').at(-1);
      expect(status).toMatchObject({ grid: 'day', state: { active: 'running' }, stream: expect.stringMatching(/^(connected|connecting|reconnecting)$/) as unknown });
    },
    240_000,
  );
});
