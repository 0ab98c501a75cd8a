// Command wasmpack merges a WebAssembly module's data segments where they
// are at most a few bytes apart (wasmcheck.PackData), so that the module
// decodes, stays in memory and instantiates with a few segments instead of
// tens of thousands (Go's wasm linker splits its data at every run of
// zeros). `make` runs it on the built-in policy module; `gatehouse plugin
// build` does the same for a plugin's module. The module's meaning is
// unchanged: its memory after instantiation is byte for byte the same.
// -strip also drops the custom sections (the engine compiles without them),
// so that the engine compiles the built-in module in place, without a copy.
//
//	go run ./cmd/wasmpack [-gap 64] [-strip] -o OUT.wasm IN.wasm
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/cmd/internal/atomicfile"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

func main() {
	out := flag.String("o", "", "module to write (may be IN itself)")
	gap := flag.Int("gap", wasmcheck.PackGap, "merge segments at most this many bytes apart")
	strip := flag.Bool("strip", false, "also drop the custom sections (names, build id: the engine compiles without them)")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmpack [-gap N] [-strip] -o OUT.wasm IN.wasm")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *gap, *strip); err != nil {
		fmt.Fprintln(os.Stderr, "wasmpack:", err)
		os.Exit(1)
	}
}

func run(in, out string, gap int, strip bool) error {
	bin, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	size := len(bin)
	if strip {
		bin = wasmcheck.WithoutCustomSections(bin)
	}
	packed, p, err := wasmcheck.PackData(bin, gap)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := atomicfile.Write(out, packed, 0o644); err != nil {
		return err
	}
	fmt.Printf("packed %s: %s; %d → %d bytes\n", out, p, size, len(packed))
	return nil
}
