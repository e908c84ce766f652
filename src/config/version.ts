// The version /health reports: the package's, plus the build's git commit when the image sets one
// (env GIT_SHA, else BUILD_SHA), as semver build metadata: "0.1.0", or "0.1.0+abc1234" (a full
// 40-character sha is shortened to 7).
import { readFileSync } from 'node:fs';

/** The package version from package.json (beside src/ and dist/); "unknown" when it cannot be read. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `version`, with `+<sha>` from GIT_SHA or BUILD_SHA when set (only [0-9A-Za-z.-] kept; a hex sha of 8+ characters cut to 7). */
export function buildVersion(env: NodeJS.ProcessEnv = process.env, version: string = packageVersion()): string {
  const raw = (env.GIT_SHA || env.BUILD_SHA || '').trim();
  const sha = /^[0-9a-f]{8,}$/i.test(raw) ? raw.slice(0, 7) : raw.replace(/[^0-9A-Za-z.-]/g, '');
  return sha === '' ? version : `${version}+${sha}`;
}
