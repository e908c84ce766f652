#!/usr/bin/env bash
# Applies .github/labels.yml to a GitHub repository with the GitHub CLI: creates each label or
# updates its color and description (gh label create --force). Labels not in the file are kept.
# The Labels workflow (.github/workflows/labels.yml) does the same from GitHub Actions.
#
#   gh auth login                        # once
#   scripts/apply_labels.sh              # the repository of the current directory
#   scripts/apply_labels.sh OWNER/REPO   # another one
set -euo pipefail
cd "$(dirname "$0")/.."

command -v gh >/dev/null || { echo "apply_labels: the GitHub CLI (gh) is needed: https://cli.github.com" >&2; exit 1; }
command -v node >/dev/null || { echo "apply_labels: node is needed (and npm ci run once, for the yaml package)" >&2; exit 1; }

repo_args=()
if [ $# -ge 1 ]; then repo_args=(--repo "$1"); fi

# One label per line: name<TAB>color<TAB>description (the yaml package parses the file).
node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parse } from "yaml";
  for (const label of parse(readFileSync(".github/labels.yml", "utf8"))) {
    console.log([label.name, label.color, label.description].join("\t"));
  }
' | while IFS=$'\t' read -r name color description; do
  gh label create "$name" --color "$color" --description "$description" --force "${repo_args[@]}"
  echo "label: $name"
done
