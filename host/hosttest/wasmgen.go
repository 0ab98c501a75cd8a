package hosttest

// A tiny Wasm binary writer: enough to make modules with chosen imports,
// exports and memory for validation tests and fuzz seeds, without a WAT
// toolchain.

// Func is a function type.
type Func struct{ Params, Results []byte }

// Import is a function import.
type Import struct {
	Module, Name string
	Type         Func
}

// Export is a function export whose body returns zero values, except an
// i32 result, which is Returns (0–63).
type Export struct {
	Name    string
	Type    Func
	Returns int32
}

// Spec describes a module.
type Spec struct {
	Imports []Import
	Exports []Export
	// MemoryPages is the minimum memory size; -1 means no memory at all.
	MemoryPages int
	// MemoryName is the memory export's name ("memory" when empty).
	MemoryName string
	// ImportMemory imports env.memory instead of defining one.
	ImportMemory bool
}

const (
	I32 = 0x7f
	I64 = 0x7e
)

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func vec(items [][]byte) []byte {
	out := uleb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// Build encodes the module.
func (s Spec) Build() []byte {
	var types [][]byte
	typeIdx := func(f Func) uint64 {
		enc := append([]byte{0x60}, uleb(uint64(len(f.Params)))...)
		enc = append(enc, f.Params...)
		enc = append(enc, uleb(uint64(len(f.Results)))...)
		enc = append(enc, f.Results...)
		for i, t := range types {
			if string(t) == string(enc) {
				return uint64(i)
			}
		}
		types = append(types, enc)
		return uint64(len(types) - 1)
	}
	var imports, funcs, exports, codes [][]byte
	for _, im := range s.Imports {
		imports = append(imports, append(append(name(im.Module), name(im.Name)...), append([]byte{0x00}, uleb(typeIdx(im.Type))...)...))
	}
	if s.ImportMemory {
		imports = append(imports, append(append(name("env"), name("memory")...), 0x02, 0x00, 0x01))
	}
	for i, ex := range s.Exports {
		funcs = append(funcs, uleb(typeIdx(ex.Type)))
		exports = append(exports, append(name(ex.Name), append([]byte{0x00}, uleb(uint64(len(s.Imports)+i))...)...))
		var body []byte
		body = append(body, 0x00) // no locals
		for _, r := range ex.Type.Results {
			if r == I64 {
				body = append(body, 0x42, 0x00)
			} else {
				body = append(body, 0x41, byte(ex.Returns&0x3f)) // signed LEB128 of 0–63
			}
		}
		body = append(body, 0x0b)
		codes = append(codes, append(uleb(uint64(len(body))), body...))
	}
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	out = append(out, section(1, vec(types))...)
	if len(imports) > 0 {
		out = append(out, section(2, vec(imports))...)
	}
	out = append(out, section(3, vec(funcs))...)
	if s.MemoryPages >= 0 && !s.ImportMemory {
		out = append(out, section(5, vec([][]byte{append([]byte{0x00}, uleb(uint64(s.MemoryPages))...)}))...)
		mn := s.MemoryName
		if mn == "" {
			mn = "memory"
		}
		exports = append(exports, append(name(mn), 0x02, 0x00))
	}
	out = append(out, section(7, vec(exports))...)
	out = append(out, section(10, vec(codes))...)
	return out
}

// Minimal returns a valid ABI v1 module spec that does nothing.
func Minimal() Spec {
	return Spec{
		MemoryPages: 1,
		Exports: []Export{
			{Name: "gatehouse_abi_v1", Type: Func{Results: []byte{I32}}},
			{Name: "on_request", Type: Func{Params: []byte{I32, I32}, Results: []byte{I32}}},
		},
	}
}
