package wasmcheck_test

// Helpers to assemble module binaries by hand.

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

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func b(bs ...byte) []byte { return bs }

func str(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func sec(id byte, body ...[]byte) []byte {
	c := cat(body...)
	return cat(b(id), uleb(uint64(len(c))), c)
}

// vec prefixes the items with their count.
func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

// mod is the header followed by sections.
func mod(sections ...[]byte) []byte {
	return cat([]byte("\x00asm\x01\x00\x00\x00"), cat(sections...))
}

// body is a function body: local declarations (count, type pairs) and code.
func body(locals [][2]uint64, code ...byte) []byte {
	var ls [][]byte
	for _, l := range locals {
		ls = append(ls, cat(uleb(l[0]), b(byte(l[1]))))
	}
	c := cat(vec(ls...), code)
	return cat(uleb(uint64(len(c))), c)
}

func repeat(x byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = x
	}
	return out
}

const (
	i32, i64, f32, f64, v128 = 0x7f, 0x7e, 0x7d, 0x7c, 0x7b
	funcref, externref       = 0x70, 0x6f
	end                      = 0x0b
)

// functype encodes 0x60 vec(params) vec(results).
func functype(params, results []byte) []byte {
	return cat(b(0x60), uleb(uint64(len(params))), params, uleb(uint64(len(results))), results)
}

// kitchenSink is a valid module (for wazero's default CoreFeaturesV2) that
// uses every section but tag, every import and export kind but tag, every
// constant expression opcode but the extended-const ones, all eight element
// segment forms, all three data segment forms, and custom sections.
func kitchenSink() []byte {
	return mod(
		sec(0, str("producers"), []byte("opaque")),
		sec(1, vec(
			functype(nil, nil),
			functype(b(i32, i64, f32, f64), b(i32, i64)),
			functype(b(externref, funcref), nil),
			functype(b(v128), b(v128)),
		)),
		sec(2, vec(
			cat(str("env"), str("f"), b(0x00, 0x00)),
			cat(str("env"), str("tab"), b(0x01, funcref, 0x01, 0x04, 0x10)),
			cat(str("env"), str("g"), b(0x03, i32, 0x00)),
		)),
		sec(3, vec(b(0), b(1), b(2), b(3))),
		sec(4, vec(
			b(externref, 0x00, 0x00),
			b(funcref, 0x01, 0x02, 0x05),
		)),
		sec(5, vec(b(0x01, 0x01, 0x02))),
		sec(0, str("between"), []byte{1, 2, 3}),
		sec(6, vec(
			b(i32, 0x01, 0x41, 0x7f, end),
			cat(b(i64, 0x00, 0x42), repeat(0x80, 9), b(0x7f, end)),
			cat(b(f32, 0x00, 0x43), repeat(0, 4), b(end)),
			cat(b(f64, 0x00, 0x44), repeat(0, 8), b(end)),
			cat(b(v128, 0x00, 0xfd, 0x0c), repeat(7, 16), b(end)),
			b(funcref, 0x00, 0xd0, funcref, end),
			b(funcref, 0x00, 0xd2, 0x01, end),
			b(externref, 0x00, 0xd0, externref, end),
			b(i32, 0x00, 0x23, 0x00, end),
		)),
		sec(7, vec(
			cat(str("f1"), b(0x00, 0x01)),
			cat(str("mem"), b(0x02, 0x00)),
			cat(str("tab"), b(0x01, 0x00)),
			cat(str("g1"), b(0x03, 0x01)),
		)),
		sec(8, b(0x01)),
		sec(9, vec(
			b(0x00, 0x41, 0x00, end, 0x02, 0x01, 0x02),
			b(0x01, 0x00, 0x01, 0x01),
			b(0x02, 0x02, 0x41, 0x00, end, 0x00, 0x01, 0x03),
			b(0x03, 0x00, 0x01, 0x04),
			b(0x04, 0x41, 0x01, end, 0x02, 0xd2, 0x01, end, 0xd0, funcref, end),
			b(0x05, funcref, 0x01, 0xd2, 0x03, end),
			b(0x06, 0x02, 0x41, 0x01, end, funcref, 0x01, 0xd2, 0x01, end),
			b(0x07, funcref, 0x01, 0xd2, 0x04, end),
		)),
		sec(12, b(0x03)),
		sec(10, vec(
			body([][2]uint64{{2, i32}, {1, i64}}, end),
			body(nil, 0x20, 0x00, 0x20, 0x01, end),
			body(nil, end),
			body([][2]uint64{{1, v128}}, 0x20, 0x00, end),
		)),
		sec(11, vec(
			cat(b(0x00, 0x41, 0x00, end), str("hi")),
			cat(b(0x01), str("xyz")),
			cat(b(0x02, 0x00, 0x41, 0x08, end), str("ab")),
		)),
		sec(0, str("name"), b(0x00), str("sink")),
	)
}

// extensions is a module with what wazero decodes beyond WebAssembly 2.0:
// a tag section, tag import and export (exception handling), and extended
// constant expressions. It compiles with those features enabled.
func extensions() []byte {
	return mod(
		sec(1, vec(functype(b(i32), nil), functype(nil, nil))),
		sec(2, vec(
			cat(str("env"), str("t"), b(0x04, 0x00, 0x00)),
			cat(str("env"), str("g"), b(0x03, i32, 0x00)),
		)),
		sec(3, vec(b(1))),
		sec(13, vec(b(0x00, 0x00))),
		sec(6, vec(
			b(i32, 0x00, 0x23, 0x00, 0x41, 0x02, 0x6c, 0x41, 0x01, 0x6a, 0x41, 0x01, 0x6b, end),
			b(i64, 0x00, 0x42, 0x02, 0x42, 0x03, 0x7e, 0x42, 0x01, 0x7c, 0x42, 0x01, 0x7d, end),
		)),
		sec(7, vec(cat(str("tag"), b(0x04, 0x01)))),
		sec(10, vec(body(nil, end))),
	)
}

// typedRefs uses what wazero decodes of the function-references and GC
// proposals: (ref null ht) and (ref ht) value types, a rec group, a table
// with an initializer expression, ref.null of a type index, and a local of
// a reference type. It compiles with typed function references enabled.
func typedRefs() []byte {
	return mod(
		sec(1, vec(
			functype(nil, nil),
			cat(b(0x4e), vec(
				b(0x60, 1, 0x63, 0x00, 0), // (func (param (ref null 0)))
				b(0x60, 0, 1, 0x64, 0x01), // (func (result (ref 1)))
			)),
		)),
		sec(3, vec(b(0))),
		sec(4, vec(b(0x40, 0x00, 0x64, 0x00, 0x00, 0x01, 0xd2, 0x00, end))),
		sec(6, vec(b(0x63, 0x00, 0x00, 0xd0, 0x00, end))),
		sec(10, vec(cat(uleb(5), b(0x01, 0x01, 0x63, 0x00, end)))),
	)
}

// callResults is a function calling, calls times, a function with results
// results: each call pushes them on the value stacks.
func callResults(calls, results int) []byte {
	code := []byte{}
	for i := 0; i < calls; i++ {
		code = append(code, 0x10, 0x01)
	}
	code = append(code, 0x00, end) // unreachable end
	return mod(
		sec(1, vec(functype(nil, nil), functype(nil, repeat(i32, results)))),
		sec(3, vec(b(0), b(1))),
		sec(10, vec(body(nil, code...), body(nil, 0x00, end))),
	)
}

// blockResults is a function of blocks blocks whose type has results
// results: (block (type 1) unreachable end)*.
func blockResults(blocks, results int) []byte {
	code := []byte{}
	for i := 0; i < blocks; i++ {
		code = append(code, 0x02, 0x01, 0x00, end)
	}
	code = append(code, 0x00, end)
	return mod(
		sec(1, vec(functype(nil, nil), functype(nil, repeat(i32, results)))),
		sec(3, vec(b(0))),
		sec(10, vec(body(nil, code...))),
	)
}

// manyLocals is n functions declaring locals locals each, the first padded
// with pad nops.
func manyLocals(n int, locals uint64, pad int) []byte {
	var funcs, bodies [][]byte
	for i := 0; i < n; i++ {
		funcs = append(funcs, b(0))
		code := []byte{end}
		if i == 0 {
			code = append(repeat(0x01, pad), end)
		}
		bodies = append(bodies, body([][2]uint64{{locals, i32}}, code...))
	}
	return mod(sec(1, vec(functype(nil, nil))), sec(3, vec(funcs...)), sec(10, vec(bodies...)))
}

// brTable is one br_table of targets targets.
func brTable(targets int) []byte {
	code := []byte{0x02, 0x40, 0x41, 0x00, 0x0e}
	code = append(code, uleb(uint64(targets))...)
	code = append(code, repeat(0, targets+1)...)
	code = append(code, end, end)
	return mod(sec(1, vec(functype(nil, nil))), sec(3, vec(b(0))), sec(10, vec(body(nil, code...))))
}
