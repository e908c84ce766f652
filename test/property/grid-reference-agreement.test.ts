// Invariant 9 of the project's issue, "a second, independent implementation agrees": the report
// of the production engine (XState actors on the paper exchange, runBacktest) equals the report
// of test/reference/grid-reference.ts (one plain loop written from the spec alone) on random
// grids and paths and on windows of the real candles: counts, levels and `stopped` exactly,
// every other number within 1e-6. Scenarios: scenarios.ts.
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { runBacktest, type BacktestReport } from '../../src/actors/backtest/backtest.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { referenceBacktest, type ReferenceGridConfig, type ReferenceReport } from '../reference/grid-reference.js';
import { hasShared, sharedSkipReason } from '../shared.js';
import { check } from './harness.js';
import { edgyScenario, randomScenario, realScenario, type EdgyScenario, type Scenario } from './scenarios.js';

const TOLERANCE = 1e-6;
/** Report fields that count things: equal exactly. */
const EXACT = new Set(['candles', 'fills.buy', 'fills.sell', 'roundTrips', 'skippedOrders', 'openOrders.buy', 'openOrders.sell', 'stopped']);

/** Every difference between the two reports, one line each. */
function differences(ours: unknown, reference: unknown, path = ''): string[] {
  if (typeof ours === 'number' && typeof reference === 'number') {
    const exact = EXACT.has(path) || path.startsWith('levels');
    const same = exact ? ours === reference : Math.abs(ours - reference) <= TOLERANCE;
    return same ? [] : [`${path}: engine ${ours}, reference ${reference}${exact ? '' : ` (differ by ${ours - reference})`}`];
  }
  if (ours !== null && reference !== null && typeof ours === 'object' && typeof reference === 'object') {
    const keys = new Set([...Object.keys(ours), ...Object.keys(reference)]);
    return [...keys].flatMap((key) =>
      differences((ours as Record<string, unknown>)[key], (reference as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`),
    );
  }
  return ours === reference ? [] : [`${path}: engine ${JSON.stringify(ours)}, reference ${JSON.stringify(reference)}`];
}

async function engineAgreesWithReference(s: Scenario): Promise<void> {
  const ours: BacktestReport = await runBacktest(parseGridConfig(s.raw), s.candles);
  const reference: ReferenceReport = referenceBacktest(s.raw, s.candles);
  const diff = differences(ours, reference);
  check(diff.length === 0, `the engine and the reference disagree:\n  ${diff.join('\n  ')}`);
}

async function sameVerdict({ raw, candles }: EdgyScenario): Promise<void> {
  let reference: ReferenceReport | Error;
  try {
    reference = referenceBacktest(raw as unknown as ReferenceGridConfig, candles);
  } catch (error) {
    reference = error as Error;
  }
  let ours: BacktestReport | Error;
  try {
    ours = await runBacktest(parseGridConfig(raw), candles);
  } catch (error) {
    ours = error as Error;
  }
  const verdict = (x: unknown) => (x instanceof Error ? `rejected (${x.message.replace(/\s+/g, ' ')})` : 'accepted');
  check(ours instanceof Error === reference instanceof Error, `engine ${verdict(ours)}, reference ${verdict(reference)}`);
  if (ours instanceof Error) check(ours instanceof ConfigError, `the engine failed with ${ours.name}, not a ConfigError: ${ours.message}`);
  else {
    const diff = differences(ours, reference);
    check(diff.length === 0, `the engine and the reference disagree:\n  ${diff.join('\n  ')}`);
  }
}

describe('9. the engine agrees with the independent reference implementation', () => {
  test('random grids on random paths', async () => {
    await fc.assert(fc.asyncProperty(randomScenario(400), engineAgreesWithReference), { numRuns: 400 });
  });

  test('configurations near the start-time rules: accepted and rejected alike, then the same report', async () => {
    await fc.assert(fc.asyncProperty(edgyScenario, sameVerdict), { numRuns: 1000 });
  });

  describe.skipIf(!hasShared)(hasShared ? 'real candles (../shared/data)' : `real candles: SKIPPED, ${sharedSkipReason}`, () => {
    test('random grids on windows of the real candle files', async () => {
      await fc.assert(fc.asyncProperty(realScenario(300, 2000), engineAgreesWithReference), { numRuns: 80 });
    });
  });
});
