package wasmcheck_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// memoryImage instantiates bin in a real wazero runtime, every import a
// stub that does nothing and no start function called (the module's start
// section, if any, runs under a deadline), and returns a copy of its
// memory as instantiation left it: the data segments applied. err is
// wazero's when it refuses to compile or instantiate the module.
func memoryImage(t testing.TB, bin []byte) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, err
	}
	stubs := map[string]wazero.HostModuleBuilder{}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		hb, ok := stubs[mod]
		if !ok {
			hb = rt.NewHostModuleBuilder(mod)
			stubs[mod] = hb
		}
		results := def.ResultTypes()
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			for i := range results {
				stack[i] = 0
			}
		}), def.ParamTypes(), results).Export(name)
	}
	for mod, hb := range stubs {
		if _, err := hb.Instantiate(ctx); err != nil {
			t.Fatalf("stub module %q: %v", mod, err)
		}
	}
	m, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithStartFunctions().WithName(""))
	if err != nil {
		return nil, err
	}
	mem := m.Memory()
	if mem == nil {
		return nil, nil
	}
	b, _ := mem.Read(0, mem.Size())
	return bytes.Clone(b), nil
}

// samePacked checks what PackData promises of out against bin: it passes
// Check, and wazero instantiates it into the same memory (or refuses both).
func samePacked(t testing.TB, bin, out []byte) {
	t.Helper()
	if err := wasmcheck.Check(out); err != nil {
		t.Fatalf("the packed module fails Check: %v", err)
	}
	want, errIn := memoryImage(t, bin)
	got, errOut := memoryImage(t, out)
	if (errIn == nil) != (errOut == nil) {
		t.Fatalf("instantiation: the module gives %v, the packed module %v", errIn, errOut)
	}
	if !bytes.Equal(want, got) {
		at := 0
		for at < min(len(want), len(got)) && want[at] == got[at] {
			at++
		}
		t.Fatalf("memory after instantiation differs (%d and %d bytes; first difference at %d)", len(want), len(got), at)
	}
}

// TestPackGoGuests: real Go modules, the built-in policy module among them,
// lose nearly all their data segments and none of their meaning; packing
// twice changes nothing more.
func TestPackGoGuests(t *testing.T) {
	for _, pkg := range []string{"plugins/builtin", "host/hosttest/guests/probe", "examples/ua-filter"} {
		t.Run(filepath.Base(pkg), func(t *testing.T) {
			bin := hosttest.Guest(t, pkg)
			orig := bytes.Clone(bin)
			out, p, err := wasmcheck.PackData(bin, wasmcheck.PackGap)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bin, orig) {
				t.Fatal("PackData modified its input")
			}
			t.Logf("%s: %s", pkg, p)
			if p.Before < 1000 || p.After > 100 {
				t.Fatalf("%s: want thousands of segments packed into at most 100, got %s", pkg, p)
			}
			if p.SizeAfter > p.SizeBefore*2 {
				t.Fatalf("%s: data section more than doubled: %s", pkg, p)
			}
			samePacked(t, bin, out)
			again, p2, err := wasmcheck.PackData(out, wasmcheck.PackGap)
			if err != nil || p2.After != p.After || !bytes.Equal(again, out) {
				t.Fatalf("packing again: %v, %s", err, p2)
			}
		})
	}
}

// dataModule is a module with one page of memory and the given data
// section entries (already encoded).
func dataModule(extra []byte, entries ...[]byte) []byte {
	return mod(sec(5, vec(b(0x00, 0x01))), extra, sec(11, vec(entries...)))
}

// active is a data segment at offset off (i32.const) holding data.
func active(off int32, data ...byte) []byte {
	return cat(b(0x00, 0x41), sleb(int64(off)), b(0x0b), uleb(uint64(len(data))), data)
}

// spaced is n one-byte segments, gap bytes apart.
func spaced(n, gap int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, active(int32(i*(gap+1)), byte(i|1)))
	}
	return out
}

func sleb(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func TestPackDataCases(t *testing.T) {
	for _, tc := range []struct {
		name         string
		bin          []byte
		gap          int
		before       int
		after        int // == before: left as it is (the same slice)
		instantiates bool
	}{
		{"adjacent and gaps up to the limit", dataModule(nil,
			active(10, 1, 2), active(12, 3), active(17, 4, 5), active(100, 6)), 4, 4, 2, true},
		{"out of order, sorted before merging", dataModule(nil,
			active(40, 9, 9), active(8, 1), active(10, 2), active(4000, 7)), 8, 4, 3, true},
		{"gap of zero only", dataModule(nil,
			active(0, 1), active(1, 2), active(3, 3)), 0, 3, 2, true},
		{"nothing close enough", dataModule(nil,
			active(0, 1), active(100, 2)), 8, 2, 2, true},
		{"overlap: order decides, left alone", dataModule(nil,
			active(0, 1, 2, 3), active(2, 9)), 64, 2, 2, true},
		{"passive segment: indices matter, left alone", dataModule(nil,
			active(0, 1), cat(b(0x01), uleb(1), b(7)), active(2, 3)), 64, 3, 3, true},
		{"data count section, left alone", mod(sec(5, vec(b(0x00, 0x01))), sec(12, uleb(2)),
			sec(11, vec(active(0, 1), active(2, 3)))), 64, 2, 2, true},
		{"global.get offset, left alone", mod(sec(2, vec(cat(str("env"), str("g"), b(0x03, 0x7f, 0x00)))),
			sec(5, vec(b(0x00, 0x01))), sec(11, vec(active(0, 1), cat(b(0x00, 0x23), uleb(0), b(0x0b), uleb(1), b(5))))), 64, 2, 2, false},
		{"out of bounds stays out of bounds", dataModule(nil,
			active(65530, 1, 2), active(65534, 3, 4, 5)), 64, 2, 1, false},
		{"negative offset (an address near 4 GiB)", dataModule(nil,
			active(-8, 1), active(-4, 2)), 64, 2, 1, false},
		{"one segment", dataModule(nil, active(3, 1)), 64, 1, 1, true},
		{"empty segments", dataModule(nil, active(3), active(3), active(5, 1)), 64, 3, 1, true},
		{"tiny segments far apart: would grow past twice, left alone", dataModule(nil, spaced(200, 64)...), 64, 200, 200, true},
		{"tiny segments a little apart: packed", dataModule(nil, spaced(200, 4)...), 64, 200, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, p, err := wasmcheck.PackData(tc.bin, tc.gap)
			if err != nil {
				t.Fatal(err)
			}
			if p.Before != tc.before || p.After != tc.after {
				t.Fatalf("got %s, want %d → %d", p, tc.before, tc.after)
			}
			if p.After == p.Before && (len(out) != len(tc.bin) || &out[0] != &tc.bin[0]) {
				t.Fatal("a module left as it is must come back as the same slice")
			}
			samePacked(t, tc.bin, out)
			if _, err := memoryImage(t, out); (err == nil) != tc.instantiates {
				t.Fatalf("instantiation error %v, want instantiates=%v", err, tc.instantiates)
			}
		})
	}
}

func TestPackDataMalformed(t *testing.T) {
	for name, bin := range map[string][]byte{
		"empty":            nil,
		"not wasm":         []byte("hello, world"),
		"truncated data":   dataModule(nil, active(0, 1, 2))[:20],
		"segment too long": mod(sec(5, vec(b(0x00, 0x01))), sec(11, uleb(1), b(0x00, 0x41, 0x00, 0x0b), uleb(50), b(1, 2))),
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := wasmcheck.PackData(bin, 64)
			if !errors.Is(err, wasmcheck.ErrMalformed) || out != nil {
				t.Fatalf("got %v (%d bytes), want an ErrMalformed error and no module", err, len(out))
			}
		})
	}
}

// FuzzPackData assembles a module of one or two pages and up to 32 data
// segments from the input (offsets, sizes, contents, now and then an
// overlap, a passive segment or an offset near 4 GiB) and checks what
// PackData promises against wazero itself: the packed module passes Check
// and instantiates into the same memory, or fails to as the original does.
func FuzzPackData(f *testing.F) {
	f.Add([]byte{0, 8, 1, 2, 3, 4, 10, 2, 9, 9}, uint8(4))
	f.Add([]byte{1, 0, 3, 1, 1, 1, 2, 2, 5, 5, 0xff, 0xff, 4, 4, 4, 4, 4}, uint8(64))
	f.Add([]byte("\x05\x00\x10\xaa\xbb\x30\x05\x01\x02\x03\x04\x05\xfe\x00\x01\x01"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, gap uint8) {
		if len(data) > 4096 {
			return
		}
		g := &gen{data: data}
		pages := 1 + g.byte()%2
		var entries [][]byte
		at := int64(0)
		for len(entries) < 32 && !g.done() {
			kind := g.byte()
			size := int(g.byte() % 24)
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = g.byte()
			}
			switch {
			case kind == 0xfe:
				entries = append(entries, cat(b(0x01), uleb(uint64(size)), payload))
				continue
			case kind == 0xff:
				entries = append(entries, active(-int32(g.byte()), payload...))
				continue
			case kind&0x80 != 0: // step back: an overlap, or out of order
				at -= int64(kind & 0x3f)
			default:
				at += int64(kind)
			}
			if at < 0 {
				at = 0
			}
			entries = append(entries, active(int32(at), payload...))
			at += int64(size)
		}
		bin := mod(sec(5, vec(b(0x00, pages))), sec(11, vec(entries...)))
		out, p, err := wasmcheck.PackData(bin, int(gap))
		if err != nil {
			t.Fatalf("PackData refused a well-formed module: %v", err)
		}
		if p.After > p.Before {
			t.Fatalf("more segments after packing: %s", p)
		}
		samePacked(t, bin, out)
	})
}

// TestForCompile: a module as Go builds it comes back without custom
// sections and packed, meaning the same; one already stripped and packed
// comes back as the same slice (no copy).
func TestForCompile(t *testing.T) {
	bin := hosttest.Guest(t, "host/hosttest/guests/probe")
	out := wasmcheck.ForCompile(bin)
	if customSections(t, out) != 0 {
		t.Fatal("custom sections left")
	}
	if _, p, err := wasmcheck.PackData(out, wasmcheck.PackGap); err != nil || p.Before > 100 {
		t.Fatalf("not packed: %s, %v", p, err)
	}
	samePacked(t, bin, out)
	again := wasmcheck.ForCompile(out)
	if unsafe.SliceData(again) != unsafe.SliceData(out) || len(again) != len(out) {
		t.Fatal("a stripped and packed module was copied")
	}
}

// TestBuiltinModuleCompiledInPlace: the built-in module make embeds is
// already stripped and packed (cmd/wasmpack -strip), so the engine compiles
// the binary's read-only data as it is instead of a 5 MB copy per start.
func TestBuiltinModuleCompiledInPlace(t *testing.T) {
	bin, err := os.ReadFile(filepath.Join(hosttest.RepoRoot(), "plugins/embedded/wasm/builtin.wasm"))
	if err != nil {
		t.Skipf("the built-in module is not built (make wasm): %v", err)
	}
	if err := wasmcheck.Check(bin); err != nil {
		t.Fatal(err)
	}
	if out := wasmcheck.ForCompile(bin); unsafe.SliceData(out) != unsafe.SliceData(bin) {
		t.Fatalf("make's built-in module is not stripped and packed: ForCompile copied it (%d → %d bytes)", len(bin), len(out))
	}
}

func TestDataSpan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bin    []byte
		lo, hi uint64
	}{
		{"segments out of order", dataModule(nil, active(40, 9, 9), active(8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48), active(100, 7)), 8, 101},
		{"sparse: less than half the range written", dataModule(nil, active(8, 1), active(40000, 2)), 0, 0},
		{"empty segments do not count", dataModule(nil, active(3), active(10, 1, 2), active(900)), 10, 12},
		{"only empty segments", dataModule(nil, active(3)), 0, 0},
		{"no data section", mod(sec(5, vec(b(0x00, 0x01)))), 0, 0},
		{"a passive segment", dataModule(nil, active(0, 1), cat(b(0x01), uleb(1), b(7))), 0, 0},
		{"malformed", []byte("\x00asm\x01\x00\x00\x00\x0b\x05\x01\x00"), 0, 0},
	} {
		if lo, hi := wasmcheck.DataSpan(tc.bin); lo != tc.lo || hi != tc.hi {
			t.Errorf("%s: [%d, %d), want [%d, %d)", tc.name, lo, hi, tc.lo, tc.hi)
		}
	}
	// The built-in module: its data, as Go's linker lays it out, starts
	// a few KiB in and spans about 2 MB.
	bin := hosttest.Guest(t, "plugins/builtin")
	lo, hi := wasmcheck.DataSpan(bin)
	packed, _, _ := wasmcheck.PackData(bin, wasmcheck.PackGap)
	if plo, phi := wasmcheck.DataSpan(packed); plo != lo || phi != hi {
		t.Fatalf("packing moved the span: [%d, %d) → [%d, %d)", lo, hi, plo, phi)
	}
	if lo < 1<<10 || hi-lo < 1<<20 || hi-lo > 8<<20 {
		t.Fatalf("built-in module's data span [%d, %d)", lo, hi)
	}
}
