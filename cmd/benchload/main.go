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
//
// `run` (the default) starts every other process itself: it re-executes its
// own binary in the backend and bareproxy modes, so that each server is a
// process of its own whose CPU time /proc accounts separately. All traffic
// goes to 127.0.0.1 and is bounded by -duration and -rounds. scripts/bench.sh
// installs wrk, builds this binary and runs it.
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
	case "backend":
		err = runBackend(args)
	case "bareproxy":
		err = runBareProxy(args)
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
		os.Exit(2)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  benchload [run] [flags]                          run the benchmark (see benchload run -h)
  benchload backend -listen ADDR                   fixed 100-byte 200 OK backend
  benchload bareproxy -listen ADDR -backend URL    bare tuned reverse proxy (the baseline)
`)
}
