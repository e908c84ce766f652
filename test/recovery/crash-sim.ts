// An in-process simulation of the live runtime that can crash at any I/O boundary.
//
// The bot process is a GridService (the real start and recovery path, GridService.launch) on a
// store and an exchange session reached through a CrashGate: the store is a MemoryStore whose data
// outlives every process, the exchange a PaperExchange behind a fake LiveSession. The scenario
// walks the exchange's price along a path, one fill at a time; after each the bot is let come to
// rest (every call of the live process answered, nothing left to do), or only a few turns when
// the market does not wait (`fillPause`). When the process dies at a crash point, its actors are
// stopped (GridService.stop: nothing of it goes on); when it is stopped gracefully, its actors
// stop and what it had under way goes through until it is quiet. Then a new GridService starts on
// the same store data and the same exchange: that is the recovery under test. Then the path goes on.
// Nothing depends on wall-clock time: the processes advance by macrotask turns, Date is faked.
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { vi } from 'vitest';
import { GridService } from '../../src/actors/trading/grid-service.js';
import type { GridActor, GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import type { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { GRID_MACHINE_VERSION } from '../../src/machines/grid.machine.js';
import { createLogger } from '../../src/adapters/telemetry/logger.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { BotProcess, CrashGate, type Boundary } from './crash-gate.js';

export interface CrashScenario {
  /** Grid lines between 48,000 and 52,000 (the start price is 50,000). */
  readonly levels: number;
  /** Prices the market walks to in turn. */
  readonly path: readonly number[];
  /** Which of the paper exchange's splitFill questions (0-based, in the order asked) fill half the order only. */
  readonly splits: readonly number[];
  /** Macrotask turns before a store write takes effect (a write slower than a read). */
  readonly storeWriteLatency: number;
  /** Further turns before each request takes effect, the k-th taking jitter[k % length] (a pool running queries out of order); empty: none. */
  readonly jitter: readonly number[];
  /** Macrotask turns the market waits after a fill before it moves on; unset: until the bot is at rest. */
  readonly fillPause?: number;
  /** Each restart is of another build: the saved snapshot is of another machine version, so the grid is rebuilt from its journal. */
  readonly rebuildOnRestart?: boolean;
  /** After a crash the market walks on to the current target before the bot starts again (fills nobody hears). */
  readonly walkWhileDown: boolean;
}

/** Whether the market waited for the bot whenever it was down or recovering: then crashes must change nothing at all. */
export function marketWaits(scenario: CrashScenario): boolean {
  return !scenario.walkWhileDown && scenario.fillPause === undefined;
}

/** A simulated run, at rest at the end of its path. */
export interface SimRun {
  readonly exchange: PaperExchange;
  readonly store: MemoryStore;
  /** Client ids sent as new orders, in order (the exchange saw each of these). */
  readonly sent: readonly string[];
  /** Each I/O boundary's label, in order. */
  readonly boundaries: readonly string[];
  /** Processes started (1 + crashes that happened). */
  readonly processes: number;
  /** The last process's grid at rest (undefined if it never traded). */
  readonly grid: ReturnType<GridActor['getSnapshot']> | undefined;
  /** The last process's live order actors at rest: state and what each has booked as filled. */
  readonly liveOrders: ReadonlyMap<string, { readonly state: string; readonly filled: number }>;
  /** Warnings and errors the processes logged. */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
  /** Moments two open orders of the grid rested at one price. */
  readonly doubledLevels: readonly string[];
  /** Why the run did not come to rest (a start refused, a process never quiet), if it did not. */
  readonly unrested: string | undefined;
}

export const GRID_ID = 'cs';
const storeWrites = /^store\.(record|save|append)/;
/** Macrotask turns with no call pending that count as at rest. */
const QUIET_TURNS = 3;
/** Macrotask turns after which a process that is never quiet counts as stuck. */
const STUCK_TURNS = 20_000;

/** Runs `scenario`, crashing the bot at each of `crashes` (boundaries numbered over the whole run). */
export async function simulate(scenario: CrashScenario, crashes: readonly Boundary[]): Promise<SimRun> {
  // Date only: the simulation's clock (the processes' own waits stay real, and none is due at rest).
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    return await simulateOnFakeDate(scenario, crashes);
  } finally {
    vi.useRealTimers();
  }
}

async function simulateOnFakeDate(scenario: CrashScenario, crashes: readonly Boundary[]): Promise<SimRun> {
  const config = parseGridConfig({ id: GRID_ID, symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: scenario.levels, quantityPerLevel: 0.01 });
  let asked = 0;
  const exchange = paperExchangeAt50k({ splitFill: (amount) => (scenario.splits.includes(asked++) ? amount / 2 : undefined) });
  const store = new MemoryStore();
  const { session, sent } = paperSession(exchange);
  const gate = new CrashGate(crashes, {
    latency: (label, request) => (storeWrites.test(label) ? scenario.storeWriteLatency : 0) + (scenario.jitter[request % scenario.jitter.length] ?? 0),
    // Every boundary at a time of its own (the store's and the exchange's timestamps are Date.now).
    onBoundary: () => vi.setSystemTime(Date.now() + 1),
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ format: 'json', level: 'warn', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const prefix = `bb${GRID_ID}_`;
  const doubledLevels: string[] = [];
  exchange.subscribe((event) => {
    if (event.type !== 'order' || event.order.status !== 'open') return;
    const atPrice = exchange.allOrders().filter((order) => order.status === 'open' && order.clientOrderId.startsWith(prefix) && order.price === event.order.price);
    if (atPrice.length > 1) doubledLevels.push(`${atPrice.map((order) => order.clientOrderId).join(' and ')} rest at ${event.order.price}`);
  });

  interface Incarnation {
    readonly bot: BotProcess;
    readonly service: GridService;
    runtime?: GridRuntime;
    refused?: string;
    /** Stopped gracefully, finishing what it had under way. */
    stopped?: boolean;
  }
  let processes = 0;
  const launch = (): Incarnation => {
    processes++;
    const bot = new BotProcess();
    const incarnation: Incarnation = {
      bot,
      service: new GridService({
        config,
        session: gate.sessionOf(bot, session),
        store: gate.storeOf(bot, store),
        logger,
        signal: new AbortController().signal,
        onStarted: (_, runtime) => (incarnation.runtime = runtime),
        // A save at each change, as the boundaries are counted: a delayed save would make them depend on timing (the kill tests run the default).
        snapshotDelayMs: 0,
      }),
    };
    incarnation.service.ready.catch((error: unknown) => (incarnation.refused = String(error)));
    incarnation.service.start();
    return incarnation;
  };
  /**
   * Lets the bot work until it is quiet (or only `turns` macrotask turns); a process that dies is
   * followed by the next one; undefined, or why it cannot come to rest (a start refused, stuck).
   */
  const work = async (walkOnTo: number | undefined, turns = Infinity): Promise<string | undefined> => {
    for (let quiet = 0, turn = 0; quiet < QUIET_TURNS && turn < turns; turn++) {
      await nextMacrotask();
      if (current.refused !== undefined) return `process ${processes} did not start: ${current.refused}`;
      if (turn > STUCK_TURNS) return `process ${processes} never came to rest`;
      if (current.bot.alive && current.bot.stopping && !current.stopped) {
        // SIGTERM: the actors stop at once; the calls under way (a snapshot save, say) go on.
        current.stopped = true;
        current.service.stop();
      }
      if (current.bot.alive) {
        quiet = current.bot.pending === 0 ? quiet + 1 : 0;
        if (!current.stopped || quiet < QUIET_TURNS) continue;
        current.bot.die(); // quiet after its stop: the process exits
      }
      current.service.stop();
      if (scenario.walkWhileDown && walkOnTo !== undefined) while (exchange.step(walkOnTo));
      const saved = store.gridSnapshots.get(GRID_ID);
      if (scenario.rebuildOnRestart && saved) saved.machineVersion = GRID_MACHINE_VERSION + 1;
      current = launch();
      quiet = 0;
    }
    return undefined;
  };

  let current = launch();
  let unrested = await work(undefined);
  for (const target of scenario.path) {
    if (unrested !== undefined) break;
    // One fill at a time, the bot at rest (or given `fillPause` turns) in between; at rest at the target.
    for (let filled = true; filled && unrested === undefined; ) {
      filled = exchange.step(target);
      unrested = await work(target, filled ? scenario.fillPause : undefined);
    }
  }
  // What the grid and its orders hold at rest, read before the process stops (stopping ends the order actors).
  const runtime = current.runtime;
  const liveOrders = new Map([...(runtime?.orders ?? [])].map(([clientOrderId, order]) => {
    const { value, context } = order.getSnapshot();
    return [clientOrderId, { state: String(value), filled: context.filled }];
  }));
  const grid = runtime?.actor.getSnapshot();
  current.service.stop();
  return { exchange, store, sent, boundaries: gate.labels, processes, grid, liveOrders, logs, doubledLevels, unrested };
}

