// Rebuilding a grid from its event journal (src/actors/recovery/grid-rebuild.ts) gives the grid the live
// actor has: for generated grids and price paths (scenarios.ts), with lifecycle commands (PAUSE,
// RESUME, STOP with and without selling, FAULT, START again) sent at random candles, the grid runs
// through the production runtime (startGridRuntime with its journal on, a paper exchange, a
// virtual clock; the backtest's candle walk), and at random points and at the end the journal is
// replayed on a new grid actor: its state, its whole context (levels, slots, cycles, position,
// profit, deferred orders...) and its live orders must be the live runtime's.
import fc from 'fast-check';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { rebuildFromJournal } from '../../src/actors/recovery/grid-rebuild.js';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { VirtualClock } from '../../src/actors/backtest/virtual-clock.js';
import { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig, type GridConfig } from '../../src/config/grid-config.js';
import { planStart, reachedTrigger } from '../../src/machines/grid-math.js';
import type { GridEvent } from '../../src/machines/grid.machine.js';
import { randomScenario, type Scenario } from './scenarios.js';

type Command = 'PAUSE' | 'RESUME' | 'STOP' | 'STOP_SELL' | 'FAULT' | 'START';
const commandEvent = (command: Command, price: number): GridEvent => {
  switch (command) {
    case 'STOP':
      return { type: 'STOP' };
    case 'STOP_SELL':
      return { type: 'STOP', sellBase: true };
    case 'FAULT':
      return { type: 'FAULT', reason: 'a dependency gave up' };
    case 'START':
      return { type: 'START', price };
    default:
      return { type: command };
  }
};

/** Commands after candle floor(at * n), and the candles after which the journal is replayed. */
const commands = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), command: fc.constantFrom<Command>('PAUSE', 'RESUME', 'STOP', 'STOP_SELL', 'FAULT', 'START') }), { maxLength: 6 });
const checkpoints = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 });

const settle = (): Promise<void> => nextMacrotask();

/** The rebuilt grid agrees with the live one: state, context and live orders. */
async function expectRebuildAgrees(store: MemoryStore, config: GridConfig, runtime: GridRuntime, where: string): Promise<void> {
  await runtime.journalFlushed();
  const rebuilt = rebuildFromJournal(await store.journal(config.id));
  expect(rebuilt, where).toBeDefined();
  const live = runtime.actor.getSnapshot();
  const grid = rebuilt!.snapshot.grid as typeof live;
  expect(grid.value, where).toEqual(live.value);
  expect(grid.context, where).toEqual(live.context);
  expect(rebuilt!.restartOrders.map((order) => order.input.intent.clientOrderId).sort(), where).toEqual([...runtime.orders.keys()].sort());
}

async function rebuildAgrees(s: Scenario, plan: ReadonlyArray<{ at: number; command: Command }>, checks: readonly number[]): Promise<void> {
  const config = parseGridConfig(s.raw);
  const { open, high, low, close, time } = s.candles;
  const n = s.candles.length;
  const clock = new VirtualClock(time[0]!);
  const exchange = new PaperExchange({
    market: { symbol: config.symbol, base: 'BASE', quote: 'QUOTE', ...config.market },
    fees: config.fees,
    balance: planStart(config, open[0]!).balance,
    now: () => clock.now(),
    keepFills: false,
  });
  exchange.setPrice(open[0]!);
  const store = new MemoryStore();
  const runtime = startGridRuntime({ config, exchange, store, clock, journal: true });
  try {
    let armed = config.stopLoss !== undefined || config.takeProfit !== undefined;
    const stepTo = async (target: number): Promise<void> => {
      while (exchange.step(target)) await settle();
    };
    // The backtest's walk: orders at a trigger's price fill first, then the grid is told.
    const walkTo = async (target: number): Promise<void> => {
      const kind = armed ? reachedTrigger(config, target) : undefined;
      if (kind !== undefined && reachedTrigger(config, exchange.lastPrice) !== kind) {
        await stepTo(config[kind]!);
        armed = false;
        runtime.send({ type: 'PRICE_TRIGGER', trigger: kind });
        await settle();
      }
      await stepTo(target);
    };
    runtime.send({ type: 'START', price: open[0]! });
    await settle();
    const commandsAfter = (k: number) => plan.filter(({ at }) => Math.floor(at * n) === k);
    const checksAfter = new Set(checks.map((f) => Math.floor(f * n)));
    for (let i = 0; i < n; i++) {
      if (i > 0) await walkTo(open[i]!);
      const up = close[i]! >= open[i]!;
      await walkTo(up ? low[i]! : high[i]!);
      await walkTo(up ? high[i]! : low[i]!);
      await walkTo(close[i]!);
      for (const { command } of commandsAfter(i)) {
        runtime.send(commandEvent(command, exchange.lastPrice));
        await settle();
      }
      if (checksAfter.has(i)) await expectRebuildAgrees(store, config, runtime, `after candle ${i}`);
    }
    await expectRebuildAgrees(store, config, runtime, 'at the end');
  } finally {
    runtime.stop();
  }
}

describe('rebuild from the event journal', () => {
  test('replaying the journal of a run gives the live grid: state, context, live orders', async () => {
    await fc.assert(fc.asyncProperty(randomScenario(150), commands, checkpoints, rebuildAgrees), { numRuns: 150 });
  }, 120_000);
});
