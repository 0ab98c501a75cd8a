package bodyconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxJSONDepth is the deepest nesting of arrays and objects json-to-xml
// converts.
const MaxJSONDepth = 64

// jsonToXMLStd is the converter of json-to-xml up to this version, kept as
// the reference of JSONToXML and as its slow path: every input the fast
// path does not convert (invalid, too deep, too large) goes through it, so
// errors are its own. It checks the input with encoding/json (json.Valid)
// and then converts it in one pass.
func jsonToXMLStd(dst, in []byte, parseDate bool, max int) ([]byte, error) {
	if !json.Valid(in) {
		var v json.RawMessage
		err := json.Unmarshal(in, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return dst, errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	c := conv{in: in, out: dst, parseDate: parseDate, max: max}
	c.out = append(c.out, `<?xml version="1.0" encoding="utf-8"?>`...)
	c.ws()
	var err error
	if c.in[c.i] == '[' {
		c.out = append(c.out, "<Document>"...)
		n := c.push("Item")
		err = c.array(n, 1)
		c.out = append(c.out, "</Document>"...)
	} else {
		err = c.value(c.push("Document"), 0)
	}
	if err == nil && max > 0 && len(c.out) > max {
		err = ErrTooLarge
	}
	return c.out, err
}

// conv converts valid JSON.
type conv struct {
	in        []byte
	i         int
	out       []byte
	parseDate bool
	max       int
	names     []byte // the element names of the open values, encoded
	str       []byte // the string being decoded
}

type name struct{ start, end int }

func (c *conv) push(s string) name {
	start := len(c.names)
	c.names = appendName(c.names, s)
	return name{start, len(c.names)}
}

func (c *conv) open(n name) { c.out = append(append(c.out, '<'), c.names[n.start:n.end]...) }

func (c *conv) close(n name) {
	c.out = append(append(append(c.out, '<', '/'), c.names[n.start:n.end]...), '>')
}

func (c *conv) ws() {
	in, i := c.in, c.i
	for i < len(in) && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r') {
		i++
	}
	c.i = i
}

var errDepth = fmt.Errorf("JSON nested deeper than %d levels", MaxJSONDepth)

// value writes <name>…</name> for the value at c.i (arrays: one element per
// item).
func (c *conv) value(n name, depth int) error {
	if c.max > 0 && len(c.out) > c.max {
		return ErrTooLarge
	}
	c.ws()
	switch c.in[c.i] {
	case '{':
		if depth >= MaxJSONDepth {
			return errDepth
		}
		c.i++
		c.ws()
		c.open(n)
		if c.in[c.i] == '}' {
			c.i++
			c.out = append(c.out, " />"...)
			return nil
		}
		c.out = append(c.out, '>')
		for {
			c.ws()
			c.readString()
			mark := len(c.names)
			c.names = appendName(c.names, unsafe.String(unsafe.SliceData(c.str), len(c.str)))
			kn := name{mark, len(c.names)}
			c.ws()
			c.i++ // ':'
			c.ws()
			var err error
			if c.in[c.i] == '[' {
				if depth+1 >= MaxJSONDepth {
					return errDepth
				}
				err = c.array(kn, depth+2)
			} else {
				err = c.value(kn, depth+1)
			}
			if err != nil {
				return err
			}
			c.names = c.names[:mark]
			c.ws()
			if c.in[c.i] == '}' {
				c.i++
				break
			}
			c.i++ // ','
		}
		c.close(n)
		return nil
	case '[':
		// An array in an array: its items repeat the name.
		if depth >= MaxJSONDepth {
			return errDepth
		}
		return c.array(n, depth+1)
	case '"':
		c.readString()
		c.open(n)
		c.out = append(c.out, '>')
		v := c.str
		if c.parseDate && looksLikeDate(v) {
			if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
				v = t.AppendFormat(c.str[:0:0], time.RFC3339Nano)
			}
		}
		c.out = appendText(c.out, v)
		c.close(n)
		return nil
	case 'n':
		c.i += 4
		c.open(n)
		c.out = append(c.out, " />"...)
		return nil
	}
	// true, false or a number: copied as they are.
	start := c.i
	for c.i < len(c.in) {
		b := c.in[c.i]
		if b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r' {
			break
		}
		c.i++
	}
	c.open(n)
	c.out = append(append(c.out, '>'), c.in[start:c.i]...)
	c.close(n)
	return nil
}

// array writes the items of the array at c.i.
func (c *conv) array(n name, depth int) error {
	c.i++ // '['
	c.ws()
	if c.in[c.i] == ']' {
		c.i++
		return nil
	}
	for {
		if err := c.value(n, depth); err != nil {
			return err
		}
		c.ws()
		if c.in[c.i] == ']' {
			c.i++
			return nil
		}
		c.i++ // ','
	}
}

// readString decodes the (valid) JSON string at c.i into c.str, as
// encoding/json does: invalid UTF-8 and lone surrogates become U+FFFD.
func (c *conv) readString() {
	in, i := c.in, c.i+1 // after '"'
	str := c.str[:0]
	for {
		// Copy the plain run in one append.
		start := i
		for i < len(in) && in[i] != '"' && in[i] != '\\' && in[i] < utf8.RuneSelf {
			i++
		}
		str = append(str, in[start:i]...)
		b := in[i]
		switch {
		case b == '"':
			c.i, c.str = i+1, str
			return
		case b == '\\':
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
			case 'u':
				r := hex4(in[i:])
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if i+5 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
						if r2 = utf16.DecodeRune(r, hex4(in[i+2:])); r2 != utf8.RuneError {
							i += 6
						}
					}
					r = r2
				}
				str = utf8.AppendRune(str, r)
			default: // '"', '\\', '/'
				str = append(str, e)
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

func hex4(h4 []byte) rune {
	var r rune
	for _, h := range h4[:4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h >= 'a' && h <= 'f':
			h -= 'a' - 10
		default:
			h -= 'A' - 10
		}
		r = r<<4 | rune(h)
	}
	return r
}

// looksLikeDate is a cheap check before time.Parse: "2006-01-02T".
func looksLikeDate(v []byte) bool {
	return len(v) >= 20 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[0] >= '0' && v[0] <= '9'
}

// appendName appends name as an XML name, encoding what is not allowed as
// _xHHHH_ (XmlConvert.EncodeName).
func appendName(dst []byte, name string) []byte {
	if name == "" {
		return append(dst, "_x0000_"...)
	}
	plain := true
	for i := 0; i < len(name) && plain; i++ {
		b := name[i]
		plain = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || i > 0 && (b >= '0' && b <= '9' || b == '-' || b == '.')
	}
	if plain {
		return append(dst, name...)
	}
	first := true
	for _, r := range name {
		ok := r == '_' || unicode.IsLetter(r)
		if !first {
			ok = ok || r == '-' || r == '.' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		}
		first = false
		if ok && r != utf8.RuneError {
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if r > 0xFFFF {
			dst = fmt.Appendf(dst, "_x%08X_", r)
		} else {
			dst = fmt.Appendf(dst, "_x%04X_", r)
		}
	}
	return dst
}

// appendText appends s escaped as XML character data, as xml.EscapeText
// does (characters XML cannot hold become U+FFFD).
func appendText(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		// Copy the plain run in one append.
		start := i
		for i < len(s) && s[i] >= 0x20 && s[i] < utf8.RuneSelf && s[i] != '<' && s[i] != '>' && s[i] != '&' && s[i] != '"' && s[i] != '\'' {
			i++
		}
		dst = append(dst, s[start:i]...)
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '<':
				dst = append(dst, "&lt;"...)
			case b == '>':
				dst = append(dst, "&gt;"...)
			case b == '&':
				dst = append(dst, "&amp;"...)
			case b == '"':
				dst = append(dst, "&#34;"...)
			case b == '\'':
				dst = append(dst, "&#39;"...)
			case b == '\t':
				dst = append(dst, "&#x9;"...)
			case b == '\n':
				dst = append(dst, "&#xA;"...)
			case b == '\r':
				dst = append(dst, "&#xD;"...)
			default:
				dst = append(dst, "\uFFFD"...)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
