// Mutation testing of the grid's pure core: `npm run test:mutation` (see docs/mutation-testing.md).
// Not part of `npm test`: a run takes minutes.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/machines/grid-math.ts', 'src/machines/grid.machine.ts'],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Each mutant runs only the tests that reached it.
  coverageAnalysis: 'perTest',
  // The machine is shared with other work: two test processes at most.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 97, low: 92, break: null },
};
