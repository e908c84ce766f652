// Invariant 8 of the project's issue: a backtest split at any candle(s), persisted as JSON
// (JSON.stringify, then JSON.parse in what could be a new process) and continued with
// BacktestSession.resume, reports exactly what one uninterrupted run reports (deep equal, every
// float bit for bit). Scenarios: scenarios.ts.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BacktestSession, runBacktest, type BacktestCheckpoint } from '../../src/actors/backtest/backtest.js';
import { sliceCandles } from '../../src/adapters/feed/candles.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { hasShared, sharedSkipReason } from '../shared.js';
import { randomScenario, realScenario, type Scenario } from './scenarios.js';

/** 1..3 split points as fractions of the series: candle k = floor(f * (n + 1)), from 0 (right after the start) to n. */
const splits = fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 3 }).map((ks) => ks.sort((a, b) => a - b).map((k) => k / 1000));

async function resumedRunAgrees(s: Scenario, fractions: readonly number[]): Promise<void> {
  const n = s.candles.length;
  const whole = await runBacktest(parseGridConfig(s.raw), s.candles);

  const cuts = [...new Set(fractions.map((f) => Math.min(n, Math.floor(f * (n + 1)))))];
  let config = parseGridConfig(s.raw);
  let session = await BacktestSession.start(config, s.candles.open[0]!, s.candles.time[0]!);
  let done = 0;
  try {
    for (const cut of cuts) {
      await session.feed(sliceCandles(s.candles, done, cut));
      done = cut;
      const saved = JSON.stringify(session.checkpoint());
      session.close();
      // a new process: the configuration read again, the checkpoint parsed from its JSON
      config = parseGridConfig(JSON.parse(JSON.stringify(s.raw)));
      session = BacktestSession.resume(config, JSON.parse(saved) as BacktestCheckpoint);
    }
    await session.feed(sliceCandles(s.candles, done, n));
    expect(session.report()).toEqual(whole);
  } finally {
    session.close();
  }
}

describe('8. checkpoint and resume', () => {
  test('a run split at random candles and resumed from JSON checkpoints reports the same as one run', async () => {
    await fc.assert(fc.asyncProperty(randomScenario(200), splits, resumedRunAgrees), { numRuns: 200 });
  });

  describe.skipIf(!hasShared)(hasShared ? 'real candles (../shared/data)' : `real candles: SKIPPED, ${sharedSkipReason}`, () => {
    test('windows of the real candle files, split and resumed', async () => {
      await fc.assert(fc.asyncProperty(realScenario(300, 2000), splits, resumedRunAgrees), { numRuns: 30 });
    });
  });
});
