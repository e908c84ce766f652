// Crash at every step: the bot never loses an order and never places one twice, killed or not.
//
// What it proves. The live runtime (GridService on a grid and its order actors, a MemoryStore
// whose data outlives each process, a PaperExchange behind a fake LiveSession) runs a scenario in
// process (crash-sim.ts), and is killed at one I/O boundary (crash-gate.ts): before or after a
// store write or read, an exchange request, or an own-order event reaching it. The dead process's
// pending and later calls never settle and its actors stop; a new GridService starts through the
// real recovery (GridService.launch) on the same store data and the same exchange, and the price
// path goes on. At rest at the end (crash-invariants.ts): no client order id sent twice, never two
// open orders at one level, every open order of the grid known to the recovered grid (and none
// reported unknown by the recovery), every fill stored once and booked by its order, the grid's
// fill counts the exchange's, one order on every level but one, the store's open orders the
// exchange's, and, when the market waited for the restart, everything as in the same run
// without crashes.
//
// 1. Scenarios crashed at every boundary in turn, before and after: the fixed scenario (5 levels;
//    a partial fill; buys and sells filled both ways) with every request taking effect at once,
//    and with store writes taking effect two turns late (a write slower than a read); and a rising
//    market that does not wait for the bot to recover.
// 2. Generated scenarios (fast-check, seeded): grids of 5 to 9 levels, price paths in and out of
//    the range, partial fills, store latency and jitter (queries out of order), up to three
//    crashes anywhere (in a recovery too), the market walking on while the bot is down or not
//    waiting for it to rest after a fill, and restarts of another build (the grid rebuilt from its
//    event journal). CRASH_SIM_RUNS raises the number of scenarios (default 200), CRASH_SIM_SEED
//    picks another seed.
//
// Known windows of the current code are marked (test.fails): they must fail now, and pass once
// fixed (then drop the mark). See WINDOW_1 to WINDOW_3 and ENUMERATED.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Boundary } from './crash-gate.js';
import { brokenInvariants } from './crash-invariants.js';
import { marketWaits, simulate, type CrashScenario } from './crash-sim.js';

// The windows the current code has, each with what breaks (the boundaries below name them).
/**
 * Window 1, "a replayed fill dropped while the order records its intent": an order whose request
 * was under way when the grid was saved is started over from its intent, in `recording`, which
 * ignores FILL; the recovery replays the order's stored fills at once. When the store answers the
 * read (fillsOf) before the write (recordIntent), the fills are dropped, and nothing delivers them
 * again (the catch-up skips fills the store has). The order waits in `open` forever: its counter-
 * order is never placed (a level lost), the grid's fill counts are short, or the start buy never
 * completes (the grid stays in buyingBase, and the orders it had placed are reported unknown).
 */
const WINDOW_1 = 'window 1, a replayed fill dropped';
/**
 * Window 2, "the grid saved after the orders it led to": the grid is saved before its START (idle)
 * and next only after the start buy was sent. A crash in between restores the idle grid: the
 * recovery's catch-up delivers the start buy's fill to no order ("fill for an order this grid
 * does not track") before START is sent again (after the reconcile), the fill is stored, so
 * never delivered again, and the restarted start buy waits in `open` forever (buyingBase).
 */
const WINDOW_2 = 'window 2, the grid saved after its start buy';
/**
 * Window 3, "an order ended during the recovery reported unknown": the recovery's report of
 * unknown orders compares the open orders fetched when the launch began with the books after the
 * reconcile, so an order of the grid that filled (and was booked) while the recovery ran is logged
 * as "open orders with this grid's id that its books do not know" (the books are right; the
 * report is not).
 */
const WINDOW_3 = 'window 3, an order ended during the recovery reported unknown';

interface Enumerated {
  readonly scenario: CrashScenario;
  /** Boundaries where the current code breaks an invariant, by window: marked test.fails until fixed. */
  readonly known: Readonly<Record<string, readonly string[]>>;
}

/** Levels 48,000 49,000 50,000 51,000 52,000; start at 50,000. The buy at 49,000 fills in two halves, its sell at 50,000 fills (a round trip), the sell at 51,000 fills, its buy at 50,000 fills. */
const FIXED: CrashScenario = { levels: 5, path: [48_525, 50_525, 51_575, 49_575], splits: [0], walkWhileDown: false, storeWriteLatency: 0, jitter: [] };

const ENUMERATED: Record<string, Enumerated> = {
  'the fixed scenario, requests taking effect at once': { scenario: FIXED, known: {} },
  'the fixed scenario, store writes taking effect two turns late (a write slower than a read)': {
    scenario: { ...FIXED, storeWriteLatency: 2 },
    known: {
      [WINDOW_1]: [
        'after #13 store.recordFill T1 bbcs_m1',
        'before #14 store.recordOrderUpdate bbcs_m1 open',
        'after #14 store.recordOrderUpdate bbcs_m1 open',
        'before #15 store.appendEvents ORDER.FILLED',
        'after #15 store.appendEvents ORDER.FILLED',
        'before #16 store.recordIntent bbcs_3s1',
        'after #16 store.recordIntent bbcs_3s1',
        'before #17 exchange.createLimitOrder bbcs_3s1',
        'after #17 exchange.createLimitOrder bbcs_3s1',
        'before #18 stream order bbcs_3s1 open',
        'after #18 stream order bbcs_3s1 open',
        'before #19 store.recordIntent bbcs_4s1',
        'after #19 store.recordIntent bbcs_4s1',
        'before #20 exchange.createLimitOrder bbcs_4s1',
        'after #20 exchange.createLimitOrder bbcs_4s1',
        'before #21 stream order bbcs_4s1 open',
        'after #21 stream order bbcs_4s1 open',
        'before #22 store.recordIntent bbcs_1b1',
        'after #22 store.recordIntent bbcs_1b1',
        'before #23 exchange.createLimitOrder bbcs_1b1',
        'after #23 exchange.createLimitOrder bbcs_1b1',
        'before #24 stream order bbcs_1b1 open',
        'after #24 stream order bbcs_1b1 open',
        'before #25 store.recordIntent bbcs_0b1',
        'after #25 store.recordIntent bbcs_0b1',
        'before #26 exchange.createLimitOrder bbcs_0b1',
        'after #26 exchange.createLimitOrder bbcs_0b1',
        'before #27 stream order bbcs_0b1 open',
        'after #27 stream order bbcs_0b1 open',
        'before #28 store.saveGridSnapshot',
        'after #35 store.recordFill T2 bbcs_1b1',
        'before #36 stream fill T3 bbcs_1b1',
        'after #36 stream fill T3 bbcs_1b1',
        'before #37 stream order bbcs_1b1 closed',
        'after #37 stream order bbcs_1b1 closed',
        'before #38 store.recordFill T3 bbcs_1b1',
        'after #38 store.recordFill T3 bbcs_1b1',
        'before #39 store.appendEvents ORDER.FILLED',
        'after #39 store.appendEvents ORDER.FILLED',
        'before #40 store.recordIntent bbcs_2s1',
        'after #40 store.recordIntent bbcs_2s1',
        'before #41 exchange.createLimitOrder bbcs_2s1',
        'after #41 exchange.createLimitOrder bbcs_2s1',
        'before #42 stream order bbcs_2s1 open',
        'after #42 stream order bbcs_2s1 open',
        'before #43 store.saveGridSnapshot',
        'after #47 store.recordFill T4 bbcs_2s1',
        'before #48 store.appendEvents ORDER.FILLED',
        'after #48 store.appendEvents ORDER.FILLED',
        'before #49 store.recordIntent bbcs_1b2',
        'after #49 store.recordIntent bbcs_1b2',
        'before #50 exchange.createLimitOrder bbcs_1b2',
        'after #50 exchange.createLimitOrder bbcs_1b2',
        'before #51 stream order bbcs_1b2 open',
        'after #51 stream order bbcs_1b2 open',
        'before #52 store.saveGridSnapshot',
        'after #65 store.recordFill T6 bbcs_2b2',
        'before #66 store.appendEvents ORDER.FILLED',
        'after #66 store.appendEvents ORDER.FILLED',
        'before #67 store.recordIntent bbcs_3s2',
        'after #67 store.recordIntent bbcs_3s2',
        'before #68 exchange.createLimitOrder bbcs_3s2',
        'after #68 exchange.createLimitOrder bbcs_3s2',
        'before #69 stream order bbcs_3s2 open',
        'after #69 stream order bbcs_3s2 open',
        'before #70 store.saveGridSnapshot',
      ],
      [WINDOW_2]: [
        'after #9 exchange.createMarketOrder bbcs_m1',
        'before #10 stream fill T1 bbcs_m1',
        'after #10 stream fill T1 bbcs_m1',
        'before #11 stream order bbcs_m1 closed',
        'after #11 stream order bbcs_m1 closed',
        'before #12 store.saveGridSnapshot',
      ],
    },
  },
  // Both sells fill while the bot recovers from a crash at the first: the market does not wait.
  'a rising market that does not wait, store latency jittered': {
    scenario: { levels: 5, path: [52_175], splits: [], walkWhileDown: false, storeWriteLatency: 1, jitter: [1, 1, 2, 3, 1], fillPause: 6 },
    known: {
      [WINDOW_1]: [
        'before #17 store.recordIntent bbcs_1b1',
        'after #17 store.recordIntent bbcs_1b1',
        'before #19 exchange.createLimitOrder bbcs_1b1',
        'after #19 exchange.createLimitOrder bbcs_1b1',
        'before #20 stream order bbcs_1b1 open',
        'after #20 stream order bbcs_1b1 open',
        'after #35 store.recordFill T2 bbcs_3s1',
        'before #36 store.appendEvents ORDER.FILLED',
        'after #36 store.appendEvents ORDER.FILLED',
        'before #39 store.saveGridSnapshot',
      ],
      [WINDOW_2]: [
        'after #9 exchange.createMarketOrder bbcs_m1',
        'before #10 stream fill T1 bbcs_m1',
        'after #10 stream fill T1 bbcs_m1',
        'before #11 stream order bbcs_m1 closed',
        'after #11 stream order bbcs_m1 closed',
        'before #12 store.saveGridSnapshot',
      ],
      [WINDOW_3]: [
        'before #33 stream fill T2 bbcs_3s1',
        'after #33 stream fill T2 bbcs_3s1',
        'before #34 stream order bbcs_3s1 closed',
        'after #34 stream order bbcs_3s1 closed',
      ],
    },
  },
};

for (const [name, { scenario, known }] of Object.entries(ENUMERATED)) {
  describe(`crashed at every boundary: ${name}`, async () => {
    const uninterrupted = await simulate(scenario, []);
    const windowOf = new Map(Object.entries(known).flatMap(([window, boundaries]) => boundaries.map((boundary) => [boundary, window] as const)));

    test('without a crash it keeps every invariant', () => {
      expect(uninterrupted.processes).toBe(1);
      expect(brokenInvariants(uninterrupted)).toEqual([]);
    });

    for (const [index, label] of uninterrupted.boundaries.entries()) {
      for (const when of ['before', 'after'] as const) {
        const boundary = `${when} #${index + 1} ${label}`;
        const window = windowOf.get(boundary);
        (window ? test.fails : test)(`${boundary}${window ? ` (known: ${window}; fails until fixed)` : ''}`, async () => {
          const run = await simulate(scenario, [{ call: index + 1, when }]);
          expect(run.processes, 'the crash happened, and one recovery').toBe(2);
          expect(brokenInvariants(run, marketWaits(scenario) ? uninterrupted : undefined)).toEqual([]);
        });
      }
    }
  });
}

/** Prices on a 50 grid offset by 25: never on a level of any grid here. */
const price = fc.integer({ min: 0, max: 96 }).map((i) => 47_625 + 50 * i);
const inRange = fc.integer({ min: 0, max: 79 }).map((i) => 48_025 + 50 * i);
const scenarios: fc.Arbitrary<CrashScenario> = fc.record({
  levels: fc.integer({ min: 5, max: 9 }),
  // Ending inside the range, where the grid's shape is checked.
  path: fc.tuple(fc.array(price, { minLength: 1, maxLength: 5 }), inRange).map(([walk, end]) => [...walk, end]),
  splits: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
  storeWriteLatency: fc.integer({ min: 0, max: 3 }),
  jitter: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 }),
  walkWhileDown: fc.boolean(),
  fillPause: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  rebuildOnRestart: fc.boolean(),
});
/** Where to crash: shares of the uninterrupted run's boundaries (a later one may fall in a recovery). */
const crashPoints = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), when: fc.constantFrom<Boundary['when']>('before', 'after') }), { minLength: 1, maxLength: 3 });
const runs = { numRuns: Number(process.env.CRASH_SIM_RUNS ?? 200), seed: Number(process.env.CRASH_SIM_SEED ?? 9) };

describe('generated scenarios', () => {
  test('without crashes they keep every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        expect(brokenInvariants(await simulate(scenario, []))).toEqual([]);
      }),
      runs,
    );
  });

  // Fails while the known windows are open (the first generated scenarios hit them); a plain test once fixed.
  test.fails('crashed anywhere, up to three times, they keep every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, crashPoints, async (scenario, points) => {
        const uninterrupted = await simulate(scenario, []);
        const size = uninterrupted.boundaries.length;
        const crashes = points.map(({ at, when }) => ({ call: 1 + Math.floor(at * size), when })).sort((a, b) => a.call - b.call);
        const run = await simulate(scenario, crashes);
        // A market that does not wait for the bot (down, or busy recovering) changes what fills: then only the invariants.
        expect(brokenInvariants(run, marketWaits(scenario) ? uninterrupted : undefined)).toEqual([]);
      }),
      runs,
    );
  });
});
