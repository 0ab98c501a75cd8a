#!/usr/bin/env bash
# Loopback load benchmark of the gateway against a bare tuned reverse proxy
# (cmd/benchload; see DESIGN.md, "Performance budget"). Installs wrk when it
# is missing, builds the harness into bin/ and runs it; arguments go to
# `benchload run` (e.g. -rounds 5 -duration 10s). Expects bin/gatehouse
# (`make build`; `make bench-load` does both). Results: a table on stdout and
# the raw per-round numbers as JSON in bench-out/. The gateways run as users
# run them (catalog mode, request log, metrics and trace context on), next
# to the bare proxy and Caddy's reverse_proxy (installed here with apt-get
# when missing; without it the caddy row is skipped with a loud line);
# gw-4-yaml and gw-4-nolog are extra rows (-extra=false leaves them out).
#
# Each built-in policy alone: `scripts/bench.sh policies [flags]` runs
# `benchload policies` (one gateway per policy, in batches, each batch with
# its own bare proxy and gw-0 in the same interleaved rounds; see
# docs/benchmarks.md). From make: `BENCH_MODE=policies make bench-load`
# (or `make bench`); BENCH_MODE=all runs the default harness, then the
# policies mode, with the same arguments.
#
# HTTP/2 over TLS and the TLS handshake rate: `scripts/bench.sh tls [flags]`
# runs `benchload tls` (h2load from Debian's nghttp2-client, installed here
# when missing; see docs/benchmarks.md). From make: `make bench-tls`.
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

if ! command -v caddy >/dev/null 2>&1; then
	echo "bench.sh: installing caddy (the Debian package) for the caddy row" >&2
	if [ "$(id -u)" -eq 0 ]; then
		apt-get install -y caddy || echo "bench.sh: could not install caddy: the caddy row will be SKIPPED" >&2
	elif command -v sudo >/dev/null 2>&1; then
		sudo apt-get install -y caddy || echo "bench.sh: could not install caddy: the caddy row will be SKIPPED" >&2
	else
		echo "bench.sh: caddy is missing and cannot be installed: the caddy row will be SKIPPED" >&2
	fi
fi

mode="${BENCH_MODE:-run}"
case "${1:-}" in
run | policies | tls)
	mode="$1"
	shift
	;;
esac

if [ "$mode" = tls ] && ! command -v h2load >/dev/null 2>&1; then
	echo "bench.sh: installing h2load (the Debian package nghttp2-client)" >&2
	if [ "$(id -u)" -eq 0 ]; then
		apt-get install -y nghttp2-client || { apt-get update && apt-get install -y nghttp2-client; }
	elif command -v sudo >/dev/null 2>&1; then
		sudo apt-get install -y nghttp2-client || { sudo apt-get update && sudo apt-get install -y nghttp2-client; }
	else
		echo "bench.sh: h2load is missing; install it as root (apt-get install -y nghttp2-client)" >&2
		exit 2
	fi
fi

mkdir -p bin
go build -o bin/benchload ./cmd/benchload
case "$mode" in
run | policies | tls) exec bin/benchload "$mode" "$@" ;;
all)
	bin/benchload run "$@"
	exec bin/benchload policies "$@"
	;;
*)
	echo "bench.sh: BENCH_MODE must be run, policies, tls or all, not \"$mode\"" >&2
	exit 2
	;;
esac
