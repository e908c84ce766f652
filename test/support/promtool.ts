// `promtool check metrics`: Prometheus' own lint of an exposition (Debian package `prometheus`).
// A user's clone without promtool skips the tests that need it with a visible reason; CI (CI or
// REQUIRE_SHARED set) fails instead, as for ../shared (test/shared.ts). .ci/run installs it.
import { spawnSync } from 'node:child_process';

function findPromtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

export const promtool = findPromtool();
export const promtoolSkipReason = 'promtool not found on PATH (Debian: apt-get install prometheus): the Prometheus lint of /metrics is skipped';

const required = (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') || process.env.REQUIRE_SHARED === '1';
if (promtool === undefined) {
  if (required) throw new Error(`CI or REQUIRE_SHARED is set but ${promtoolSkipReason}`);
  console.warn(`SKIP: ${promtoolSkipReason}`);
}

/** What `promtool check metrics` says of `exposition`: its exit code and every line it wrote (a problem each). */
export function checkMetrics(exposition: string): { readonly code: number | null; readonly problems: string[] } {
  if (promtool === undefined) throw new Error(promtoolSkipReason);
  const run = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw run.error;
  const problems = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { code: run.status, problems };
}
