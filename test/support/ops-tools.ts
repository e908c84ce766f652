// The Debian tools the ops stack's tests run: `prometheus` (package prometheus, as promtool) and
// `yamllint` (package yamllint). As for promtool (test/support/promtool.ts): a user's clone without
// them skips those tests with a visible reason; CI (CI or REQUIRE_SHARED set) fails instead.
// .ci/run installs both.
import { spawnSync } from 'node:child_process';

function find(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

const required = (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') || process.env.REQUIRE_SHARED === '1';

/** The path of `command` on PATH, or undefined (a SKIP warning; an error in CI) with `why` as the reason. */
function tool(command: string, why: string): string | undefined {
  const path = find(command);
  if (path === undefined) {
    const reason = `${command} not found on PATH (${why})`;
    if (required) throw new Error(`CI or REQUIRE_SHARED is set but ${reason}`);
    console.warn(`SKIP: ${reason}`);
  }
  return path;
}

export const prometheusSkipReason = 'prometheus not found on PATH (Debian: apt-get install prometheus): the real-Prometheus test of the ops stack is skipped';
export const yamllintSkipReason = 'yamllint not found on PATH (Debian: apt-get install yamllint): the YAML lint of ops/ is skipped';

export const prometheus = tool('prometheus', 'Debian: apt-get install prometheus: the real-Prometheus test of the ops stack is skipped');
export const yamllint = tool('yamllint', 'Debian: apt-get install yamllint: the YAML lint of ops/ is skipped');
