package wasmcheck_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// allFeatures is every feature wazero 1.12 implements.
const allFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesExtendedConst | experimental.CoreFeaturesExceptionHandling |
	experimental.CoreFeaturesTypedFunctionReferences

// compiles reports whether wazero compiles bin (with the given features;
// 0 means the default runtime, as the engine configures it).
func compiles(t *testing.T, bin []byte, features api.CoreFeatures) error {
	t.Helper()
	ctx := context.Background()
	var rt wazero.Runtime
	if features == 0 {
		rt = wazero.NewRuntime(ctx)
	} else {
		rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(features))
	}
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err == nil {
		cm.Close(ctx)
	}
	return err
}

// customSections counts the custom sections in a well-formed module.
func customSections(t *testing.T, bin []byte) int {
	t.Helper()
	n := 0
	for off := 8; off < len(bin); {
		id := bin[off]
		off++
		var size, shift uint64
		for {
			c := bin[off]
			off++
			size |= uint64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		if id == 0 {
			n++
		}
		off += int(size)
	}
	return n
}

// mustPass checks bin and its custom-section-free version, and that the
// latter still compiles.
func mustPass(t *testing.T, name string, bin []byte, features api.CoreFeatures) {
	t.Helper()
	if err := wasmcheck.Check(bin); err != nil {
		t.Fatalf("%s: Check: %v", name, err)
	}
	orig := bytes.Clone(bin)
	stripped := wasmcheck.WithoutCustomSections(bin)
	if !bytes.Equal(bin, orig) {
		t.Fatalf("%s: WithoutCustomSections modified its input", name)
	}
	if n := customSections(t, stripped); n != 0 {
		t.Fatalf("%s: %d custom sections left", name, n)
	}
	if err := wasmcheck.Check(stripped); err != nil {
		t.Fatalf("%s: Check(stripped): %v", name, err)
	}
	if err := compiles(t, stripped, features); err != nil {
		t.Fatalf("%s: stripped module does not compile: %v", name, err)
	}
}

// TestGoGuests: real modules from the Go toolchain pass, and still compile
// without their custom sections (Go writes name, producers and build-id
// sections).
func TestGoGuests(t *testing.T) {
	for _, pkg := range []string{
		"host/hosttest/guests/probe",
		"plugins/builtin",
		"examples/ua-filter",
		"host/hosttest/guests/abibench",
	} {
		t.Run(filepath.Base(pkg), func(t *testing.T) {
			bin := hosttest.Guest(t, pkg)
			if customSections(t, bin) == 0 {
				t.Fatal("expected the Go toolchain to write custom sections")
			}
			mustPass(t, pkg, bin, 0)
			stripped := wasmcheck.WithoutCustomSections(bin)
			if len(stripped) >= len(bin) {
				t.Fatalf("stripped %d bytes, not smaller than %d", len(stripped), len(bin))
			}
		})
	}
}

func TestGeneratedModules(t *testing.T) {
	noMem := hosttest.Minimal()
	noMem.MemoryPages = -1
	withImp := hosttest.Minimal()
	withImp.Imports = []hosttest.Import{
		{Module: "gatehouse_v1", Name: "now", Type: hosttest.Func{Results: []byte{hosttest.I64}}},
		{Module: "wasi_snapshot_preview1", Name: "fd_write", Type: hosttest.Func{Params: []byte{hosttest.I32, hosttest.I32, hosttest.I32, hosttest.I32}, Results: []byte{hosttest.I32}}},
	}
	impMem := hosttest.Minimal()
	impMem.ImportMemory = true
	for _, tc := range []struct {
		name     string
		bin      []byte
		features api.CoreFeatures
	}{
		{"minimal", hosttest.Minimal().Build(), 0},
		{"no memory", noMem.Build(), 0},
		{"imports", withImp.Build(), 0},
		{"imported memory", impMem.Build(), 0},
		{"empty module", mod(), 0},
		{"kitchen sink", kitchenSink(), 0},
		{"tag and extended-const", extensions(), allFeatures},
		{"typed references", typedRefs(), allFeatures},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPass(t, tc.name, tc.bin, tc.features) })
	}
}

// TestWazeroTestdata: every module in wazero's own test data (the spec
// test suites, and binaries from TinyGo, Zig, Rust, Emscripten) that wazero
// compiles with all its features passes Check, and still compiles without
// its custom sections.
func TestWazeroTestdata(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("wazero module source not found: %v", err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wasm") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 100 {
		t.Skipf("only %d .wasm files under %s", len(files), dir)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
	defer rt.Close(ctx)
	accepted := 0
	var limited []string
	for _, f := range files {
		bin, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := rt.CompileModule(ctx, bin)
		if err != nil {
			continue // a spec test's malformed or invalid module
		}
		cm.Close(ctx)
		accepted++
		rel, _ := filepath.Rel(dir, f)
		if err := wasmcheck.Check(bin); errors.Is(err, wasmcheck.ErrLimit) {
			limited = append(limited, rel)
			t.Logf("%s: %v", rel, err)
			continue
		} else if err != nil {
			t.Errorf("%s: wazero compiles it, but Check: %v", rel, err)
			continue
		}
		cm, err = rt.CompileModule(ctx, wasmcheck.WithoutCustomSections(bin))
		if err != nil {
			t.Errorf("%s: does not compile without custom sections: %v", rel, err)
			continue
		}
		cm.Close(ctx)
	}
	t.Logf("%d of %d modules compile; all pass Check but %d over a limit", accepted, len(files), len(limited))
	// The spec tests stay within the limits; only wazero's own fuzzer
	// finds and stress tests exceed MaxResults.
	for _, rel := range limited {
		if !strings.Contains(rel, "fuzzcases") && !strings.HasSuffix(rel, "hugestack.wasm") {
			t.Errorf("%s is over a limit", rel)
		}
	}
}

func TestRejects(t *testing.T) {
	const big = 1_000_000
	threeBodies := vec(
		body([][2]uint64{{wasmcheck.MaxLocals, i32}}, end),
		body([][2]uint64{{wasmcheck.MaxLocals, i32}}, end),
		body([][2]uint64{{wasmcheck.MaxLocals, i32}}, end),
	)
	for _, tc := range []struct {
		name string
		bin  []byte
		want string
	}{
		// Found by fuzzing the engine (host/engine/testdata/fuzz/FuzzLoad).
		{"fuzz: type result count", []byte("\x00asm\x01\x00\x00\x00\x01\v\x02`\x00\xbb\xbb\xbb\xbb\x0e000"),
			"section 1 (type) entry 0: result count 3882802619 exceeds the 3 bytes left"},
		{"fuzz: export count read past an empty section", []byte("\x00asm\x01\x00\x00\x00\a\x00\x80\xff\xff0000000000"),
			"section 7 (export): export count: unexpected end of section"},

		{"no magic", []byte("\x00asn\x01\x00\x00\x00"), "no \\0asm magic"},
		{"short", []byte("\x00as"), "no \\0asm magic"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "unsupported binary version"},
		{"unknown section id", mod(b(14, 0)), "unknown section id 14"},
		{"section size", cat(mod(), b(1), uleb(big), b(0, 0)), "section 1 (type): section size 1000000 exceeds the 2 bytes left in the module"},
		{"section size LEB truncated", cat(mod(), b(1, 0x80)), "section 1 (type): section size: unexpected end of section"},
		{"trailing bytes in a section", mod(sec(3, vec(b(0)), b(0))), "section 3 (function): 1 byte after the section's contents"},
		{"LEB too long", mod(sec(3, b(0x80, 0x80, 0x80, 0x80, 0x80, 0x00))), "section 3 (function): function count: LEB128 longer than 5 bytes"},
		{"u32 overflow", mod(sec(8, b(0xff, 0xff, 0xff, 0xff, 0x1f))), "section 8 (start): start function index: LEB128 overflows its type"},

		{"type count", mod(sec(1, uleb(big), functype(nil, nil))), "section 1 (type): type count 1000000 exceeds the 3 bytes left"},
		{"param count", mod(sec(1, vec(cat(b(0x60), uleb(4_000_000_000), b(i32))))), "section 1 (type) entry 0: param count 4000000000 exceeds the 1 byte left"},
		{"result count", mod(sec(1, vec(functype(nil, nil), cat(b(0x60, 0x00), uleb(big), b(i32, i32))))), "section 1 (type) entry 1: result count 1000000 exceeds the 2 bytes left"},
		{"rec group count", mod(sec(1, vec(cat(b(0x4e), uleb(big), functype(nil, nil))))), "section 1 (type) entry 0: rec group type count 1000000 needs at least 3000000 bytes, more than the 3 left"},
		{"rec group param count", mod(sec(1, vec(cat(b(0x4e), vec(functype(nil, nil), cat(b(0x60), uleb(big))))))), "section 1 (type) entry 0 rec group type 1: param count 1000000 exceeds the 0 bytes left"},
		{"type form", mod(sec(1, vec(b(0x5f, 0, 0)))), "section 1 (type) entry 0: type form 0x5f"},
		{"value type", mod(sec(1, vec(functype(b(0x40), nil)))), "section 1 (type) entry 0: param type: unknown value type 0x40"},
		{"too many params", mod(sec(1, vec(functype(repeat(i32, wasmcheck.MaxParams+1), nil)))), "section 1 (type) entry 0: 1001 params; a function type may have at most 1000"},
		{"too many results", mod(sec(1, vec(functype(nil, repeat(i64, wasmcheck.MaxResults+1))))), "section 1 (type) entry 0: 17 results; a function type may have at most 16"},
		{"type weight", mod(sec(1, vec(functype(nil, nil), functype(repeat(i32, 1000), nil), functype(repeat(i32, 290), repeat(i32, 10))))),
			"section 1 (type) entry 2: function types too large: the sum over types of (params+results)² reaches 1090000; the limit is 1048576"},

		{"import count", mod(sec(2, uleb(big), str("m"), str("n"), b(0, 0))), "section 2 (import): import count 1000000 needs at least 4000000 bytes, more than the 6 left"},
		{"import module name", mod(sec(2, vec(cat(uleb(1<<31), []byte("xyz1"))))), "section 2 (import) entry 0: module name length 2147483648 exceeds the 4 bytes left"},
		{"import name", mod(sec(2, vec(cat(str("env"), uleb(big), []byte("abc"))))), "section 2 (import) entry 0: import name length 1000000 exceeds the 3 bytes left"},
		{"import kind", mod(sec(2, vec(cat(str("m"), str("n"), b(5, 0))))), "section 2 (import) entry 0: unknown import kind 0x05"},
		{"import limits", mod(sec(2, vec(cat(str("m"), str("n"), b(2, 4, 0))))), "section 2 (import) entry 0: memory limits: unknown limits flags 0x04"},

		{"function count", mod(sec(3, uleb(big), b(0))), "section 3 (function): function count 1000000 exceeds the 1 byte left"},
		{"table count", mod(sec(4, uleb(big), b(funcref, 0, 0))), "section 4 (table): table count 1000000 exceeds the 3 bytes left"},
		{"table type", mod(sec(4, vec(b(i32, 0, 0)))), "section 4 (table) entry 0: table element type: unknown reference type 0x7f"},
		{"memory count", mod(sec(5, uleb(big), b(0, 1))), "section 5 (memory): memory count 1000000 exceeds the 2 bytes left"},
		{"global count", mod(sec(6, uleb(big), b(i32, 0, 0x41, 0, end))), "section 6 (global): global count 1000000 exceeds the 5 bytes left"},
		{"global mutability", mod(sec(6, vec(b(i32, 2, 0x41, 0, end)))), "section 6 (global) entry 0: global mutability 0x02"},
		{"const expr opcode", mod(sec(6, vec(b(i32, 0, 0x20, 0, end)))), "section 6 (global) entry 0: global initializer: opcode 0x20 is not allowed in a constant expression"},
		{"const expr end", mod(sec(6, vec(b(i32, 0, 0x41, 0)))), "section 6 (global) entry 0: global initializer opcode: unexpected end of section"},
		{"const expr f64", mod(sec(6, vec(b(f64, 0, 0x44, 0, 0, 0)))), "section 6 (global) entry 0: global initializer f64.const needs 8 bytes but 3 left"},
		{"const expr v128 opcode", mod(sec(6, vec(cat(b(v128, 0, 0xfd, 0x0d), repeat(0, 16), b(end))))), "global initializer: opcode 0xfd 0x0d is not allowed"},
		{"const expr s32", mod(sec(6, vec(b(i32, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x08, end)))), "global initializer i32.const: LEB128 overflows its type"},
		{"const expr s64", mod(sec(6, vec(cat(b(i64, 0, 0x42), repeat(0x80, 9), b(0x01, end))))), "global initializer i64.const: LEB128 overflows its type"},

		{"export count", mod(sec(7, uleb(big), str("e"), b(0, 0))), "section 7 (export): export count 1000000 exceeds the 4 bytes left"},
		{"export name", mod(sec(7, vec(cat(uleb(big), b(0, 0))))), "section 7 (export) entry 0: export name length 1000000 exceeds the 2 bytes left"},
		{"export kind", mod(sec(7, vec(cat(str("e"), b(9, 0))))), "section 7 (export) entry 0: unknown export kind 0x09"},

		{"element segment count", mod(sec(9, uleb(big), b(1, 0, 0))), "section 9 (element): element segment count 1000000 exceeds the 3 bytes left"},
		{"element form 0 count", mod(sec(9, vec(cat(b(0, 0x41, 0, end), uleb(big), b(0))))), "section 9 (element) entry 0: function index count 1000000 exceeds the 1 byte left"},
		{"element form 1 count", mod(sec(9, vec(cat(b(1, 0), uleb(big), b(0))))), "section 9 (element) entry 0: function index count 1000000 exceeds the 1 byte left"},
		{"element form 2 count", mod(sec(9, vec(cat(b(2, 0, 0x41, 0, end, 0), uleb(big), b(0))))), "section 9 (element) entry 0: function index count 1000000 exceeds the 1 byte left"},
		{"element form 3 count", mod(sec(9, vec(b(1, 0, 0), cat(b(3, 0), uleb(big), b(0))))), "section 9 (element) entry 1: function index count 1000000 exceeds the 1 byte left"},
		{"element form 4 count", mod(sec(9, vec(cat(b(4, 0x41, 0, end), uleb(big), b(0xd2, 0, end))))), "section 9 (element) entry 0: element expression count 1000000 exceeds the 3 bytes left"},
		{"element form 5 count", mod(sec(9, vec(cat(b(5, funcref), uleb(big), b(0xd2, 0, end))))), "section 9 (element) entry 0: element expression count 1000000 exceeds the 3 bytes left"},
		{"element form 6 count", mod(sec(9, vec(cat(b(6, 0, 0x41, 0, end, funcref), uleb(big), b(0xd2, 0, end))))), "section 9 (element) entry 0: element expression count 1000000 exceeds the 3 bytes left"},
		{"element form 7 count", mod(sec(9, vec(cat(b(7, funcref), uleb(big), b(end))))), "section 9 (element) entry 0: element expression count 1000000 exceeds the 1 byte left"},
		{"element expression", mod(sec(9, vec(b(5, funcref, 2, 0xd2, 0, end, 0x20, 0, end)))), "section 9 (element) entry 0 element 1: element expression: opcode 0x20 is not allowed in a constant expression"},
		{"element flags", mod(sec(9, vec(b(8, 0)))), "section 9 (element) entry 0: unknown element segment flags 8"},
		{"element kind", mod(sec(9, vec(b(1, 1, 0)))), "section 9 (element) entry 0: element kind 0x01"},

		{"code count", mod(sec(10, uleb(big), body(nil, end))), "section 10 (code): function body count 1000000 exceeds the 3 bytes left"},
		{"body size", mod(sec(10, vec(cat(uleb(big), b(0, end))))), "section 10 (code) entry 0: body size 1000000 exceeds the 2 bytes left"},
		{"empty body", mod(sec(10, vec(b(0)))), "section 10 (code) entry 0: empty function body"},
		{"no end", mod(sec(10, vec(body(nil, 0x01)))), "section 10 (code) entry 0: function body does not end with end (0x0b)"},
		{"no instructions", mod(sec(10, vec(body([][2]uint64{{1, i32}})))), "section 10 (code) entry 0: function body has no instructions"},
		{"local declaration count", mod(sec(10, vec(cat(uleb(6), uleb(big), b(1, i32, end))))), "section 10 (code) entry 0: local declaration count 1000000 needs at least 2000000 bytes, more than the 3 left"},
		{"local count", mod(sec(10, vec(body(nil, end), body([][2]uint64{{1, i32}, {4_000_000_000, i64}}, end)))),
			"section 10 (code) entry 1 local declaration 1: declares 4000000001 locals in all; a function may have at most 50000"},
		{"local sum", mod(sec(10, vec(body([][2]uint64{{30_000, i32}, {20_001, f64}}, end)))),
			"section 10 (code) entry 0 local declaration 1: declares 50001 locals in all; a function may have at most 50000"},
		{"local type", mod(sec(10, vec(body([][2]uint64{{1, 0x40}}, end)))), "section 10 (code) entry 0 local declaration 0: local type: unknown value type 0x40"},
		{"locals of all functions", mod(sec(10, threeBodies)),
			"section 10 (code) entry 1: functions declare 100000 locals in all; the limit for a 22-byte code section is 50022"},

		{"data segment count", mod(sec(11, uleb(big), b(1, 0))), "section 11 (data): data segment count 1000000 exceeds the 2 bytes left"},
		{"data form 0 length", mod(sec(11, vec(cat(b(0, 0x41, 0, end), uleb(big), []byte("ab"))))), "section 11 (data) entry 0: data length 1000000 exceeds the 2 bytes left"},
		{"data form 1 length", mod(sec(11, vec(cat(b(1), uleb(4_294_967_295), []byte("ab"))))), "section 11 (data) entry 0: data length 4294967295 exceeds the 2 bytes left"},
		{"data form 2 length", mod(sec(11, vec(cat(b(1), str("ok")), cat(b(2, 0, 0x41, 0, end), uleb(big), []byte("ab"))))), "section 11 (data) entry 1: data length 1000000 exceeds the 2 bytes left"},
		{"data flags", mod(sec(11, vec(b(3, 0)))), "section 11 (data) entry 0: unknown data segment flags 3"},
		{"data count section", mod(sec(12)), "section 12 (data count): data count: unexpected end of section"},
		{"tag count", mod(sec(13, uleb(big), b(0, 0))), "section 13 (tag): tag count 1000000 exceeds the 2 bytes left"},
		{"tag attribute", mod(sec(13, vec(b(1, 0)))), "section 13 (tag) entry 0: tag attribute 0x01"},

		{"custom section name", mod(sec(0, uleb(big), []byte("abc"))), "section 0 (custom): custom section name length 1000000 exceeds the 3 bytes left"},
		{"custom section name after a valid module", cat(kitchenSink(), sec(0, uleb(4), []byte("abc"))), "section 0 (custom): custom section name length 4 exceeds the 3 bytes left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wasmcheck.Check(tc.bin)
			if err == nil {
				t.Fatalf("Check accepted %q", tc.bin)
			}
			if !errors.Is(err, wasmcheck.ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tc.want)
			}
			if limit := strings.Contains(tc.name, "too many") || strings.Contains(tc.name, "weight") || strings.Contains(tc.name, "local count") ||
				strings.Contains(tc.name, "local sum") || strings.Contains(tc.name, "locals of all"); limit != errors.Is(err, wasmcheck.ErrLimit) {
				t.Fatalf("errors.Is(%v, ErrLimit) = %v", err, !limit)
			}
		})
	}
}

// TestAccepts: edge cases that are well-formed.
func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		bin  []byte
	}{
		{"padded LEBs (as the Go linker writes)", mod(
			sec(1, vec(functype(nil, nil))),
			sec(3, b(0x81, 0x80, 0x80, 0x80, 0x00), b(0x80, 0x80, 0x80, 0x80, 0x00)),
			sec(10, b(0x81, 0x80, 0x00), b(0x83, 0x80, 0x80, 0x80, 0x00, 0x80, 0x00, end)),
		)},
		{"u32 max", mod(sec(8, b(0xff, 0xff, 0xff, 0xff, 0x0f)))},
		{"s32 min and max", mod(sec(6, vec(
			b(i32, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, end),
			b(i32, 0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, end),
		)))},
		{"s64 min and max", mod(sec(6, vec(
			cat(b(i64, 0, 0x42), repeat(0x80, 9), b(0x7f, end)),
			cat(b(i64, 0, 0x42), repeat(0xff, 9), b(0x00, end)),
		)))},
		{"MaxLocals in one function", mod(sec(10, vec(body([][2]uint64{{wasmcheck.MaxLocals - 1, i32}, {1, v128}}, end))))},
		{"MaxParams and MaxResults", mod(sec(1, vec(functype(repeat(i32, wasmcheck.MaxParams), nil), functype(nil, repeat(i32, wasmcheck.MaxResults)))))},
		{"empty sections", mod(sec(1, vec()), sec(3, vec()), sec(10, vec()), sec(0, str("")))},
		{"shared memory limits", mod(sec(5, vec(b(0x03, 0x01, 0x02))))},
		{"ref.null of a type index", mod(sec(6, vec(b(0x63, 0x00, 0x00, 0xd0, 0x00, end))))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := wasmcheck.Check(tc.bin); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWithoutCustomSections(t *testing.T) {
	plain := hosttest.Minimal().Build()
	if got := wasmcheck.WithoutCustomSections(plain); &got[0] != &plain[0] || len(got) != len(plain) {
		t.Fatal("a module without custom sections should be returned as is")
	}
	custom := func(name string) []byte { return sec(0, str(name), []byte("payload")) }
	// Insert custom sections first, between two sections, and last.
	var with []byte
	with = append(with, plain[:8]...)
	with = append(with, custom("first")...)
	first := 8 + 2 + int(plain[9]) // the type section (size < 128)
	with = append(with, plain[8:first]...)
	with = append(with, custom("name")...)
	with = append(with, plain[first:]...)
	with = append(with, custom("last")...)
	orig := bytes.Clone(with)
	got := wasmcheck.WithoutCustomSections(with)
	if !bytes.Equal(got, plain) {
		t.Fatalf("got %x\nwant %x", got, plain)
	}
	if !bytes.Equal(with, orig) {
		t.Fatal("input modified")
	}
	if err := wasmcheck.Check(with); err != nil {
		t.Fatal(err)
	}

	// Not a module, or a malformed one: whatever cannot be parsed is kept.
	for _, bin := range [][]byte{nil, []byte("not wasm"), []byte("\x00asm\x01\x00\x00\x00\x00")} {
		if got := wasmcheck.WithoutCustomSections(bin); !bytes.Equal(got, bin) {
			t.Fatalf("%q became %q", bin, got)
		}
	}
	broken := cat(mod(custom("x")), b(0x01, 0xff))
	if got := wasmcheck.WithoutCustomSections(broken); !bytes.Equal(got, cat(mod(), b(0x01, 0xff))) {
		t.Fatalf("got %q", got)
	}
	overrun := cat(mod(custom("x")), b(0x00, 0x7f, 0x01))
	if got := wasmcheck.WithoutCustomSections(overrun); !bytes.Equal(got, cat(mod(), b(0x00, 0x7f, 0x01))) {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkCheck(b *testing.B) {
	bin := hosttest.Guest(b, "host/hosttest/guests/probe")
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	for b.Loop() {
		if err := wasmcheck.Check(bin); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWorstCases: modules of at most 64 KiB at the limits pass Check, and
// wazero's interpreter compiles them within FuzzCheck's 64 MiB; just over
// the limits, Check rejects them.
func TestWorstCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bin      []byte
		accepted bool
	}{
		{"32000 calls of 16 results", callResults(32000, wasmcheck.MaxResults), true},
		{"32000 calls of 17 results", callResults(32000, wasmcheck.MaxResults+1), false},
		{"16000 blocks of 16 results", blockResults(16000, wasmcheck.MaxResults), true},
		{"2 functions of 50000 locals in 60 KiB", manyLocals(2, wasmcheck.MaxLocals, 60000), true},
		{"3 functions of 50000 locals in 60 KiB", manyLocals(3, wasmcheck.MaxLocals, 60000), false},
		{"1000 functions of 50000 locals", manyLocals(1000, wasmcheck.MaxLocals, 0), false},
		{"a type of 1000 params", mod(sec(1, vec(functype(repeat(externref, wasmcheck.MaxParams), nil)))), true},
		{"types of 1000 and 250 params", mod(sec(1, vec(functype(repeat(i32, wasmcheck.MaxParams), nil), functype(repeat(i32, 250), nil)))), false},
		{"60 types of 128 params", mod(sec(1, vec(func() (ts [][]byte) {
			for range 60 {
				ts = append(ts, functype(repeat(externref, 128), nil))
			}
			return ts
		}()...))), true},
		{"br_table of 65000 targets", brTable(65000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.bin) > fuzzMaxInput {
				t.Fatalf("%d bytes, more than %d", len(tc.bin), fuzzMaxInput)
			}
			err := wasmcheck.Check(tc.bin)
			if !tc.accepted {
				if !errors.Is(err, wasmcheck.ErrLimit) {
					t.Fatalf("Check: %v, want an ErrLimit", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := compileAlloc(t, tc.bin)
			if err != nil {
				t.Fatalf("does not compile: %v", err)
			}
			t.Logf("%d bytes; compiling allocated %.1f MiB", len(tc.bin), float64(n)/(1<<20))
			if n > fuzzMaxAlloc {
				t.Fatalf("compiling allocated %d MiB", n>>20)
			}
		})
	}
}

// TestNameSectionBomb: Check does not look inside custom sections, and
// wazero's decoder of the "name" section allocates by the counts it reads
// (here 4 billion function names, in 8 bytes): which is why the engine
// compiles WithoutCustomSections(bin), never bin.
func TestNameSectionBomb(t *testing.T) {
	bomb := sec(0, str("name"), b(0x01, 0x05), uleb(0xffff_fff0))
	bin := cat(hosttest.Minimal().Build(), bomb)
	if err := wasmcheck.Check(bin); err != nil {
		t.Fatalf("Check: %v", err)
	}
	stripped := wasmcheck.WithoutCustomSections(bin)
	if !bytes.Equal(stripped, hosttest.Minimal().Build()) {
		t.Fatal("the name section was not removed")
	}
	n, err := compileAlloc(t, stripped)
	if err != nil || n > fuzzMaxAlloc {
		t.Fatalf("compile: %v, %d bytes allocated", err, n)
	}
}

func TestTableEntriesBounded(t *testing.T) {
	// two tables of 2^24 funcref entries each, no bytes behind them
	bin := []byte("\x00asm\x01\x00\x00\x00" +
		"\x04\x0a\x02" + "\x70\x00\x80\x80\x80\x08" + "\x70\x00\x00")
	err := wasmcheck.Check(bin)
	if err == nil || !errors.Is(err, wasmcheck.ErrLimit) || !strings.Contains(err.Error(), "tables declare") {
		t.Fatalf("err = %v; want the table-entries limit", err)
	}
	ok := []byte("\x00asm\x01\x00\x00\x00" + "\x04\x04\x01" + "\x70\x00\x10")
	if err := wasmcheck.Check(ok); err != nil {
		t.Fatalf("a 16-entry table: %v", err)
	}
}
