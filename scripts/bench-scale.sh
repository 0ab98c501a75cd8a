#!/usr/bin/env bash
# The catalog at scale (issue 15; docs/benchmarks.md "The catalog at
# scale"). Bounded: each step has a timeout; the whole run is under 10
# minutes on an idle 2-core machine. Environment:
#   GATEHOUSE_SCALE_SIZES  catalogs of the served rows ("10 1000 10000")
#   GATEHOUSE_SCALE_SUBS   subscriptions in each (100000)
#   GATEHOUSE_SCALE_WRK    seconds of wrk per catalog (5)
#   GATEHOUSE_SCALE_WARM   seconds of wrk before it, reported apart (5)
#   GATEHOUSE_SCALE_MAX    largest catalog of the in-process build benchmark (10000)
#   GATEHOUSE_SCALE_APPLY  APIs of the apply/export document (10000)
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEHOUSE_SCALE_APPLY="${GATEHOUSE_SCALE_APPLY:-10000}"
GO="${GO:-go}"
sizes="${GATEHOUSE_SCALE_SIZES:-10 1000 10000}"
export GATEHOUSE_SCALE_SUBS="${GATEHOUSE_SCALE_SUBS:-100000}"
export GATEHOUSE_SCALE_WRK="${GATEHOUSE_SCALE_WRK:-5}"
export GATEHOUSE_SCALE_WARM="${GATEHOUSE_SCALE_WARM:-5}"
export GATEHOUSE_SCALE_MAX="${GATEHOUSE_SCALE_MAX:-10000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- served catalog (branch incremental): real SQLite catalog seeded with
# N APIs × 5 operations (a set-header policy each, subscription required)
# and GATEHOUSE_SCALE_SUBS subscriptions; the real gateway on loopback,
# polling the catalog; this process pinned to core 0 with GOMAXPROCS=1,
# wrk (1 thread, 32 connections) pinned to core 1. Per catalog: req/s
# through the last API, full read + build (median of 3, a new gateway on
# the warm engine), revocation and policy change served after (ms from
# the write to the first answer showing it), RSS after the first build.
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin=(taskset -c 0)
fi
command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
"$GO" test -c -o "$tmp/catalogsource.test" ./host/catalogsource/
echo "== load: $(uptime)"
echo "== served catalog: ${sizes} APIs × 5 operations, ${GATEHOUSE_SCALE_SUBS} subscriptions, real SQLite, loopback (GOMAXPROCS=1${pin:+, ${pin[*]}}, wrk on core 1)"
base=""
printf '%-7s %8s %6s %9s %9s %6s %11s %11s %11s %9s %s\n' APIs req/s ratio cold-req/s cpu-us/req ratio full-build revocation policy-chg RSS-MiB load
for n in $sizes; do
	out="$tmp/scale-$n.txt"
	builds=3
	if ! (cd host/catalogsource && GATEHOUSE_SCALE_APIS="$n" GATEHOUSE_SCALE_BUILDS="$builds" GOMAXPROCS=1 timeout 240 "${pin[@]}" \
		"$tmp/catalogsource.test" -test.run '^TestRevocationAtScale$' -test.v -test.count 1 -test.timeout 230s) >"$out" 2>&1; then
		echo "APIs=$n: FAILED"; tail -20 "$out"; continue
	fi
	rps=$(sed -nE 's/.*scale: apis=[0-9]+ subs=[0-9]+ req\/s=([0-9]+).*/\1/p' "$out" | head -1)
	full=$(sed -nE 's/.*full read\+build median of [0-9]+: ([^ ]+) .*/\1/p' "$out" | head -1)
	rev=$(sed -nE 's/.*revocation: served ([^ ]+) after.*/\1/p' "$out" | head -1)
	pol=$(sed -nE 's/.*policy change: served ([^ ]+) after.*/\1/p' "$out" | head -1)
	rss=$(sed -nE 's/.*rss_mib=([0-9]+) heap_inuse_mib=([0-9]+).*/\1 (heap \2)/p' "$out" | head -1)
	cold=$(sed -nE 's/.*warm-up req\/s=([0-9]+).*/\1/p' "$out" | head -1)
	cpu=$(sed -nE 's/.*cpu_us_per_req=([0-9.]+).*/\1/p' "$out" | head -1)
	[ -z "$base" ] && base="$rps" && cbase="$cpu"
	ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	cratio=$(awk -v a="$cpu" -v b="$cbase" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')
	printf '%-7s %8s %6s %9s %9s %6s %11s %11s %11s %9s %s\n' "$n" "$rps" "${ratio}x" "${cold:--}" "${cpu:--}" "${cratio}x" "$full" "$rev" "$pol" "$rss" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "   (req/s after GATEHOUSE_SCALE_WARM s of warm-up traffic; cold-req/s is that warm-up: the heap's first growth faults its pages in; cpu-us/req is this process's CPU per request, its ratio the first catalog's ÷ this one's, robust to a shared core)"
echo "   (ratio: req/s ÷ the first catalog's; target at 10,000 APIs ≥ 0.95×, policy change and revocation ≤ 1 s, full build ≤ 2 s, RSS ≤ 512 MiB)"

# --- in-process snapshot build (branch incremental): modules loaded, no
# catalog read; full (nothing reused) and incremental (one API changed),
# with allocations — the figures least disturbed by a loaded machine.
echo "== snapshot build in-process: full and one API changed"
timeout 300 "$GO" test -run '^$' -bench '^BenchmarkSnapshotBuild$' -benchtime 3x -benchmem -count 1 -timeout 5m ./host/gateway/ | grep -E '^Benchmark|^ok'
echo "== one call through the last API in process (real SQLite catalog, ${GATEHOUSE_SCALE_SUBS} subscriptions, no sockets; live heap after the build, CPU per call, GC marking per call)"
timeout 300 "$GO" test -run '^$' -bench '^BenchmarkServedScale$' -benchtime 100000x -cpu 1 -benchmem -count 1 -timeout 5m ./host/catalogsource/ | grep -E '^Benchmark|^ok'
echo "== catalog mapping in memory (what a patched load maps after its reads)"
timeout 120 "$GO" test -run '^$' -bench '^BenchmarkMapRaw$' -benchtime 3x -count 1 ./host/catalogsource/ | grep -E '^Benchmark|^ok'

# --- control plane (branch apply): the admin API on loopback over a real
# SQLite file, the way the CLI calls it.
echo "== control plane: apply, no-change re-apply, one API changed, export (JSON, YAML), OpenAPI import/re-import of 1,000 operations; ${GATEHOUSE_SCALE_APPLY} APIs, real SQLite, admin API on loopback (ms)"
timeout 600 "$GO" test -run '^$' -bench '^BenchmarkApplyScale$' -benchtime 1x -count 1 -timeout 5m ./catalog/adminapi/ 2>&1 |
	grep -E '^(BenchmarkApplyScale|ok|FAIL|---)' | tr '\t' '\n' | sed -E 's/^ +//' | grep -v '^$'
echo "== load: $(uptime)"
