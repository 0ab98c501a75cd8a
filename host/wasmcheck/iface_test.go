package wasmcheck_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// TestFuncInterface: the imports and exports a hand-made module and a real
// Go guest declare, read as wazero reads them.
func TestFuncInterface(t *testing.T) {
	spec := hosttest.Minimal()
	spec.Imports = []hosttest.Import{
		{Module: "gatehouse_v1", Name: "a", Type: hosttest.Func{Params: []byte{hosttest.I32, hosttest.I64}, Results: []byte{hosttest.I64}}},
		{Module: "wasi_snapshot_preview1", Name: "b", Type: hosttest.Func{Params: []byte{hosttest.I64}}},
	}
	spec.Exports = append(spec.Exports, hosttest.Export{Name: "f", Type: hosttest.Func{Params: []byte{hosttest.I64, hosttest.I32, hosttest.I32}}})
	bin := spec.Build()
	fi, err := wasmcheck.FuncInterface(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(fi.Imports) != 2 || fi.Imports[0].Module != "gatehouse_v1" || fi.Imports[0].Name != "a" ||
		!bytes.Equal(fi.Imports[0].Params, []byte{0x7f, 0x7e}) || !bytes.Equal(fi.Imports[0].Results, []byte{0x7e}) ||
		fi.Imports[1].Name != "b" || !bytes.Equal(fi.Imports[1].Params, []byte{0x7e}) || len(fi.Imports[1].Results) != 0 {
		t.Fatalf("imports %+v", fi.Imports)
	}
	if f := fi.Exports["f"]; len(fi.Exports) != 3 || !bytes.Equal(f.Params, []byte{0x7e, 0x7f, 0x7f}) || len(f.Results) != 0 {
		t.Fatalf("exports %+v", fi.Exports)
	}

	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	for name, bin := range map[string][]byte{"spec": bin, "probe guest": hosttest.Probe(t)} {
		cm, err := rt.CompileModule(ctx, wasmcheck.WithoutCustomSections(bin))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, err := wasmcheck.FuncInterface(bin)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "probe guest" && (len(fi.Imports) < 5 || len(fi.Exports) < 3) {
			t.Fatalf("probe guest: %d imports, %d exports", len(fi.Imports), len(fi.Exports))
		}
		sameInterface(t, bin, cm)
	}
}

// TestFuncInterfaceMalformed: cut or damaged modules get an ErrMalformed,
// never a panic.
func TestFuncInterfaceMalformed(t *testing.T) {
	spec := hosttest.Minimal()
	spec.Imports = []hosttest.Import{{Module: "gatehouse_v1", Name: "a", Type: hosttest.Func{Params: []byte{hosttest.I32}}}}
	bin := spec.Build()
	for n := 0; n < len(bin); n++ {
		_, err := wasmcheck.FuncInterface(bin[:n])
		if err == nil && (n < 8 || wasmcheck.Check(bin[:n]) != nil) {
			t.Fatalf("first %d bytes: accepted, but they are not a module", n)
		}
		if err != nil && !errors.Is(err, wasmcheck.ErrMalformed) {
			t.Fatalf("first %d bytes: %v does not wrap ErrMalformed", n, err)
		}
	}
	// An export naming a function that does not exist.
	bad := hosttest.Minimal().Build()
	i := bytes.Index(bad, []byte("on_request"))
	bad[i+len("on_request")+1] = 9 // kind 0, index 9 (of 2 functions)
	if _, err := wasmcheck.FuncInterface(bad); !errors.Is(err, wasmcheck.ErrMalformed) {
		t.Fatalf("export of function 9: %v", err)
	}
}
