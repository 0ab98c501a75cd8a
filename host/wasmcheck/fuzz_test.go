package wasmcheck_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

const (
	fuzzMaxInput = 64 << 10
	// fuzzMaxAlloc bounds what compiling one accepted input may allocate.
	fuzzMaxAlloc = 64 << 20
)

// FuzzCheck: Check never panics, every error wraps ErrMalformed, and
// whatever Check accepts, wazero compiles (or rejects) without allocating
// absurdly: at most 64 MiB for an input of at most 64 KiB. Seeds in
// testdata/fuzz/FuzzCheck include the decoder bombs FuzzLoad found.
func FuzzCheck(f *testing.F) {
	f.Add(hosttest.Minimal().Build())
	f.Add(kitchenSink())
	f.Add(extensions())
	f.Add(typedRefs())
	f.Fuzz(func(t *testing.T, bin []byte) {
		if len(bin) > fuzzMaxInput {
			return
		}
		checkThenCompile(t, bin)
	})
}

// FuzzModule is FuzzCheck on modules assembled from the fuzz input, so that
// section and body sizes are (usually) right and the fuzzer spends its time
// on what they declare: counts of entries, params, locals, branch targets,
// table and memory sizes. Raw byte mutation rarely gets past Check.
func FuzzModule(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("\x03\x05\x01\x40\x01\x81\xc3\x50\x00\x00\x00\x01\x0b\x03\x02\x01\x7f\x09\x0e\x01\x02\x03"))
	f.Add([]byte("\x01\x3f\x01\xc0\xff\x01\x01\x02\x03\x05\x07\x09\x0b\x0d\x0f\x11\x13\x15\x17\x19\x1b\x1d"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		bin := g.module()
		if len(bin) > fuzzMaxInput {
			return
		}
		checkThenCompile(t, bin)
	})
}

var fuzzCfg = wazero.NewRuntimeConfigInterpreter()

func checkThenCompile(t *testing.T, bin []byte) {
	_ = wasmcheck.ForCompile(bin) // never panics, checked or not
	if _, err := wasmcheck.FuncInterface(bin); err != nil && !errors.Is(err, wasmcheck.ErrMalformed) {
		t.Fatalf("FuncInterface: error %v does not wrap ErrMalformed", err)
	}
	err := wasmcheck.Check(bin)
	stripped := wasmcheck.WithoutCustomSections(bin)
	if err != nil {
		if !errors.Is(err, wasmcheck.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	}
	if err := wasmcheck.Check(stripped); err != nil {
		t.Fatalf("Check accepts the module but not without its custom sections: %v", err)
	}
	if len(stripped) == len(bin) && !bytes.Equal(stripped, bin) {
		t.Fatal("WithoutCustomSections changed a module of the same length")
	}
	if packed, _, err := wasmcheck.PackData(bin, wasmcheck.PackGap); err != nil {
		t.Fatalf("Check accepts the module but PackData does not: %v", err)
	} else if err := wasmcheck.Check(packed); err != nil {
		t.Fatalf("the packed module fails Check: %v", err)
	}

	if n, err := compileAlloc(t, stripped); n > fuzzMaxAlloc {
		t.Fatalf("compiling a %d-byte module that Check accepts allocated %d MiB (compile error: %v)", len(bin), n>>20, err)
	}
}

// compileAlloc compiles bin in a new interpreter runtime and returns how
// many bytes that allocated.
// For a module wazero compiles, it also checks that FuncInterface reads
// the functions' imports and exports as wazero does.
func compileAlloc(t *testing.T, bin []byte) (uint64, error) {
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rt := wazero.NewRuntimeWithConfig(ctx, fuzzCfg)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	runtime.ReadMemStats(&after)
	if err == nil {
		sameInterface(t, bin, cm)
		cm.Close(ctx)
	}
	return after.TotalAlloc - before.TotalAlloc, err
}

// sameInterface fails t unless FuncInterface(bin) lists the function
// imports and exports of cm, with their types.
func sameInterface(t *testing.T, bin []byte, cm wazero.CompiledModule) {
	t.Helper()
	fi, err := wasmcheck.FuncInterface(bin)
	if err != nil {
		t.Fatalf("wazero compiles the module, FuncInterface fails: %v", err)
	}
	sameTypes := func(what string, got []byte, want []api.ValueType) {
		if len(got) != len(want) {
			t.Fatalf("%s: FuncInterface %x, wazero %x", what, got, want)
		}
		for i := range got {
			if got[i] != 0x63 && got[i] != 0x64 && got[i] != byte(want[i]) { // (ref ht): wazero maps the heap type
				t.Fatalf("%s: FuncInterface %x, wazero %x", what, got, want)
			}
		}
	}
	imps := cm.ImportedFunctions()
	if len(imps) != len(fi.Imports) {
		t.Fatalf("FuncInterface reads %d function imports, wazero %d", len(fi.Imports), len(imps))
	}
	for i, d := range imps {
		mod, name, _ := d.Import()
		f := fi.Imports[i]
		if f.Module != mod || f.Name != name {
			t.Fatalf("import %d: FuncInterface %q.%q, wazero %q.%q", i, f.Module, f.Name, mod, name)
		}
		sameTypes("import "+name+" params", f.Params, d.ParamTypes())
		sameTypes("import "+name+" results", f.Results, d.ResultTypes())
	}
	exps := cm.ExportedFunctions()
	if len(exps) != len(fi.Exports) {
		t.Fatalf("FuncInterface reads %d function exports, wazero %d", len(fi.Exports), len(exps))
	}
	for name, d := range exps {
		f, ok := fi.Exports[name]
		if !ok {
			t.Fatalf("export %q: wazero has it, FuncInterface not", name)
		}
		sameTypes("export "+name+" params", f.Params, d.ParamTypes())
		sameTypes("export "+name+" results", f.Results, d.ResultTypes())
	}
}
