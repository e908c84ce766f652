#!/usr/bin/env bash
# Sets up a developer's clone: scripts/setup_dev.sh [--dry-run]
#
# 1. Checks git, Node (the version package.json's engines asks for) and npm (7 or newer: the lock
#    file is version 3).
# 2. npm ci: the exact dependencies of package-lock.json; its prepare step builds dist/ and installs
#    the git hooks.
# 3. Installs the git hooks (scripts/install-hooks.mjs: core.hooksPath=scripts/git-hooks) in case
#    npm ran with --ignore-scripts.
# 4. Reports the optional tools some tests use (they skip without them, CI has them): shellcheck,
#    promtool, a local Postgres (TEST_DATABASE_URL), docker.
# 5. Prints the next steps.
# --dry-run checks and prints what it would run, and runs nothing. Exit status: 0 ready, 1 a
# required tool is missing or too old or a step failed, 2 bad usage.
set -euo pipefail

usage() {
  echo "usage: $0 [--dry-run]" >&2
  exit 2
}

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run | -n) dry_run=1 ;;
    *) usage ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { echo "setup_dev: $*"; }
die() {
  echo "setup_dev: ERROR: $*" >&2
  exit 1
}
run() {
  if ((dry_run)); then
    say "would run: $*"
  else
    say "running: $*"
    "$@" || die "'$*' failed"
  fi
}

# version_at_least HAVE WANT: both MAJOR.MINOR[.PATCH]
version_at_least() {
  local have=$1 want=$2 i
  local -a h w
  IFS=. read -r -a h <<<"$have"
  IFS=. read -r -a w <<<"$want"
  for i in 0 1 2; do
    local a=${h[i]:-0} b=${w[i]:-0}
    a=${a%%[!0-9]*}
    b=${b%%[!0-9]*}
    ((10#${a:-0} > 10#${b:-0})) && return 0
    ((10#${a:-0} < 10#${b:-0})) && return 1
  done
  return 0
}

# ---- 1. Required tools ---------------------------------------------------------------------------
command -v git >/dev/null 2>&1 || die "git not found: install git"
say "git $(git --version | awk '{ print $3 }')"

command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20.19 or newer (https://nodejs.org, or nvm/fnm)"
node_version=$(node --version)
node_version=${node_version#v}
# The minimum from package.json's engines (">=20.19"), read without node so a broken node still gets a message.
node_min=$(sed -n 's/^[[:space:]]*"node":[[:space:]]*">=\([0-9.]*\)".*/\1/p' package.json | head -n 1)
node_min=${node_min:-20.19}
version_at_least "$node_version" "$node_min" || die "node $node_version is too old: btcbot needs $node_min or newer (package.json engines)"
say "node $node_version (needs >= $node_min)"

command -v npm >/dev/null 2>&1 || die "npm not found: it comes with Node.js"
npm_version=$(npm --version)
version_at_least "$npm_version" 7 || die "npm $npm_version is too old: the lock file needs npm 7 or newer"
say "npm $npm_version"

# ---- 2, 3. Dependencies and hooks ---------------------------------------------------------------
run npm ci --no-audit --no-fund
run node scripts/install-hooks.mjs

# ---- 4. Optional tools ---------------------------------------------------------------------------
optional() {
  local tool=$1 why=$2
  if command -v "$tool" >/dev/null 2>&1; then
    say "found $tool"
  else
    say "note: no $tool: $why"
  fi
}
optional shellcheck "the shellcheck test skips (Debian: apt-get install shellcheck)"
optional promtool "the /metrics lint tests skip (Debian: apt-get install prometheus)"
optional pg_dump "the backup/restore test skips (Debian: apt-get install postgresql-client; it also needs a server)"
optional docker "only needed for the Docker Compose stacks (docs/HOMESERVER.md)"
if [[ -z ${TEST_DATABASE_URL:-} ]]; then
  say "note: TEST_DATABASE_URL is not set: the store tests run on the embedded PGlite only"
fi

# ---- 5. Next steps ---------------------------------------------------------------------------------
if ((dry_run)); then
  say "dry run: nothing was run"
fi
cat <<'NEXT'
setup_dev: next steps
  npm test                         typecheck, lint, build and every test (slow: prefer one file)
  npx vitest run test/unit/...     one test file
  npm run lint                     eslint over the project
  npm start                        the bot in paper mode (examples/paper.yaml)
  docs/DEVELOPMENT.md              the git hooks, the secret scan and how to allow a fixture
NEXT
