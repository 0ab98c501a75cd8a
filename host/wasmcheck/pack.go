package wasmcheck

import (
	"fmt"
	"slices"
)

// PackGap is the gap PackData is given by make and `gatehouse plugin
// build`: Go's linker leaves gaps of 8 to 64 bytes between most segments,
// and at 64 the built-in module's 51,034 segments become 19 while its data
// section grows from 1.73 to 2.24 MB (the gaps' zeros, less the 51,015
// segment headers it drops).
const PackGap = 64

// PackData returns bin with its data segments merged wherever one ends at
// most maxGap bytes before the next begins, the gap written as the zeros it
// already is in a fresh memory.
//
// Go's wasm linker splits the data section at every run of zeros: the
// built-in policy module has 51,034 segments for 1.3 MB of data. wazero
// decodes each into two allocations of its own, keeps them for as long as
// the compiled module lives (4.4 MB of heap for this module), and keeps a
// data instance per segment in every instance (1.2 MB each); merged at a
// gap of 64 bytes they are 19 segments and 2.2 MB, nothing per instance
// (docs/benchmarks.md "packed data segments").
//
// The module is unchanged in meaning: its memory after instantiation is
// byte for byte the same. PackData therefore only touches the simple case
// and returns bin itself (same slice, Packed.After == Packed.Before) when
// the module has a data count section or a passive segment (memory.init and
// data.drop name segments by index), a segment whose offset is not an
// i32.const, or two segments that overlap (where order decides which bytes
// win); and when the packed data section would be more than twice the size
// of the original (the gaps' zeros are written out: a module of tiny
// segments spaced maxGap apart must not make the host allocate many times
// its size). bin is never modified. Errors (malformed modules) are Check's.
func PackData(bin []byte, maxGap int) ([]byte, Packed, error) {
	if err := Check(bin); err != nil {
		return nil, Packed{}, err
	}
	return packChecked(bin, maxGap)
}

// ForCompile returns bin as the engine hands it to wazero: without custom
// sections (WithoutCustomSections) and with its data segments packed
// (PackData at PackGap). bin should have passed Check (on other bytes it
// never panics, and wazero rejects what it returns). It is bin itself when
// there is nothing to strip or pack — the built-in module, which make
// strips and packs, is compiled from the binary's read-only data without a
// copy — and at most two new slices otherwise (a Go module built without
// `gatehouse plugin build` gets both).
func ForCompile(bin []byte) []byte {
	stripped := WithoutCustomSections(bin)
	packed, p, err := packChecked(stripped, PackGap)
	if err != nil || p.After == p.Before {
		return stripped
	}
	return packed
}

// packChecked is PackData on a module that passed Check.
func packChecked(bin []byte, maxGap int) ([]byte, Packed, error) {
	if maxGap < 0 {
		maxGap = 0
	}
	data, err := findData(bin)
	if err != nil {
		return nil, Packed{}, err
	}
	if data.contents == nil {
		return bin, Packed{}, nil
	}
	segs, count, ok := activeSegments(data.contents)
	p := Packed{Before: count, After: count, SizeBefore: data.end - data.start, SizeAfter: data.end - data.start}
	if !ok || data.dataCount || len(segs) < 2 {
		return bin, p, nil
	}
	slices.SortStableFunc(segs, func(a, b segment) int {
		switch {
		case a.off < b.off:
			return -1
		case a.off > b.off:
			return 1
		}
		return 0
	})
	for i := 1; i < len(segs); i++ {
		if segs[i-1].end() > uint64(segs[i].off) {
			return bin, p, nil // overlap: order matters
		}
	}
	// Runs of segments to merge: [first, last] with every gap ≤ maxGap.
	type run struct {
		first, last int
	}
	runs := []run{{0, 0}}
	for i := 1; i < len(segs); i++ {
		r := &runs[len(runs)-1]
		if uint64(segs[i].off)-segs[r.last].end() <= uint64(maxGap) {
			r.last = i
		} else {
			runs = append(runs, run{i, i})
		}
	}
	if len(runs) == len(segs) {
		return bin, p, nil
	}
	// The zeros of the gaps are written out: a module of tiny segments
	// spaced maxGap apart would grow many times over (an upload of 32 MiB
	// packed into hundreds). Left as it is past twice its data section.
	size := 5 // count
	for _, r := range runs {
		size += 11 + int(segs[r.last].end()-uint64(segs[r.first].off)) // header: prefix, i32.const, offset, end, length
	}
	if size > 2*(data.end-data.start) {
		return bin, p, nil
	}
	body := make([]byte, 0, size)
	body = appendU32(body, uint32(len(runs)))
	for _, r := range runs {
		start := segs[r.first].off
		size := segs[r.last].end() - uint64(start)
		body = append(body, 0x00, 0x41) // active, memory 0; i32.const
		body = appendS32(body, int32(start))
		body = append(body, 0x0b)
		body = appendU32(body, uint32(size))
		at := uint64(start)
		for _, s := range segs[r.first : r.last+1] {
			for ; at < uint64(s.off); at++ {
				body = append(body, 0)
			}
			body = append(body, s.bytes...)
			at = s.end()
		}
	}
	out := make([]byte, 0, len(bin)-(data.end-data.start)+len(body)+6)
	out = append(out, bin[:data.start]...)
	out = append(out, secData)
	out = appendU32(out, uint32(len(body)))
	out = append(out, body...)
	newSize := len(out) - data.start
	out = append(out, bin[data.end:]...)
	p.After, p.SizeAfter = len(runs), newSize
	return out, p, nil
}

// Packed says what PackData did: data segments and data section bytes
// (header included) before and after.
type Packed struct {
	Before, After         int
	SizeBefore, SizeAfter int
}

func (p Packed) String() string {
	if p.After == p.Before {
		return fmt.Sprintf("%d data segments, left as they are", p.Before)
	}
	return fmt.Sprintf("%d data segments packed into %d (data section %d → %d bytes)", p.Before, p.After, p.SizeBefore, p.SizeAfter)
}

type segment struct {
	off   uint32
	bytes []byte
}

func (s segment) end() uint64 { return uint64(s.off) + uint64(len(s.bytes)) }

// dataSection is where a module's data section lies: its contents, and
// the whole section (header included) as offsets in the module.
type dataSection struct {
	contents   []byte // nil: the module has no data section
	start, end int
	dataCount  bool // the module has a data count section
}

// findData finds the data section (an error only for a module Check
// refuses: ForCompile and DataSpan may see one).
func findData(bin []byte) (dataSection, error) {
	var d dataSection
	for off, index := 8, 0; off < len(bin); index++ {
		sec, next, err := nextSection(bin, off, index)
		if err != nil {
			return dataSection{}, err
		}
		switch sec.id {
		case secDataCount:
			d.dataCount = true
		case secData:
			d.contents, d.start, d.end = bin[sec.start:sec.end], off, next
		}
		off = next
	}
	return d, nil
}

// activeSegments reads the data section's contents (Check has passed). ok
// is false unless every segment is active on memory 0 (prefix 0) with an
// i32.const offset.
func activeSegments(contents []byte) (segs []segment, count int, ok bool) {
	count, ok = eachActive(contents, func(s segment) { segs = append(segs, s) })
	if !ok {
		return nil, count, false
	}
	return segs, count, true
}

// eachActive calls f with each segment of the data section's contents,
// without allocating; count is the declared number of segments. ok is
// false (f may have been called for the segments before) unless every
// segment is active on memory 0 (prefix 0) with an i32.const offset.
func eachActive(b []byte, f func(segment)) (count int, ok bool) {
	c, n := readU(b)
	b = b[n:]
	count = int(c)
	for range count {
		if len(b) < 2 || b[0] != 0x00 || b[1] != 0x41 {
			return count, false
		}
		v, n := readS32(b[2:])
		if n == 0 || len(b) < 2+n+1 || b[2+n] != 0x0b {
			return count, false
		}
		b = b[2+n+1:]
		size, n := readU(b)
		b = b[n:]
		if uint64(size) > uint64(len(b)) {
			return count, false
		}
		f(segment{off: uint32(v), bytes: b[:size]})
		b = b[size:]
	}
	return count, true
}

// readU decodes an unsigned LEB128 of at most 5 bytes (n == 0: malformed).
func readU(b []byte) (uint32, int) {
	var v uint64
	for i := 0; i < len(b) && i < 5; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return uint32(v), i + 1
		}
	}
	return 0, 0
}

// readS32 decodes a signed LEB128 of at most 5 bytes (n == 0: malformed).
func readS32(b []byte) (int32, int) {
	var v int64
	for i := 0; i < len(b) && i < 5; i++ {
		v |= int64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			if shift := 7 * (i + 1); shift < 64 && b[i]&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v), i + 1
		}
	}
	return 0, 0
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// DataSpan returns the range of memory addresses [lo, hi) the module's
// data segments write at instantiation, or 0, 0 when it has none, one
// whose offset is not an i32.const (a global's value is not known before
// instantiation), or when they write less than half of the range. The
// engine makes those pages resident in one call before wazero copies the
// data in, instead of taking a page fault per page. bin should have passed
// Check (on other bytes DataSpan never panics).
func DataSpan(bin []byte) (lo, hi uint64) {
	data, err := findData(bin)
	if err != nil || data.contents == nil {
		return 0, 0
	}
	lo = ^uint64(0)
	var written uint64
	_, ok := eachActive(data.contents, func(s segment) {
		if len(s.bytes) > 0 {
			lo, hi = min(lo, uint64(s.off)), max(hi, s.end())
			written += uint64(len(s.bytes))
		}
	})
	// Sparse data (a few bytes here and there): populating the span
	// would make pages resident that nothing writes.
	if !ok || hi == 0 || written < (hi-lo)/2 {
		return 0, 0
	}
	return lo, hi
}
