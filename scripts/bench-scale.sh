#!/usr/bin/env bash
# The catalog at scale (issue 15; docs/benchmarks.md "The catalog at
# scale"): in-process gateway benchmarks over 10, 1,000 and 10,000 APIs × 5
# operations, pinned to one core with taskset when there is one, then the
# revocation test over a real SQLite catalog and the gateway on loopback.
# Bounded: each step has a timeout; the whole run is well under 10 minutes
# on an idle 2-core machine. Environment:
#   GATEHOUSE_SCALE_MAX   largest catalog of the benchmarks (10000)
#   GATEHOUSE_SCALE_APIS  catalog of the revocation test (3000)
#   GATEHOUSE_SCALE_APPLY APIs of the apply/export document (10000)
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEHOUSE_SCALE_MAX="${GATEHOUSE_SCALE_MAX:-10000}"
export GATEHOUSE_SCALE_APIS="${GATEHOUSE_SCALE_APIS:-3000}"
export GATEHOUSE_SCALE_APPLY="${GATEHOUSE_SCALE_APPLY:-10000}"
GO="${GO:-go}"
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin=(taskset -c 0)
fi
echo "== load: $(uptime)"
echo "== req/s through the last API, first build, equal-config reload, RSS (GOMAXPROCS=1${pin:+, ${pin[*]}})"
GOMAXPROCS=1 "${pin[@]}" "$GO" test -run '^$' -bench '^BenchmarkCatalogScale$' -benchtime 20000x -count 1 -timeout 5m ./host/gateway/
echo "== snapshot build: full and one API changed"
"$GO" test -run '^$' -bench '^BenchmarkSnapshotBuild$' -benchtime 3x -benchmem -count 1 -timeout 5m ./host/gateway/
echo "== change to served: revocation and policy change, ${GATEHOUSE_SCALE_APIS} APIs, real SQLite, loopback"
"$GO" test -count=1 -v -run '^TestRevocationAtScale$' -timeout 8m ./host/catalogsource/ 2>&1 | grep -E 'scale_test|load_ms|^(ok|FAIL|---)'
echo "== control plane: apply, no-change re-apply, one API changed, export (JSON, YAML), OpenAPI import/re-import of 1,000 operations; ${GATEHOUSE_SCALE_APPLY} APIs, real SQLite, admin API on loopback (ms)"
"$GO" test -run '^$' -bench '^BenchmarkApplyScale$' -benchtime 1x -count 1 -timeout 5m ./catalog/adminapi/ 2>&1 |
	grep -E '^(BenchmarkApplyScale|ok|FAIL|---)' | tr '\t' '\n' | sed -E 's/^ +//' | grep -v '^$'
echo "== load: $(uptime)"
