package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestRun: a module in, a seed out that names a cache entry; bad input
// writes nothing.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "probe.wasm")
	if err := os.WriteFile(in, hosttest.Probe(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "probe.seed")
	if err := run(in, out, true); err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if name, size, err := engine.SeedEntry(seed); err != nil || len(name) != 64 || size <= 0 {
		t.Fatalf("seed entry %q, %d bytes, %v", name, size, err)
	}
	for _, bad := range []string{"missing.wasm", "not.wasm"} {
		p := filepath.Join(dir, bad)
		if bad == "not.wasm" {
			os.WriteFile(p, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644)
		}
		o := filepath.Join(dir, bad+".seed")
		if err := run(p, o, true); err == nil {
			t.Errorf("%s: no error", bad)
		}
		if _, err := os.Stat(o); err == nil {
			t.Errorf("%s: a seed was written", bad)
		}
	}
	// probe.wasm, probe.seed, not.wasm: no temporary file left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left: %v", names)
	}
}
