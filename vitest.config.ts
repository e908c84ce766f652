import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: a failing fast-check property shrinks for a while before it reports its counterexample.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // The JSON report feeds the closing summary line of .ci/run.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
