#!/usr/bin/env bash
# Loopback load benchmark of the gateway against a bare tuned reverse proxy
# (cmd/benchload; see DESIGN.md, "Performance budget"). Installs wrk when it
# is missing, builds the harness into bin/ and runs it; arguments go to
# `benchload run` (e.g. -rounds 5 -duration 10s). Expects bin/gatehouse
# (`make build`; `make bench-load` does both). Results: a table on stdout and
# the raw per-round numbers as JSON in bench-out/. With 4 in -gateways (the
# default) it also runs gw-4-log, the 4-policy gateway with the request log
# on (a real writer to its DATA/logs.db), and reports its req/s ratio to
# gw-4 in the same rounds (target ≥ 0.97×); -log=false leaves it out.
#
# Each built-in policy alone: `scripts/bench.sh policies [flags]` runs
# `benchload policies` (one gateway per policy, in batches, each batch with
# its own bare proxy and gw-0 in the same interleaved rounds; see
# docs/benchmarks.md). From make: `BENCH_MODE=policies make bench-load`
# (or `make bench`); BENCH_MODE=all runs the default harness, then the
# policies mode, with the same arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench.sh: installing wrk" >&2
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update && apt-get install -y wrk
	elif command -v sudo >/dev/null 2>&1; then
		sudo apt-get update && sudo apt-get install -y wrk
	else
		echo "bench.sh: wrk is missing; install it as root (apt-get install -y wrk)" >&2
		exit 2
	fi
fi

mkdir -p bin
go build -o bin/benchload ./cmd/benchload
mode="${BENCH_MODE:-run}"
case "${1:-}" in
run | policies)
	mode="$1"
	shift
	;;
esac
case "$mode" in
run | policies) exec bin/benchload "$mode" "$@" ;;
all)
	bin/benchload run "$@"
	exec bin/benchload policies "$@"
	;;
*)
	echo "bench.sh: BENCH_MODE must be run, policies or all, not \"$mode\"" >&2
	exit 2
	;;
esac
