package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// ErrInvalidModule wraps every load-time validation failure.
var ErrInvalidModule = errors.New("invalid policy module")

// Info is what validation learned about a module.
type Info struct {
	ABIMajor     int      `json:"abi_major"`
	ABIMinor     int      `json:"abi_minor"`
	OnRequest    bool     `json:"on_request"`
	OnResponse   bool     `json:"on_response"`
	Capabilities []string `json:"capabilities"`
	HostImports  []string `json:"host_imports"`
	WASIImports  []string `json:"wasi_imports"`
	MemoryMin    uint32   `json:"memory_min_pages"`
	Size         int      `json:"size_bytes"`

	initialize bool // exports _initialize
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidModule, fmt.Sprintf(format, a...))
}

var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d}

// MaxModuleSize caps a module's binary size (32 MiB).
const MaxModuleSize = 32 << 20

// precheck rejects what is obviously not a module before wazero sees it.
func precheck(bin []byte) error {
	switch {
	case len(bin) == 0:
		return invalid("empty file")
	case len(bin) > MaxModuleSize:
		return invalid("module is %d bytes; the limit is %d", len(bin), MaxModuleSize)
	case len(bin) < 8 || !bytes.Equal(bin[:4], wasmMagic):
		return invalid("not a WebAssembly module (no \\0asm header)")
	case bin[4] != 1 || bin[5] != 0 || bin[6] != 0 || bin[7] != 0:
		return invalid("unsupported WebAssembly binary version")
	}
	if err := wasmcheck.Check(bin); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// codes are value types as wasmcheck reads them (their binary codes).
func codes(ts []byte) []abi.ValType {
	out := make([]abi.ValType, len(ts))
	for i, t := range ts {
		out[i] = abi.ValType(t)
	}
	return out
}

func sigString(params, results []abi.ValType) string {
	f := func(ts []abi.ValType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			switch t {
			case abi.I32:
				s[i] = "i32"
			case abi.I64:
				s[i] = "i64"
			case 0x7d:
				s[i] = "f32"
			case 0x7c:
				s[i] = "f64"
			default:
				s[i] = "0x" + strconv.FormatUint(uint64(t), 16)
			}
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return f(params) + " -> " + f(results)
}

// inspect checks a compiled module's imports and exports against ABI v1.
func inspect(cm wazero.CompiledModule, bin []byte, maxPages uint32) (*Info, error) {
	info := &Info{ABIMajor: abi.Major}
	if ims := cm.ImportedMemories(); len(ims) > 0 {
		mod, name, _ := ims[0].Import()
		return nil, invalid("imports memory %s.%s; a module must define and export its own memory", mod, name)
	}
	allowedWASI := abi.AllowedWASI()
	caps := map[string]bool{}
	// The functions' interface is read from bin, not from cm: wazero's
	// ImportedFunctions and ExportedFunctions build and keep a definition of
	// every function of the module (wasmcheck.FuncInterface).
	fi, err := wasmcheck.FuncInterface(bin)
	if err != nil {
		return nil, invalid("%v", err)
	}
	for _, f := range fi.Imports {
		mod, name := f.Module, f.Name
		switch mod {
		case abi.HostModule:
			hf, ok := abi.LookupHostFunc(name)
			if !ok {
				return nil, invalid("imports %s.%s: no such host function in ABI v%d", mod, name, abi.Major)
			}
			got := sigString(codes(f.Params), codes(f.Results))
			want := sigString(hf.Sig.Params, hf.Sig.Results)
			if got != want {
				return nil, invalid("imports %s.%s with signature %s; ABI v%d says %s", mod, name, got, abi.Major, want)
			}
			caps[hf.Cap] = true
			info.HostImports = append(info.HostImports, name)
		case abi.WASIModule:
			if !slices.Contains(allowedWASI, name) {
				return nil, invalid("imports %s.%s, which is not an allowed WASI function", mod, name)
			}
			info.WASIImports = append(info.WASIImports, name)
		default:
			if strings.HasPrefix(mod, "gatehouse_v") {
				return nil, invalid("imports %s.%s: module is built for host module %q; this host provides %q", mod, name, mod, abi.HostModule)
			}
			return nil, invalid("imports %s.%s: module %q is not provided (allowed: %s, %s)", mod, name, mod, abi.HostModule, abi.WASIModule)
		}
	}
	for c := range caps {
		info.Capabilities = append(info.Capabilities, c)
	}
	sort.Strings(info.Capabilities)
	sort.Strings(info.HostImports)
	sort.Strings(info.WASIImports)

	exps := fi.Exports
	marker, ok := exps[abi.ExportVersion]
	if !ok {
		var other []string
		for n := range exps {
			if strings.HasPrefix(n, abi.ExportVersionPrefix) {
				other = append(other, n)
			}
		}
		if len(other) > 0 {
			sort.Strings(other)
			v := strings.TrimPrefix(other[0], abi.ExportVersionPrefix)
			return nil, invalid("module is built for ABI v%s (exports %s); this host speaks ABI v%d", v, other[0], abi.Major)
		}
		return nil, invalid("missing export %s (the ABI version marker); is this a Gatehouse policy module?", abi.ExportVersion)
	}
	if s := sigString(codes(marker.Params), codes(marker.Results)); s != "() -> (i32)" {
		return nil, invalid("export %s has signature %s; want () -> (i32)", abi.ExportVersion, s)
	}
	for _, name := range []string{abi.ExportOnRequest, abi.ExportOnResponse} {
		f, ok := exps[name]
		if !ok {
			continue
		}
		if s := sigString(codes(f.Params), codes(f.Results)); s != "(i32, i32) -> (i32)" {
			return nil, invalid("export %s has signature %s; want (i32, i32) -> (i32)", name, s)
		}
		if name == abi.ExportOnRequest {
			info.OnRequest = true
		} else {
			info.OnResponse = true
		}
	}
	if !info.OnRequest && !info.OnResponse {
		return nil, invalid("missing export: a module needs %s and/or %s", abi.ExportOnRequest, abi.ExportOnResponse)
	}
	if f, ok := exps[abi.ExportInitialize]; ok {
		info.initialize = true
		if s := sigString(codes(f.Params), codes(f.Results)); s != "() -> ()" {
			return nil, invalid("export %s has signature %s; want () -> ()", abi.ExportInitialize, s)
		}
	}
	mem, ok := cm.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return nil, invalid("missing export %q (linear memory)", abi.ExportMemory)
	}
	info.MemoryMin = mem.Min()
	if mem.Min() > maxPages {
		return nil, invalid("memory starts at %d pages (%d MiB); the limit is %d pages", mem.Min(), mem.Min()/16, maxPages)
	}
	return info, nil
}

// Validate checks a module binary against ABI v1 without keeping it: the
// same checks as Load, including one instantiation and the version marker
// call. It is what `gatehouse plugin validate` and module upload run.
func (e *Engine) Validate(ctx context.Context, bin []byte) (*Info, error) {
	m, err := e.Load(ctx, "validate", "0.0.0", bin, LoadOptions{Min: 1, Max: 1})
	if err != nil {
		return nil, err
	}
	info := m.Info()
	m.Close(ctx)
	return info, nil
}
