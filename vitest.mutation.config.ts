import { defineConfig } from 'vitest/config';

// The grid tests that Stryker (stryker.config.mjs) runs against each mutant of grid-math.ts and
// grid.machine.ts: the fast ones only (a few seconds together). The property tests also cover the
// grid but take ~30 s a run, too slow to repeat for hundreds of mutants.
export default defineConfig({
  test: {
    include: ['test/machines/grid.machine.test.ts', 'test/machines/transition-table.test.ts', 'test/unit/grid-math.test.ts'],
    testTimeout: 60_000,
  },
});
