package wasmcheck

import "fmt"

// Func is a function a module imports or exports, with its type. Params
// and Results hold value types as their binary codes (0x7f is i32); a
// reference type with a heap type is its prefix byte (0x63 or 0x64).
type Func struct {
	Module, Name    string // Module is empty for an export
	Params, Results []byte
}

// Interface is what a module imports and exports as functions.
type Interface struct {
	Imports []Func          // function imports, in order
	Exports map[string]Func // function exports by name
}

// FuncInterface reads bin's function imports and exports with their types,
// from the type, import, function and export sections alone. It allocates
// in proportion to what those sections hold, not to the code.
//
// It is what the engine inspects a module with instead of wazero's
// ImportedFunctions and ExportedFunctions: either builds a definition of
// every function of the module at once and keeps them with the compiled
// module (0.5 MB of heap for the built-in module, for as long as it is
// loaded). A malformed bin gets an error wrapping ErrMalformed, never a
// panic; bin is meant to have passed Check and wazero's decoder already.
func FuncInterface(bin []byte) (*Interface, error) {
	if len(bin) < 8 || string(bin[:8]) != string(header[:]) {
		return nil, fmt.Errorf("%w: no \\0asm version 1 header", ErrMalformed)
	}
	type sig struct{ params, results []byte }
	type export struct {
		name string
		fn   uint32 // function index
	}
	var (
		types    []sig
		funcType []uint32 // type index of every function: imports, then defined
		exports  []export // function exports, typed once every section is read
		m        budget
		it       = &Interface{Exports: map[string]Func{}}
	)
	for off, index := 8, 0; off < len(bin); index++ {
		sec, next, err := nextSection(bin, off, index)
		if err != nil {
			return nil, err
		}
		off = next
		c := &cursor{b: bin[sec.start:sec.end], id: sec.id, entry: -1, m: &m}
		switch sec.id {
		case secType:
			err = c.vector("type count", 1, func() error {
				n := uint32(1)
				if c.p < len(c.b) && c.b[c.p] == formRec {
					c.p++
					var err error
					if n, err = c.count("rec group type count", minFunc); err != nil {
						return err
					}
				}
				for j := uint32(0); j < n; j++ {
					start := c.p
					if err := c.functype(); err != nil {
						return err
					}
					p, r := functypeCodes(c.b[start:c.p])
					types = append(types, sig{p, r})
				}
				return nil
			})
		case secImport:
			err = c.vector("import count", 4, func() error {
				mod, err := c.str("module name")
				if err != nil {
					return err
				}
				name, err := c.str("import name")
				if err != nil {
					return err
				}
				if c.p < len(c.b) && c.b[c.p] == 0x00 {
					c.p++
					ti, err := c.u32("function type index")
					if err != nil {
						return err
					}
					funcType = append(funcType, ti)
					it.Imports = append(it.Imports, Func{Module: mod, Name: name})
					return nil
				}
				return c.importKind()
			})
		case secFunction:
			err = c.vector("function count", 1, func() error {
				ti, err := c.u32("type index")
				funcType = append(funcType, ti)
				return err
			})
		case secExport:
			err = c.vector("export count", 1, func() error {
				name, err := c.str("export name")
				if err != nil {
					return err
				}
				kind, err := c.byte("export kind")
				if err != nil {
					return err
				}
				ix, err := c.u32("export index")
				if err == nil && kind == 0x00 {
					exports = append(exports, export{name, ix})
				}
				return err
			})
		}
		if err != nil {
			return nil, err
		}
	}
	typeOf := func(fi uint32, what string) (sig, error) {
		if int64(fi) >= int64(len(funcType)) {
			return sig{}, fmt.Errorf("%w: %s: function index %d out of range (%d functions)", ErrMalformed, what, fi, len(funcType))
		}
		ti := funcType[fi]
		if int64(ti) >= int64(len(types)) {
			return sig{}, fmt.Errorf("%w: %s: type index %d out of range (%d types)", ErrMalformed, what, ti, len(types))
		}
		return types[ti], nil
	}
	for i := range it.Imports {
		s, err := typeOf(uint32(i), "import "+it.Imports[i].Module+"."+it.Imports[i].Name)
		if err != nil {
			return nil, err
		}
		it.Imports[i].Params, it.Imports[i].Results = s.params, s.results
	}
	for _, e := range exports {
		s, err := typeOf(e.fn, "export "+e.name)
		if err != nil {
			return nil, err
		}
		it.Exports[e.name] = Func{Name: e.name, Params: s.params, Results: s.results}
	}
	return it, nil
}

// str reads a name and returns it.
func (c *cursor) str(what string) (string, error) {
	start := c.p
	if err := c.name(what); err != nil {
		return "", err
	}
	n, k := readU(c.b[start:c.p])
	return string(c.b[start+k : start+k+int(n)]), nil
}

// functypeCodes splits a function type Check has walked (0x60, params,
// results) into the first byte of each value type.
func functypeCodes(b []byte) (params, results []byte) {
	c := &cursor{b: b, p: 1, entry: -1}
	for k := 0; k < 2; k++ {
		n, _ := c.u32("count")
		codes := make([]byte, 0, n)
		for range n {
			codes = append(codes, c.b[c.p])
			_ = c.valtype("value type") // checked before: cannot fail
		}
		if k == 0 {
			params = codes
		} else {
			results = codes
		}
	}
	return params, results
}
