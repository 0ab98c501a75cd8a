// Package wasmcheck walks a WebAssembly module's binary structure before a
// decoder sees it, and rejects any module whose declared counts or sizes
// cannot fit in the bytes that follow.
//
// wazero's binary decoder (v1.12) allocates slices sized by counts read from
// the module before it checks them against the input: a 24-byte module whose
// type section declares a function type with 3,882,802,619 results is
// enough to make the Go runtime die with "fatal error: runtime: out of
// memory", which no recover can catch. Check parses every section of the
// WebAssembly 2.0 binary format (plus the extensions wazero 1.12 decodes:
// the tag section, tag imports and exports, typed references, rec groups,
// table initializer expressions, shared-memory limits and extended constant
// expressions) far enough to bound every vector, name, local declaration and
// data segment by the bytes actually present. It allocates nothing in
// proportion to a declared count, and decodes function bodies only as far
// as their local declarations.
//
// Beyond sizes, Check enforces a few limits (MaxLocals, LocalsPerCodeByte,
// MaxParams, MaxResults, MaxTypeWeight) where wazero's validator and
// compilers spend memory out of proportion to the bytes that declare it.
// Order, index ranges, types and features are left to wazero.
//
// Check reads custom sections' names only, and wazero's decoder of the
// "name" custom section allocates by declared counts too: compile
// WithoutCustomSections(bin), not bin.
package wasmcheck

import (
	"errors"
	"fmt"
)

// ErrMalformed wraps every error Check returns.
var ErrMalformed = errors.New("malformed wasm binary")

// ErrLimit also wraps the errors for modules that are well-formed but
// exceed one of the limits below.
var ErrLimit = errors.New("over an implementation limit")

// Limits beyond "fits in the bytes that follow". Each bounds a place where
// wazero 1.12 spends memory out of proportion to the bytes that declare it,
// and each is far above what compilers emit: real Go, TinyGo, Rust and Zig
// modules declare under 0.02 locals per code byte and under 1,000 per
// function, and function types of a few params and at most 2 results.
const (
	// MaxLocals caps the locals one function declares (the sum over its
	// local declarations, not counting params), as browsers do. wazero's
	// decoder allocates a byte per declared local before reading the body,
	// and its compilers emit code for each (the interpreter a 64-byte op).
	MaxLocals = 50_000
	// LocalsPerCodeByte bounds the locals of all functions together: at
	// most MaxLocals plus this many per byte of the code section. Without
	// it, 100 bodies declaring 50,000 locals each (821 bytes in all) made
	// wazero's interpreter allocate 322 MiB, and its compiler retains 8
	// bytes per local.
	LocalsPerCodeByte = 1
	// MaxParams caps a function type's params, as browsers do.
	MaxParams = 1000
	// MaxResults caps a function type's results. Each call (2 bytes) or
	// block of a type pushes its results on the validator's and the
	// compiler's value stacks: 32,000 calls of a function with 64 results
	// (64 KiB) made wazero's compiler allocate 711 MiB, 1000 results would
	// reach wazero's own limit of 2^27 stack values. 16 is what the
	// WebAssembly spec tests use; compilers emit 1 or 2.
	MaxResults = 16
	// MaxTypeWeight bounds the sum over all function types of
	// (params+results)²: wazero builds each type's key string by repeated
	// concatenation, allocating quadratically in its length (one type with
	// 60,000 params, in 60 KiB, allocated 5 GiB).
	MaxTypeWeight = 1 << 20

	// MaxTableEntries bounds the sum of all tables' minimum sizes. Go guests
	// declare one table of a few thousand entries.
	MaxTableEntries = 1 << 20
)

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var sectionNames = [...]string{
	secCustom:    "custom",
	secType:      "type",
	secImport:    "import",
	secFunction:  "function",
	secTable:     "table",
	secMemory:    "memory",
	secGlobal:    "global",
	secExport:    "export",
	secStart:     "start",
	secElement:   "element",
	secCode:      "code",
	secData:      "data",
	secDataCount: "data count",
	secTag:       "tag",
}

var header = [8]byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// Check walks the module's binary structure and rejects anything whose
// declared counts or sizes cannot fit in the bytes that follow, before a
// decoder allocates for them. Every error wraps ErrMalformed and says where
// the problem is, e.g. "section 1 (type) entry 0: result count 3882802619
// exceeds the 3 bytes left". Errors for modules over a limit also wrap
// ErrLimit.
func Check(bin []byte) error {
	if len(bin) < 4 || string(bin[:4]) != string(header[:4]) {
		return fmt.Errorf("%w: no \\0asm magic", ErrMalformed)
	}
	if len(bin) < 8 || string(bin[4:8]) != string(header[4:]) {
		return fmt.Errorf("%w: unsupported binary version (want 1)", ErrMalformed)
	}
	var m budget
	for off, index := 8, 0; off < len(bin); index++ {
		sec, next, err := nextSection(bin, off, index)
		if err != nil {
			return err
		}
		c := &cursor{b: bin[sec.start:sec.end], id: sec.id, entry: -1, m: &m}
		if err := c.section(); err != nil {
			return err
		}
		if c.left() != 0 {
			c.entry = -1
			c.sub = ""
			return c.fail("%s after the section's contents", nbytes(c.left()))
		}
		off = next
	}
	return nil
}

// WithoutCustomSections returns bin with every custom section (id 0)
// removed. Custom sections carry no semantics; dropping them before decoding
// takes the "name" section's decoder (and wazero's copy of every other
// custom section) out of the attack surface. bin is never modified: when it
// holds no custom section it is returned as is, otherwise the result is a
// new slice. Bytes after a section header that cannot be parsed are kept
// unchanged, so the decoder still sees (and rejects) a malformed module.
func WithoutCustomSections(bin []byte) []byte {
	if len(bin) < 8 || string(bin[:8]) != string(header[:]) {
		return bin
	}
	var out []byte
	kept := 0 // bin[:kept] has been copied to out (or needs no copy yet)
	off := 8
	for index := 0; off < len(bin); index++ {
		sec, next, err := nextSection(bin, off, index)
		if err != nil {
			break
		}
		if sec.id == secCustom {
			if out == nil {
				out = make([]byte, 0, len(bin)-(next-off))
			}
			out = append(out, bin[kept:off]...)
			kept = next
		}
		off = next
	}
	if out == nil {
		return bin
	}
	return append(out, bin[kept:]...)
}

type sectionSpan struct {
	id         byte
	start, end int // contents, as offsets in the module
}

// nextSection parses the section header at bin[off:].
func nextSection(bin []byte, off, index int) (sectionSpan, int, error) {
	id := bin[off]
	c := &cursor{b: bin[off+1:], id: id, entry: -1}
	if int(id) >= len(sectionNames) {
		return sectionSpan{}, 0, fmt.Errorf("%w: unknown section id %d (section %d of the module, at offset %d)", ErrMalformed, id, index, off)
	}
	size, err := c.u32("section size")
	if err != nil {
		return sectionSpan{}, 0, err
	}
	if uint64(size) > uint64(c.left()) {
		return sectionSpan{}, 0, c.fail("section size %d exceeds the %s left in the module", size, nbytes(c.left()))
	}
	start := off + 1 + c.p
	return sectionSpan{id: id, start: start, end: start + int(size)}, start + int(size), nil
}

// budget is what the module has declared so far, against the limits.
type budget struct {
	typeWeight uint64
	// tableEntries sums the minimum sizes of all tables (imported or defined).
	tableEntries uint64
	locals       uint64 // declared by all function bodies
	codeBytes    uint64 // size of the code section(s)
}

// cursor reads one section's contents. Every read is bounded by b, and
// every error names the section and the entry being read.
type cursor struct {
	b     []byte
	p     int
	id    byte
	entry int    // vector entry being read; -1 outside entries
	sub   string // a part of the entry being read ("rec group type", "local declaration")
	subi  uint32 // and its index
	pfx   string // what the value being read is part of ("global initializer")
	m     *budget
}

func (c *cursor) left() int { return len(c.b) - c.p }

func (c *cursor) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, c.where(), fmt.Sprintf(format, args...))
}

// overLimit is fail for a module over one of the limits; the error wraps
// ErrLimit too.
func (c *cursor) overLimit(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s (%w)", ErrMalformed, c.where(), fmt.Sprintf(format, args...), ErrLimit)
}

func (c *cursor) where() string {
	loc := fmt.Sprintf("section %d (%s)", c.id, sectionNames[c.id])
	if c.entry >= 0 {
		loc += fmt.Sprintf(" entry %d", c.entry)
	}
	if c.sub != "" {
		loc += fmt.Sprintf(" %s %d", c.sub, c.subi)
	}
	return loc
}

// nbytes is "1 byte" or "n bytes".
func nbytes(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// label is what with the prefix set by the caller (c.pfx), for errors:
// labels are only put together when a read fails.
func (c *cursor) label(what string) string {
	if c.pfx == "" {
		return what
	}
	return c.pfx + " " + what
}

// part sets the prefix for reads inside what, and returns the old one.
func (c *cursor) part(what string) (old string) {
	old, c.pfx = c.pfx, what
	return old
}

func (c *cursor) byte(what string) (byte, error) {
	if c.p >= len(c.b) {
		return 0, c.fail("%s: unexpected end of section", c.label(what))
	}
	v := c.b[c.p]
	c.p++
	return v, nil
}

func (c *cursor) skip(n int, what string) error {
	if n > c.left() {
		return c.fail("%s needs %s but %d left", c.label(what), nbytes(n), c.left())
	}
	c.p += n
	return nil
}

// leb reads an LEB128 number of at most maxLen bytes. last validates the
// final byte when the number takes all maxLen bytes (its unused high bits).
func (c *cursor) leb(what string, maxLen int, last func(byte) bool) (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		if i == maxLen {
			return 0, c.fail("%s: LEB128 longer than %d bytes", c.label(what), maxLen)
		}
		if c.p >= len(c.b) {
			return 0, c.fail("%s: unexpected end of section", c.label(what))
		}
		b := c.b[c.p]
		c.p++
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if i == maxLen-1 && !last(b) {
				return 0, c.fail("%s: LEB128 overflows its type", c.label(what))
			}
			return v, nil
		}
	}
}

func (c *cursor) u32(what string) (uint32, error) {
	v, err := c.leb(what, 5, func(b byte) bool { return b&0xf0 == 0 })
	return uint32(v), err
}

func (c *cursor) s32(what string) error {
	_, err := c.leb(what, 5, func(b byte) bool { return b&0x78 == 0 || b&0x78 == 0x78 })
	return err
}

func (c *cursor) s33(what string) error {
	_, err := c.leb(what, 5, func(b byte) bool { return b&0x70 == 0 || b&0x70 == 0x70 })
	return err
}

func (c *cursor) s64(what string) error {
	_, err := c.leb(what, 10, func(b byte) bool { return b == 0 || b == 0x7f })
	return err
}

// count reads a vector length and checks it against the bytes left, given
// that each element takes at least minSize bytes.
func (c *cursor) count(what string, minSize int) (uint32, error) {
	n, err := c.u32(what)
	if err != nil {
		return 0, err
	}
	if need := uint64(n) * uint64(minSize); need > uint64(c.left()) {
		if minSize == 1 {
			return 0, c.fail("%s %d exceeds the %s left", what, n, nbytes(c.left()))
		}
		return 0, c.fail("%s %d needs at least %d bytes, more than the %d left", what, n, need, c.left())
	}
	return n, nil
}

// name reads a vec(byte) name and checks its length fits.
func (c *cursor) name(what string) error {
	old := c.part(what)
	n, err := c.u32("length")
	c.pfx = old
	if err != nil {
		return err
	}
	if uint64(n) > uint64(c.left()) {
		return c.fail("%s length %d exceeds the %s left", c.label(what), n, nbytes(c.left()))
	}
	c.p += int(n)
	return nil
}

// Value type encodings.
const (
	vtI32       = 0x7f
	vtI64       = 0x7e
	vtF32       = 0x7d
	vtF64       = 0x7c
	vtV128      = 0x7b
	vtFuncref   = 0x70
	vtExternref = 0x6f
	vtExnref    = 0x69
	refNullable = 0x63 // (ref null ht)
	refNonNull  = 0x64 // (ref ht)
)

func (c *cursor) valtype(what string) error {
	b, err := c.byte(what)
	if err != nil {
		return err
	}
	switch b {
	case vtI32, vtI64, vtF32, vtF64, vtV128, vtFuncref, vtExternref, vtExnref:
		return nil
	case refNullable, refNonNull:
		return c.heapType(what)
	}
	return c.fail("%s: unknown value type 0x%02x", c.label(what), b)
}

func (c *cursor) reftype(what string) error {
	b, err := c.byte(what)
	if err != nil {
		return err
	}
	switch b {
	case vtFuncref, vtExternref, vtExnref:
		return nil
	case refNullable, refNonNull:
		return c.heapType(what)
	}
	return c.fail("%s: unknown reference type 0x%02x", c.label(what), b)
}

func (c *cursor) heapType(what string) error {
	old := c.part(c.label(what)) // only for reference types: rare
	err := c.s33("heap type")
	c.pfx = old
	return err
}

// limits reads flags 0x00 (min) or 0x01 (min, max), and the shared forms
// 0x02 and 0x03 of the threads proposal.
func (c *cursor) limits(what string) error {
	_, err := c.limitsMin(what)
	return err
}

// limitsMin is limits, returning the declared minimum.
func (c *cursor) limitsMin(what string) (uint32, error) {
	min, err := c.limitsRaw(what)
	return min, err
}

func (c *cursor) limitsRaw(what string) (uint32, error) {
	old := c.part(what)
	defer func() { c.pfx = old }()
	flags, err := c.byte("flags")
	if err != nil {
		return 0, err
	}
	if flags > 3 {
		return 0, c.fail("%s: unknown limits flags 0x%02x", what, flags)
	}
	min, err := c.u32("minimum")
	if err != nil {
		return 0, err
	}
	if flags&1 != 0 {
		if _, err := c.u32("maximum"); err != nil {
			return 0, err
		}
	}
	return min, nil
}

// tableLimits reads a table's limits and bounds the sum of all tables'
// minimum sizes: they are not backed by bytes in the file, and wazero
// allocates them at instantiation (two 2^24-entry tables in a 23-byte
// module cost 256 MiB).
func (c *cursor) tableLimits() error {
	min, err := c.limitsMin("table limits")
	if err != nil {
		return err
	}
	c.m.tableEntries += uint64(min)
	if c.m.tableEntries > MaxTableEntries {
		return c.overLimit("tables declare %d entries in all; the limit is %d", c.m.tableEntries, MaxTableEntries)
	}
	return nil
}

// tabletype is a reftype and limits, optionally prefixed by 0x40 0x00 and
// followed by an initializer expression (the function-references form
// wazero decodes).
func (c *cursor) tabletype() error {
	if c.p < len(c.b) && c.b[c.p] == 0x40 {
		c.p++
		b, err := c.byte("table type reserved byte")
		if err != nil {
			return err
		}
		if b != 0 {
			return c.fail("table type: 0x%02x after 0x40, want 0x00", b)
		}
		if err := c.reftype("table element type"); err != nil {
			return err
		}
		if err := c.tableLimits(); err != nil {
			return err
		}
		return c.constExpr("table initializer")
	}
	if err := c.reftype("table element type"); err != nil {
		return err
	}
	return c.tableLimits()
}

func (c *cursor) globaltype() error {
	if err := c.valtype("global type"); err != nil {
		return err
	}
	m, err := c.byte("global mutability")
	if err != nil {
		return err
	}
	if m > 1 {
		return c.fail("global mutability 0x%02x, want 0x00 or 0x01", m)
	}
	return nil
}

// Constant expression opcodes.
const (
	opEnd       = 0x0b
	opGlobalGet = 0x23
	opI32Const  = 0x41
	opI64Const  = 0x42
	opF32Const  = 0x43
	opF64Const  = 0x44
	opI32Add    = 0x6a
	opI32Sub    = 0x6b
	opI32Mul    = 0x6c
	opI64Add    = 0x7c
	opI64Sub    = 0x7d
	opI64Mul    = 0x7e
	opRefNull   = 0xd0
	opRefFunc   = 0xd2
	opSIMD      = 0xfd
	opV128Const = 0x0c
)

// constExpr reads instructions up to and including end. Each instruction
// is bounded by the bytes left in the section, so the expression is too.
func (c *cursor) constExpr(what string) error {
	old := c.part(what)
	defer func() { c.pfx = old }()
	for {
		op, err := c.byte("opcode")
		if err != nil {
			return err
		}
		switch op {
		case opEnd:
			return nil
		case opI32Const:
			err = c.s32("i32.const")
		case opI64Const:
			err = c.s64("i64.const")
		case opF32Const:
			err = c.skip(4, "f32.const")
		case opF64Const:
			err = c.skip(8, "f64.const")
		case opGlobalGet:
			_, err = c.u32("global.get index")
		case opRefFunc:
			_, err = c.u32("ref.func index")
		case opRefNull:
			// A one-byte abstract heap type or a type index (wazero reads
			// the latter as a u32, which s33 includes).
			err = c.s33("ref.null heap type")
		case opI32Add, opI32Sub, opI32Mul, opI64Add, opI64Sub, opI64Mul:
		case opSIMD:
			var sub byte
			if sub, err = c.byte("0xfd opcode"); err == nil {
				if sub != opV128Const {
					return c.fail("%s: opcode 0xfd 0x%02x is not allowed in a constant expression", what, sub)
				}
				err = c.skip(16, "v128.const")
			}
		default:
			return c.fail("%s: opcode 0x%02x is not allowed in a constant expression", what, op)
		}
		if err != nil {
			return err
		}
	}
}

// vector reads a count (each entry at least minSize bytes) and calls each
// for every entry, with c.entry set to its index.
func (c *cursor) vector(what string, minSize int, each func() error) error {
	n, err := c.count(what, minSize)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		c.entry, c.sub = int(i), ""
		if err := each(); err != nil {
			return err
		}
	}
	c.entry, c.sub = -1, ""
	return nil
}

func (c *cursor) section() error {
	switch c.id {
	case secCustom:
		if err := c.name("custom section name"); err != nil {
			return err
		}
		c.p = len(c.b) // the contents are opaque
		return nil
	case secType:
		return c.vector("type count", 1, c.typeEntry)
	case secImport:
		return c.vector("import count", 4, c.importEntry)
	case secFunction:
		return c.vector("function count", 1, func() error {
			_, err := c.u32("type index")
			return err
		})
	case secTable:
		return c.vector("table count", 1, c.tabletype)
	case secMemory:
		return c.vector("memory count", 1, func() error { return c.limits("memory limits") })
	case secGlobal:
		return c.vector("global count", 1, func() error {
			if err := c.globaltype(); err != nil {
				return err
			}
			return c.constExpr("global initializer")
		})
	case secExport:
		return c.vector("export count", 1, c.exportEntry)
	case secStart:
		_, err := c.u32("start function index")
		return err
	case secElement:
		return c.vector("element segment count", 1, c.elementEntry)
	case secCode:
		c.m.codeBytes += uint64(len(c.b))
		return c.vector("function body count", 1, c.codeEntry)
	case secData:
		return c.vector("data segment count", 1, c.dataEntry)
	case secDataCount:
		_, err := c.u32("data count")
		return err
	case secTag:
		return c.vector("tag count", 1, func() error {
			attr, err := c.byte("tag attribute")
			if err != nil {
				return err
			}
			if attr != 0 {
				return c.fail("tag attribute 0x%02x, want 0x00", attr)
			}
			_, err = c.u32("tag type index")
			return err
		})
	}
	return c.fail("unknown section id") // unreachable: nextSection checks ids
}

const (
	formFunc = 0x60 // func vec(valtype) vec(valtype)
	formRec  = 0x4e // rec vec(functype): a rec group, as wazero 1.12 decodes it
	minFunc  = 3    // 0x60, no params, no results
)

func (c *cursor) typeEntry() error {
	if c.p < len(c.b) && c.b[c.p] == formRec {
		c.p++
		n, err := c.count("rec group type count", minFunc)
		if err != nil {
			return err
		}
		for j := uint32(0); j < n; j++ {
			c.sub, c.subi = "rec group type", j
			if err := c.functype(); err != nil {
				return err
			}
		}
		return nil
	}
	return c.functype()
}

func (c *cursor) functype() error {
	form, err := c.byte("type form")
	if err != nil {
		return err
	}
	if form != formFunc {
		return c.fail("type form 0x%02x, want 0x60 (func) or 0x4e (rec)", form)
	}
	var weight uint64
	for _, v := range [...]struct {
		what, count, typ string
		limit            uint32
	}{{"param", "param count", "param type", MaxParams}, {"result", "result count", "result type", MaxResults}} {
		n, err := c.count(v.count, 1)
		if err != nil {
			return err
		}
		if n > v.limit {
			return c.overLimit("%d %ss; a function type may have at most %d", n, v.what, v.limit)
		}
		weight += uint64(n)
		for k := uint32(0); k < n; k++ {
			if err := c.valtype(v.typ); err != nil {
				return err
			}
		}
	}
	c.m.typeWeight += weight * weight
	if c.m.typeWeight > MaxTypeWeight {
		return c.overLimit("function types too large: the sum over types of (params+results)² reaches %d; the limit is %d", c.m.typeWeight, MaxTypeWeight)
	}
	return nil
}

func (c *cursor) importEntry() error {
	if err := c.name("module name"); err != nil {
		return err
	}
	if err := c.name("import name"); err != nil {
		return err
	}
	return c.importKind()
}

// importKind reads an import's kind and what it imports.
func (c *cursor) importKind() error {
	kind, err := c.byte("import kind")
	if err != nil {
		return err
	}
	switch kind {
	case 0x00:
		_, err = c.u32("function type index")
	case 0x01:
		err = c.tabletype()
	case 0x02:
		err = c.limits("memory limits")
	case 0x03:
		err = c.globaltype()
	case 0x04:
		var attr byte
		if attr, err = c.byte("tag attribute"); err == nil {
			if attr != 0 {
				return c.fail("tag attribute 0x%02x, want 0x00", attr)
			}
			_, err = c.u32("tag type index")
		}
	default:
		return c.fail("unknown import kind 0x%02x", kind)
	}
	return err
}

func (c *cursor) exportEntry() error {
	if err := c.name("export name"); err != nil {
		return err
	}
	kind, err := c.byte("export kind")
	if err != nil {
		return err
	}
	if kind > 0x04 {
		return c.fail("unknown export kind 0x%02x", kind)
	}
	_, err = c.u32("export index")
	return err
}

// elementEntry reads one of the eight element segment forms:
//
//	0: expr vec(funcidx)                      4: expr vec(expr)
//	1: elemkind vec(funcidx)                  5: reftype vec(expr)
//	2: tableidx expr elemkind vec(funcidx)    6: tableidx expr reftype vec(expr)
//	3: elemkind vec(funcidx)                  7: reftype vec(expr)
func (c *cursor) elementEntry() error {
	flags, err := c.u32("element segment flags")
	if err != nil {
		return err
	}
	if flags > 7 {
		return c.fail("unknown element segment flags %d", flags)
	}
	if flags&3 == 2 { // active with a table index
		if _, err := c.u32("table index"); err != nil {
			return err
		}
	}
	if flags&1 == 0 { // active
		if err := c.constExpr("offset expression"); err != nil {
			return err
		}
	}
	if flags&4 == 0 {
		if flags != 0 {
			k, err := c.byte("element kind")
			if err != nil {
				return err
			}
			if k != 0 {
				return c.fail("element kind 0x%02x, want 0x00 (funcref)", k)
			}
		}
		n, err := c.count("function index count", 1)
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if _, err := c.u32("function index"); err != nil {
				return err
			}
		}
		return nil
	}
	if flags != 4 {
		if err := c.reftype("element type"); err != nil {
			return err
		}
	}
	n, err := c.count("element expression count", 1)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		c.sub, c.subi = "element", i
		if err := c.constExpr("element expression"); err != nil {
			return err
		}
	}
	c.sub = ""
	return nil
}

func (c *cursor) dataEntry() error {
	flags, err := c.u32("data segment flags")
	if err != nil {
		return err
	}
	switch flags {
	case 0:
		err = c.constExpr("offset expression")
	case 1:
	case 2:
		if _, err = c.u32("memory index"); err == nil {
			err = c.constExpr("offset expression")
		}
	default:
		return c.fail("unknown data segment flags %d", flags)
	}
	if err != nil {
		return err
	}
	n, err := c.u32("data length")
	if err != nil {
		return err
	}
	if uint64(n) > uint64(c.left()) {
		return c.fail("data length %d exceeds the %s left", n, nbytes(c.left()))
	}
	c.p += int(n)
	return nil
}

// codeEntry checks one function body: its size fits, its local
// declarations fit in it and declare at most MaxLocals locals, and it ends
// with an end opcode. Instructions are not decoded.
func (c *cursor) codeEntry() error {
	size, err := c.u32("body size")
	if err != nil {
		return err
	}
	if uint64(size) > uint64(c.left()) {
		return c.fail("body size %d exceeds the %s left", size, nbytes(c.left()))
	}
	if size == 0 {
		return c.fail("empty function body")
	}
	body := &cursor{b: c.b[c.p : c.p+int(size)], id: c.id, entry: c.entry, m: c.m}
	c.p += int(size)
	n, err := body.count("local declaration count", 2)
	if err != nil {
		return err
	}
	var sum uint64
	for i := uint32(0); i < n; i++ {
		body.sub, body.subi = "local declaration", i
		k, err := body.u32("local count")
		if err != nil {
			return err
		}
		sum += uint64(k)
		if sum > MaxLocals {
			return body.overLimit("declares %d locals in all; a function may have at most %d", sum, MaxLocals)
		}
		if err := body.valtype("local type"); err != nil {
			return err
		}
	}
	body.sub = ""
	c.m.locals += sum
	if limit := MaxLocals + LocalsPerCodeByte*c.m.codeBytes; c.m.locals > limit {
		return body.overLimit("functions declare %d locals in all; the limit for a %d-byte code section is %d", c.m.locals, c.m.codeBytes, limit)
	}
	if body.left() == 0 {
		return body.fail("function body has no instructions (missing end)")
	}
	if body.b[len(body.b)-1] != opEnd {
		return body.fail("function body does not end with end (0x0b)")
	}
	return nil
}
