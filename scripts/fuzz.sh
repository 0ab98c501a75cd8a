#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s).
# The seed corpora (testdata/fuzz/…) already run in `make test`; this digs
# further. Targets are discovered, so a new Fuzz function is included.
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
cd "$(dirname "$0")/.."
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./data/' | sort | while read -r f; do
  pkg=./$(dirname "${f#./}")
  # The module the package is in (abi, sdk, … are modules of their own).
  mod=$pkg
  while [ "$mod" != "." ] && [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $fn ($fuzztime)"
    rel=${pkg#"$mod"}
    (cd "$mod" && go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "./${rel#/}")
  done
done
