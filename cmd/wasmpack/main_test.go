package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// TestRun: a Go module in, the same module stripped and packed out (in
// place too); a malformed one writes nothing.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "probe.wasm")
	if err := os.WriteFile(in, hosttest.Probe(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wasm")
	if err := run(in, out, wasmcheck.PackGap, true); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := wasmcheck.Check(got); err != nil {
		t.Fatal(err)
	}
	if _, p, err := wasmcheck.PackData(got, wasmcheck.PackGap); err != nil || p.Before > 100 {
		t.Fatalf("not packed: %s, %v", p, err)
	}
	if len(wasmcheck.WithoutCustomSections(got)) != len(got) {
		t.Fatal("-strip left custom sections")
	}
	// In place, without -strip: custom sections kept.
	if err := run(in, in, wasmcheck.PackGap, false); err != nil {
		t.Fatal(err)
	}
	kept, _ := os.ReadFile(in)
	if len(wasmcheck.WithoutCustomSections(kept)) == len(kept) {
		t.Fatal("custom sections dropped without -strip")
	}

	bad := filepath.Join(dir, "bad.wasm")
	os.WriteFile(bad, []byte("\x00asm\x01\x00\x00\x00\x0b\x05\x01\x00"), 0o644)
	badOut := filepath.Join(dir, "bad-out.wasm")
	if err := run(bad, badOut, 64, true); !errors.Is(err, wasmcheck.ErrMalformed) {
		t.Fatalf("malformed module: %v", err)
	}
	if _, err := os.Stat(badOut); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a malformed module wrote %s", badOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Fatalf("temporary files left: %v", ents)
	}
}
