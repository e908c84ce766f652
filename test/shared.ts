// Locates ../shared (contracts, real candles, ccxt fixtures) beside the project.
// A user's fresh clone has no ../shared: tests that need it skip with a visible reason,
// except in CI where REQUIRE_SHARED=1 turns that skip into a failure.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const sharedDir = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../shared');
export const hasShared = existsSync(path.join(sharedDir, 'data'));
export const sharedSkipReason = `../shared not found at ${sharedDir}: tests on real candles and ccxt fixtures are skipped`;

if (!hasShared) {
  if (process.env.REQUIRE_SHARED === '1') {
    throw new Error(`REQUIRE_SHARED=1 but ${sharedSkipReason}`);
  }
  console.warn(`SKIP: ${sharedSkipReason}`);
}

export function sharedData(file: string): string {
  return path.join(sharedDir, 'data', file);
}
