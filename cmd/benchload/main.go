// Command benchload is Gatehouse's loopback load benchmark: it measures the
// gateway with 0, 1 and 4 Wasm policies side by side with a bare, tuned
// httputil.ReverseProxy, in interleaved rounds, with the servers pinned to
// one core and the load generator (wrk) to the other, and checks the numbers
// against DESIGN.md's "Performance budget".
//
// Usage:
//
//	benchload [run] [-rounds 3] [-duration 5s] [-conns 32] [-gatehouse bin/gatehouse] [-out bench-out]
//	benchload backend -listen ADDR
//	benchload bareproxy -listen ADDR -backend URL
//	benchload policies [-rounds 3] [-duration 5s] [-batch 7] [-only a,b] [-list]
//	benchload nativejwt [-duration 2s]
//	benchload tls [-rounds 3] [-duration 5s] [-conns 4] [-streams 8] [-kinds h2,full,resumed]
//
// `tls` measures HTTP/2 over TLS (h2load, from Debian's nghttp2-client)
// and the TLS handshake rate (full and resumed; the handshaker mode, a Go
// client pinned like h2load) of the catalog-mode gateways next to the bare
// proxy served over TLS with Go's defaults (the baretls mode), all with
// the same ECDSA P-256 certificate (tlsbench.go).
//
// `policies` measures each built-in policy alone: one gateway per policy
// with only that policy attached (a config that takes its main path on
// every request), run in batches of -batch gateways; every batch measures
// the bare proxy and gw-0 too, in the same interleaved rounds, and each
// policy's CPU µs/req is compared with them round by round. `nativejwt`
// measures golang-jwt's own RS256 and HS256 verification, the reference of
// the validate-jwt targets (policies runs it pinned before the batches).
//
// `run` (the default) starts every other process itself: it re-executes its
// own binary in the backend and bareproxy modes, so that each server is a
// process of its own whose CPU time /proc accounts separately. All traffic
// goes to 127.0.0.1 and is bounded by -duration and -rounds. scripts/bench.sh
// installs wrk, builds this binary and runs it.
//
// What it does, in order: start the backend; time the 4-policy gateway from
// exec to its first 200 OK, with an empty data dir and again with the
// compilation cache the first start left; start the bare proxy and the 0-,
// 1- and 4-policy gateways (and gw-4-log, the 4-policy gateway with the
// request log on; the others run with --log-requests=false) and check that each proxies correctly (and that
// the policies ran); then, per round, run wrk against every target in a
// seeded shuffled order, each time after a warm-up, reading the CPU time of
// the target and of the backend from /proc around the measured run. Runs
// that other processes on the machine disturbed (their CPU share is the
// machine's busy time minus ours) are measured again (-retries). At the end
// it reads every process's VmRSS, prints the table and the budget verdicts
// and writes everything as JSON to -out.
//
// Pinned with taskset to one CPU, each Go server (the gateways too) runs
// with GOMAXPROCS=1, since the Go runtime sizes GOMAXPROCS by CPU affinity.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	mode := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		mode, args = args[0], args[1:]
	}
	var err error
	switch mode {
	case "run":
		err = runBench(args)
	case "policies":
		err = runPolicies(args)
	case "start":
		err = runStart(args)
	case "nativejwt":
		err = runNativeJWT(args)
	case "backend":
		err = runBackend(args)
	case "bareproxy":
		err = runBareProxy(args)
	case "tls":
		err = runTLSBench(args)
	case "baretls":
		err = runBareTLS(args)
	case "handshaker":
		err = runHandshaker(args)
	case "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "benchload: unknown mode %q\n", mode)
		usage()
		os.Exit(2)
	}
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

// usageError marks errors that exit with status 2: bad flags, or a missing
// tool (wrk) or binary that the user has to provide.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  benchload [run] [flags]                          run the benchmark (see benchload run -h)
  benchload policies [flags]                       each built-in policy alone vs bare and gw-0 (see benchload policies -h)
  benchload start [-rounds 3] [-idle 5s] [-before BIN]  start to ready (cold, warm) and idle RSS of serve --demo only (-before: a second binary, interleaved)
  benchload nativejwt [-duration 2s]               native golang-jwt RS256/HS256 verify cost (JSON)
  benchload tls [flags]                            HTTP/2 over TLS req/s and TLS handshakes/s vs the bare proxy (see benchload tls -h)
  benchload baretls -listen ADDR -backend URL -tls-cert F -tls-key F   the bare proxy over TLS + HTTP/2
  benchload handshaker -addr HOST:PORT [-resume]   TLS handshake load (JSON)
  benchload backend -listen ADDR                   fixed 100-byte 200 OK backend
  benchload bareproxy -listen ADDR -backend URL    bare tuned reverse proxy (the baseline)
`)
}
