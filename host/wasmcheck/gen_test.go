package wasmcheck_test

// gen assembles a module from fuzz input: every choice (which sections,
// how many entries, which value types, what counts) is read from data, and
// section and body sizes are computed, so most outputs are well-formed and
// the fuzzer explores what they declare. A few choices deliberately lie
// (a count larger than the entries that follow) to exercise Check itself.
type gen struct {
	data []byte
	p    int
}

func (g *gen) byte() byte {
	if g.p >= len(g.data) {
		return 0
	}
	v := g.data[g.p]
	g.p++
	return v
}

func (g *gen) done() bool { return g.p >= len(g.data) }

// num is mostly small, sometimes up to 16 bits, rarely any u32.
func (g *gen) num() uint64 {
	b := g.byte()
	switch b >> 6 {
	case 0, 1:
		return uint64(b & 0x3f)
	case 2:
		return uint64(b&0x3f)<<8 | uint64(g.byte())
	}
	return uint64(g.byte()) | uint64(g.byte())<<8 | uint64(g.byte())<<16 | uint64(g.byte())<<24
}

// items makes n entries with f, but at most max of them, and writes the
// declared count (which lies, rarely, by declaring n when fewer follow).
func (g *gen) items(max int, f func() []byte) []byte {
	n := g.num()
	lie := n&0xff00 == 0xab00
	var out [][]byte
	for i := uint64(0); i < n && i < uint64(max) && !g.done(); i++ {
		out = append(out, f())
	}
	if lie {
		return cat(uleb(n), cat(out...))
	}
	return vec(out...)
}

func (g *gen) valtype() []byte {
	c := g.byte()
	switch {
	case c < 0xc0:
		return b([]byte{i32, i64, f32, f64}[c%4])
	case c < 0xe8:
		return b([]byte{v128, funcref, externref, 0x69}[c%4])
	case c < 0xf4:
		return cat(b(0x63), uleb(g.num()&0x3f))
	default:
		return cat(b(0x64), uleb(g.num()&0x3f))
	}
}

func (g *gen) valtypes(max int) []byte { return g.items(max, g.valtype) }

func (g *gen) limits() []byte {
	flags := g.byte() & 1
	if g.byte() == 0xff {
		flags |= 2 // shared
	}
	out := cat(b(flags), uleb(g.num()))
	if flags&1 != 0 {
		out = cat(out, uleb(g.num()))
	}
	return out
}

func (g *gen) reftype() []byte {
	switch g.byte() % 4 {
	case 0:
		return b(externref)
	case 1:
		return cat(b(0x63), uleb(g.num()&0xff))
	}
	return b(funcref)
}

func (g *gen) constExpr() []byte {
	var out []byte
	for n := g.byte() % 4; n > 0; n-- {
		switch g.byte() % 10 {
		case 0:
			out = cat(out, b(0x41), uleb(g.num()&0x3f))
		case 1:
			out = cat(out, b(0x42), uleb(g.num()&0x3f))
		case 2:
			out = cat(out, b(0x43), repeat(g.byte(), 4))
		case 3:
			out = cat(out, b(0x44), repeat(g.byte(), 8))
		case 4:
			out = cat(out, b(0x23), uleb(g.num()))
		case 5:
			out = cat(out, b(0xd0), g.reftype())
		case 6:
			out = cat(out, b(0xd2), uleb(g.num()))
		case 7:
			out = cat(out, b(0xfd, 0x0c), repeat(g.byte(), 16))
		case 8:
			out = cat(out, b(0x6a+g.byte()%3))
		default:
			out = cat(out, b(0x7c+g.byte()%3))
		}
	}
	return cat(out, b(end))
}

func (g *gen) name() []byte {
	n := int(g.byte() % 8)
	return str("abcdefgh"[:n])
}

// instr is one instruction, with plausible immediates.
func (g *gen) instr() []byte {
	switch op := g.byte(); op % 24 {
	case 0:
		return b(0x00) // unreachable
	case 1:
		return b(0x02, 0x40) // block
	case 2:
		return cat(b(0x02), uleb(g.num()&0xff)) // block (type i)
	case 3:
		return b(0x03, 0x40) // loop
	case 4:
		return b(0x0b) // end
	case 5: // br_table
		n := g.num() & 0x3ff
		out := cat(b(0x0e), uleb(n))
		for i := uint64(0); i < n; i++ {
			out = cat(out, uleb(g.num()&3))
		}
		return cat(out, uleb(g.num()&3))
	case 6:
		return cat(b(0x10), uleb(g.num()&0xff)) // call
	case 7:
		return cat(b(0x11), uleb(g.num()&0xff), b(0)) // call_indirect
	case 8:
		return cat(b(0x20), uleb(g.num())) // local.get
	case 9:
		return cat(b(0x21), uleb(g.num())) // local.set
	case 10:
		return cat(b(0x41), uleb(g.num()&0x3f)) // i32.const
	case 11:
		return b(0x1a) // drop
	case 12:
		return b(0x1b) // select
	case 13:
		return cat(b(0x1c), vec(g.valtype())) // select t
	case 14:
		return b(0x0c, 0x00) // br 0
	case 15:
		return b(0x0f) // return
	case 16:
		return cat(b(0x28, 0x02), uleb(g.num())) // i32.load
	case 17:
		return b(0x3f, 0x00) // memory.size
	case 18:
		return cat(b(0xd2), uleb(g.num()&0xff)) // ref.func
	case 19:
		return cat(b(0x23), uleb(g.num()&0xff)) // global.get
	case 20:
		return cat(b(0xfc), uleb(uint64(g.byte()%18)), uleb(g.num()&3), uleb(g.num()&3)) // 0xfc ops
	case 21:
		return cat(b(0xfd), uleb(g.num()&0xff)) // SIMD ops
	case 22:
		return b(0x04, 0x40) // if
	default:
		return b(0x6a) // i32.add
	}
}

func (g *gen) funcBody() []byte {
	locals := g.items(8, func() []byte { return cat(uleb(g.num()), g.valtype()) })
	var code []byte
	for n := g.byte() % 32; n > 0; n-- {
		code = cat(code, g.instr())
	}
	c := cat(locals, code, b(end))
	return cat(uleb(uint64(len(c))), c)
}

// module emits the sections in order, each present or not by choice.
func (g *gen) module() []byte {
	var out [][]byte
	present := uint16(g.byte()) | uint16(g.byte())<<8
	has := func(id int) bool { return present&(1<<id) != 0 }
	if has(0) {
		out = append(out, sec(0, str("name"), b(0x01), vec(cat(uleb(g.num()), g.name()))))
	}
	if has(1) {
		out = append(out, sec(1, g.items(64, func() []byte {
			if g.byte() == 0x4e {
				return cat(b(0x4e), g.items(4, func() []byte { return cat(b(0x60), g.valtypes(2000), g.valtypes(2000)) }))
			}
			return cat(b(0x60), g.valtypes(2000), g.valtypes(2000))
		})))
	}
	if has(2) {
		out = append(out, sec(2, g.items(64, func() []byte {
			imp := cat(g.name(), g.name())
			switch g.byte() % 5 {
			case 0:
				return cat(imp, b(0x00), uleb(g.num()&0xff))
			case 1:
				return cat(imp, b(0x01), g.reftype(), g.limits())
			case 2:
				return cat(imp, b(0x02), g.limits())
			case 3:
				return cat(imp, b(0x03), g.valtype(), b(g.byte()&1))
			}
			return cat(imp, b(0x04, 0x00), uleb(g.num()&0xff))
		})))
	}
	nfuncs := 0
	if has(3) {
		out = append(out, sec(3, g.items(20000, func() []byte { nfuncs++; return uleb(g.num() & 0xff) })))
	}
	if has(4) {
		out = append(out, sec(4, g.items(16, func() []byte {
			if g.byte()&7 == 0 {
				return cat(b(0x40, 0x00), g.reftype(), g.limits(), g.constExpr())
			}
			return cat(g.reftype(), g.limits())
		})))
	}
	if has(5) {
		out = append(out, sec(5, g.items(2, g.limits)))
	}
	if has(13) && g.byte() < 0x10 {
		out = append(out, sec(13, g.items(16, func() []byte { return cat(b(0x00), uleb(g.num()&0xff)) })))
	}
	if has(6) {
		out = append(out, sec(6, g.items(64, func() []byte { return cat(g.valtype(), b(g.byte()&1), g.constExpr()) })))
	}
	if has(7) {
		i := 0
		out = append(out, sec(7, g.items(64, func() []byte {
			i++
			return cat(str("e"+string(rune('a'+i%26))+string(rune('a'+i/26%26))), b(g.byte()%5), uleb(g.num()&0xff))
		})))
	}
	if has(8) {
		out = append(out, sec(8, uleb(g.num()&0xff)))
	}
	if has(9) {
		out = append(out, sec(9, g.items(16, func() []byte {
			flags := g.byte() % 8
			e := uleb(uint64(flags))
			if flags&3 == 2 {
				e = cat(e, uleb(g.num()&3))
			}
			if flags&1 == 0 {
				e = cat(e, g.constExpr())
			}
			if flags&4 == 0 {
				if flags != 0 {
					e = cat(e, b(0x00))
				}
				return cat(e, g.items(4096, func() []byte { return uleb(g.num() & 0xff) }))
			}
			if flags != 4 {
				e = cat(e, g.reftype())
			}
			return cat(e, g.items(1024, g.constExpr))
		})))
	}
	if has(12) {
		out = append(out, sec(12, uleb(g.num()&0xff)))
	}
	if has(10) {
		n := nfuncs
		if g.byte()&0xf == 0 {
			n = int(g.num() & 0xff)
		}
		var bodies [][]byte
		for i := 0; i < n && !g.done(); i++ {
			bodies = append(bodies, g.funcBody())
		}
		out = append(out, sec(10, vec(bodies...)))
	}
	if has(11) {
		out = append(out, sec(11, g.items(64, func() []byte {
			payload := repeat(g.byte(), int(g.num()&0xfff))
			switch g.byte() % 3 {
			case 0:
				return cat(b(0x00), g.constExpr(), uleb(uint64(len(payload))), payload)
			case 1:
				return cat(b(0x01), uleb(uint64(len(payload))), payload)
			}
			return cat(b(0x02, 0x00), g.constExpr(), uleb(uint64(len(payload))), payload)
		})))
	}
	return mod(out...)
}
