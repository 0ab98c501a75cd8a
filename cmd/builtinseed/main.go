// Command builtinseed precompiles the built-in policy module at build time
// (`make`): it compiles plugins/embedded/wasm/builtin.wasm exactly as the
// gateway's engine does and writes the compilation-cache entry, as a seed,
// to plugins/embedded/wasm/builtin.seed, which the gatehouse binary embeds.
// A first start then reads compiled code instead of compiling
// (RATIONALE.md "A precompiled built-in module"). The seed is a build
// output: never committed.
//
//	go run ./cmd/builtinseed [-guarded] -o plugins/embedded/wasm/builtin.seed plugins/embedded/wasm/builtin.wasm
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/cmd/internal/atomicfile"
	"github.com/gatehouse/gatehouse/host/engine"
)

func main() {
	out := flag.String("o", "", "seed file to write")
	guarded := flag.Bool("guarded", false, "for the guarded runtime (serve --guard-builtins) instead of the trusted one")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: builtinseed [-guarded] -o SEED MODULE.wasm")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, !*guarded); err != nil {
		fmt.Fprintln(os.Stderr, "builtinseed:", err)
		os.Exit(1)
	}
}

func run(in, out string, trusted bool) error {
	bin, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	seed, err := engine.BuildSeed(context.Background(), bin, trusted)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := atomicfile.Write(out, seed, 0o644); err != nil {
		return err
	}
	fmt.Printf("built %s (%d bytes) for %s\n", out, len(seed), in)
	return nil
}
