package bodyconv

import (
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// JSONToXML appends the XML document json-to-xml makes of the JSON in in
// (docs/policies/json-to-xml.md) to dst. max > 0 bounds the output
// (ErrTooLarge). Invalid JSON is an error with encoding/json's message.
func JSONToXML(dst, in []byte, parseDate bool, max int) ([]byte, error) {
	mark := len(dst)
	f := fconvs.Get().(*fconv)
	defer f.release()
	f.conv = conv{in: in, out: dst, parseDate: parseDate, max: max, names: f.names[:0], str: f.str[:0]}
	f.bad = false
	if f.document() && (max <= 0 || len(f.out) <= max) {
		return f.out, nil
	}
	return jsonToXMLStd(f.out[:mark], in, parseDate, max)
}

// fconvs keeps the converters' name and string buffers between calls.
var fconvs = sync.Pool{New: func() any { return new(fconv) }}

func (f *fconv) release() {
	if cap(f.names) > 64<<10 || cap(f.str) > 64<<10 {
		return
	}
	f.in, f.out = nil, nil
	fconvs.Put(f)
}

// fconv is the fast path: it validates while it converts, and any
// irregularity (invalid JSON, too deep, over max) makes it give up.
type fconv struct {
	conv
	bad bool
}

func (f *fconv) peek() byte {
	if f.i < len(f.in) {
		return f.in[f.i]
	}
	return 0
}

func (f *fconv) document() bool {
	f.out = append(f.out, `<?xml version="1.0" encoding="utf-8"?>`...)
	f.ws()
	if f.peek() == '[' {
		f.out = append(f.out, "<Document>"...)
		n := f.push("Item")
		f.array(n, 1)
		f.out = append(f.out, "</Document>"...)
	} else {
		f.value(f.push("Document"), 0)
	}
	f.ws()
	return !f.bad && f.i == len(f.in)
}

func (f *fconv) value(n name, depth int) {
	if f.bad || f.max > 0 && len(f.out) > f.max {
		f.bad = true
		return
	}
	f.ws()
	switch f.peek() {
	case '{':
		if depth >= MaxJSONDepth {
			f.bad = true
			return
		}
		f.i++
		f.ws()
		f.open(n)
		if f.peek() == '}' {
			f.i++
			f.out = append(f.out, " />"...)
			return
		}
		f.out = append(f.out, '>')
		for {
			f.ws()
			if !f.readString() {
				f.bad = true
				return
			}
			mark := len(f.names)
			f.names = appendName(f.names, unsafe.String(unsafe.SliceData(f.str), len(f.str)))
			kn := name{mark, len(f.names)}
			f.ws()
			if f.peek() != ':' {
				f.bad = true
				return
			}
			f.i++
			f.ws()
			if f.peek() == '[' {
				if depth+1 >= MaxJSONDepth {
					f.bad = true
					return
				}
				f.array(kn, depth+2)
			} else {
				f.value(kn, depth+1)
			}
			if f.bad {
				return
			}
			f.names = f.names[:mark]
			f.ws()
			switch f.peek() {
			case '}':
				f.i++
				f.close(n)
				return
			case ',':
				f.i++
			default:
				f.bad = true
				return
			}
		}
	case '[':
		if depth >= MaxJSONDepth {
			f.bad = true
			return
		}
		f.array(n, depth+1)
	case '"':
		if !f.readString() {
			f.bad = true
			return
		}
		f.open(n)
		f.out = append(f.out, '>')
		v := f.str
		if f.parseDate && looksLikeDate(v) {
			if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
				v = t.AppendFormat(f.str[:0:0], time.RFC3339Nano)
			}
		}
		f.out = appendText(f.out, v)
		f.close(n)
	case 'n':
		if !f.literal("null") {
			return
		}
		f.open(n)
		f.out = append(f.out, " />"...)
	case 't':
		f.scalar(n, f.literal("true"), f.i-4)
	case 'f':
		f.scalar(n, f.literal("false"), f.i-5)
	default:
		start := f.i
		f.scalar(n, f.number(), start)
	}
}

// scalar writes <n>in[start:f.i]</n> when ok.
func (f *fconv) scalar(n name, ok bool, start int) {
	if !ok {
		f.bad = true
		return
	}
	f.open(n)
	f.out = append(append(f.out, '>'), f.in[start:f.i]...)
	f.close(n)
}

func (f *fconv) literal(s string) bool {
	if len(f.in)-f.i < len(s) || string(f.in[f.i:f.i+len(s)]) != s {
		f.bad = true
		return false
	}
	f.i += len(s)
	return true
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (f *fconv) number() bool {
	in, i := f.in, f.i
	digits := func() bool {
		s := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(in) && in[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	f.i = i
	return true
}

func (f *fconv) array(n name, depth int) {
	f.i++ // '['
	f.ws()
	if f.peek() == ']' {
		f.i++
		return
	}
	for {
		f.value(n, depth)
		if f.bad {
			return
		}
		f.ws()
		switch f.peek() {
		case ']':
			f.i++
			return
		case ',':
			f.i++
		default:
			f.bad = true
			return
		}
	}
}

// readString decodes the JSON string at f.i into f.str as readString of
// the reference does, checking it: false for anything invalid.
func (f *fconv) readString() bool {
	in, i := f.in, f.i
	if i >= len(in) || in[i] != '"' {
		return false
	}
	i++
	str := f.str[:0]
	for {
		start := i
		for i < len(in) && in[i] != '"' && in[i] != '\\' && in[i] >= 0x20 && in[i] < utf8.RuneSelf {
			i++
		}
		str = append(str, in[start:i]...)
		if i >= len(in) {
			return false
		}
		b := in[i]
		switch {
		case b == '"':
			f.i, f.str = i+1, str
			return true
		case b < 0x20:
			return false
		case b == '\\':
			if i+1 >= len(in) {
				return false
			}
			e := in[i+1]
			i += 2
			switch e {
			case 'b':
				str = append(str, '\b')
			case 'f':
				str = append(str, '\f')
			case 'n':
				str = append(str, '\n')
			case 'r':
				str = append(str, '\r')
			case 't':
				str = append(str, '\t')
			case '"', '\\', '/':
				str = append(str, e)
			case 'u':
				r, ok := hex4ok(in, i)
				if !ok {
					return false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if i+5 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
						r3, ok := hex4ok(in, i+2)
						if !ok {
							return false
						}
						if r2 = utf16.DecodeRune(r, r3); r2 != utf8.RuneError {
							i += 6
						}
					}
					r = r2
				}
				str = utf8.AppendRune(str, r)
			default:
				return false
			}
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				str = utf8.AppendRune(str, utf8.RuneError)
			} else {
				str = append(str, in[i:i+size]...)
			}
			i += size
		}
	}
}

func hex4ok(in []byte, i int) (rune, bool) {
	if len(in)-i < 4 {
		return 0, false
	}
	var r rune
	for _, h := range in[i : i+4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h >= 'a' && h <= 'f':
			h -= 'a' - 10
		case h >= 'A' && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}
