package bodyconv

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// XMLToJSON appends the JSON xml-to-json makes of the XML document in in
// (docs/policies/xml-to-json.md) to dst. max > 0 bounds the output
// (ErrTooLarge). Malformed XML is an error with encoding/xml's message.
func XMLToJSON(dst, in []byte, o XMLOptions, max int) ([]byte, error) {
	mark := len(dst)
	c := xconvs.Get().(*xconv)
	defer c.release()
	*c = xconv{o: o, out: dst, nodes: c.nodes[:0], attrs: c.attrs[:0], text: c.text[:0], order: c.order[:0]}
	if decl, ok := c.parseFast(in); ok {
		return c.emit(decl, max)
	}
	return xmlToJSONStd(dst[:mark], in, o, max)
}

// xconvs keeps the parse trees' slices between conversions.
var xconvs = sync.Pool{New: func() any { return new(xconv) }}

// release returns c to xconvs unless it grew large (a big document's
// slices are not kept alive), dropping what it points into.
func (c *xconv) release() {
	if cap(c.nodes) > 4096 || cap(c.text) > 64<<10 {
		return
	}
	clear(c.nodes) // names and values point into the input
	clear(c.attrs)
	c.out = nil
	xconvs.Put(c)
}

// open is an element being parsed by the fast path: its node and its name
// as written (in[start:end]).
type open struct{ id, start, end int }

// parseFast builds the tree xmlToJSONStd builds from encoding/xml's tokens,
// for documents of UTF-8 text, ASCII names, elements, attributes, the five
// entities, character references, comments and processing instructions. It
// gives up (false) on anything else — CDATA, a DOCTYPE, CR characters
// (which XML normalizes), end tags that do not repeat the start tag, and
// every error — and the reference then decides.
func (c *xconv) parseFast(in []byte) (decl []attr, ok bool) {
	var stackArr [16]open
	stack := stackArr[:0]
	count := 0
	i := 0
	for i < len(in) {
		b := in[i]
		if b != '<' {
			if len(stack) == 0 {
				if b == ' ' || b == '\t' || b == '\n' {
					i++
					continue
				}
				return nil, false
			}
			n := &c.nodes[stack[len(stack)-1].id]
			if n.textEnd != len(c.text) {
				start := len(c.text)
				c.text = append(c.text, c.text[n.textStart:n.textEnd]...)
				n.textStart = start
			}
			if i, ok = c.chars(in, i, 0); !ok {
				return nil, false
			}
			n.textEnd = len(c.text)
			continue
		}
		if i+1 >= len(in) {
			return nil, false
		}
		switch in[i+1] {
		case '/':
			ns, ne := i+2, nameEnd(in, i+2)
			if ne < 0 || len(stack) == 0 {
				return nil, false
			}
			top := stack[len(stack)-1]
			if !bytes.Equal(in[ns:ne], in[top.start:top.end]) {
				return nil, false
			}
			i = skipSpace(in, ne)
			if i >= len(in) || in[i] != '>' {
				return nil, false
			}
			i++
			stack = stack[:len(stack)-1]
		case '?':
			ts, te := i+2, nameEnd(in, i+2)
			if te < 0 {
				return nil, false
			}
			cs := skipSpace(in, te)
			k := bytes.Index(in[cs:], []byte("?>"))
			if k < 0 {
				return nil, false
			}
			if string(in[ts:te]) == "xml" {
				content := string(in[cs : cs+k])
				if v := procInst("version", content); v != "" && v != "1.0" {
					return nil, false
				}
				if e := procInst("encoding", content); e != "" && !strings.EqualFold(e, "utf-8") {
					return nil, false
				}
				if len(c.nodes) == 0 && c.o.Direct {
					decl = declAttrs(content)
				}
			}
			i = cs + k + 2
		case '!':
			if !bytes.HasPrefix(in[i+2:], []byte("--")) {
				return nil, false // CDATA, DOCTYPE: the reference's
			}
			k := bytes.Index(in[i+4:], []byte("--"))
			if k < 0 || i+4+k+2 >= len(in) || in[i+4+k+2] != '>' {
				return nil, false
			}
			i += 4 + k + 3
		default:
			if len(stack) == 0 && len(c.nodes) > 0 || len(stack) >= MaxXMLDepth {
				return nil, false
			}
			ns, ne := i+1, nameEnd(in, i+1)
			if ne < 0 {
				return nil, false
			}
			n := node{name: c.qname(in[ns:ne]), attrStart: len(c.attrs), firstKid: -1, lastKid: -1, next: -1}
			count++
			empty := false
			i = ne
			for {
				i = skipSpace(in, i)
				if i >= len(in) {
					return nil, false
				}
				if in[i] == '>' {
					i++
					break
				}
				if in[i] == '/' {
					if i+1 >= len(in) || in[i+1] != '>' {
						return nil, false
					}
					i += 2
					empty = true
					break
				}
				as, ae := i, nameEnd(in, i)
				if ae < 0 {
					return nil, false
				}
				i = skipSpace(in, ae)
				if i >= len(in) || in[i] != '=' {
					return nil, false
				}
				i = skipSpace(in, i+1)
				if i >= len(in) || in[i] != '"' && in[i] != '\'' {
					return nil, false
				}
				q := in[i]
				vs, rs := len(c.text), i+1
				if i, ok = c.chars(in, i+1, q); !ok {
					return nil, false
				}
				i++ // the closing quote
				count++
				an := in[as:ae]
				space, local := splitName(an)
				if !c.o.Direct && (string(space) == "xmlns" || len(space) == 0 && string(local) == "xmlns") {
					c.text = c.text[:vs]
					continue
				}
				v := c.text[vs:]
				if raw := in[rs : i-1]; bytes.Equal(raw, v) {
					v = raw // not decoded: the input's bytes, no copy
				} else {
					v = bytes.Clone(v)
				}
				c.attrs = append(c.attrs, attr{c.qname(an), unsafe.String(unsafe.SliceData(v), len(v))})
				c.text = c.text[:vs]
			}
			if count > MaxXMLNodes {
				return nil, false
			}
			n.attrEnd = len(c.attrs)
			n.textStart, n.textEnd = len(c.text), len(c.text)
			id := len(c.nodes)
			c.nodes = append(c.nodes, n)
			if len(stack) > 0 {
				p := &c.nodes[stack[len(stack)-1].id]
				if p.lastKid < 0 {
					p.firstKid = id
				} else {
					c.nodes[p.lastKid].next = id
				}
				p.lastKid = id
				p.kids++
			}
			if !empty {
				stack = append(stack, open{id, ns, ne})
			}
		}
	}
	return decl, len(c.nodes) > 0 && len(stack) == 0
}

// chars appends the character data at in[i:] to c.text, decoded, up to a
// '<' (quote 0) or the quote, and returns the index of that byte. It gives
// up on what the reference refuses or normalizes: CR, characters XML
// cannot hold, invalid UTF-8, "]]>", '<' in a quoted value, entities other
// than the five and character references.
func (c *xconv) chars(in []byte, i int, quote byte) (int, bool) {
	for i < len(in) {
		start := i
		for i < len(in) {
			b := in[i]
			if b < 0x20 && b != '\t' && b != '\n' || b >= utf8.RuneSelf || b == '<' || b == '&' || b == '>' || b == quote {
				break
			}
			i++
		}
		c.text = append(c.text, in[start:i]...)
		if i >= len(in) {
			return i, quote == 0
		}
		b := in[i]
		switch {
		case b == quote || b == '<' && quote == 0:
			return i, true
		case b == '>':
			if quote == 0 && i >= 2 && in[i-1] == ']' && in[i-2] == ']' {
				return i, false
			}
			c.text = append(c.text, '>')
			i++
		case b == '&':
			r, n := entity(in[i:])
			if n == 0 {
				return i, false
			}
			c.text = utf8.AppendRune(c.text, r)
			i += n
		case b >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				return i, false
			}
			c.text = append(c.text, in[i:i+size]...)
			i += size
		default: // CR, other control characters, '<' in a quoted value
			return i, false
		}
	}
	return i, quote == 0
}

// entity decodes the reference at the start of s (&lt; … or &#…;) and
// returns its length, or 0 for any other.
func entity(s []byte) (rune, int) {
	for _, e := range [...]struct {
		s string
		r rune
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}} {
		if bytes.HasPrefix(s, []byte(e.s)) {
			return e.r, len(e.s)
		}
	}
	if len(s) < 4 || s[1] != '#' {
		return 0, 0
	}
	i, base := 2, rune(10)
	if s[2] == 'x' {
		i, base = 3, 16
	}
	start := i
	var r rune
	for ; i < len(s) && i-start < 8; i++ {
		d := s[i]
		switch {
		case d >= '0' && d <= '9':
			d -= '0'
		case base == 16 && d >= 'a' && d <= 'f':
			d -= 'a' - 10
		case base == 16 && d >= 'A' && d <= 'F':
			d -= 'A' - 10
		default:
			goto end
		}
		r = r*base + rune(d)
	}
end:
	if i == start || i >= len(s) || s[i] != ';' {
		return 0, 0
	}
	if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
		return 0, 0
	}
	return r, i + 1
}

// nameEnd returns the end of the ASCII XML name at in[i:] that
// encoding/xml reads as a name with at most one colon, or -1.
func nameEnd(in []byte, i int) int {
	if i >= len(in) {
		return -1
	}
	if b := in[i]; !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == ':') {
		return -1
	}
	colons := 0
	j := i
	for ; j < len(in); j++ {
		b := in[j]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-' {
			continue
		}
		if b == ':' {
			colons++
			continue
		}
		if b >= utf8.RuneSelf {
			return -1 // a non-ASCII name: the reference's
		}
		break
	}
	if colons > 1 {
		return -1
	}
	return j
}

// splitName splits a name as encoding/xml does: "p:l" into p and l; a
// name without a colon, or with an empty side, is all local.
func splitName(n []byte) (space, local []byte) {
	if k := bytes.IndexByte(n, ':'); k > 0 && k < len(n)-1 {
		return n[:k], n[k+1:]
	}
	return nil, n
}

// qname is the element or attribute name in the output: as written in the
// direct mapping, without its prefix in the other.
func (c *xconv) qname(n []byte) string {
	if !c.o.Direct {
		_, n = splitName(n)
	}
	return unsafe.String(unsafe.SliceData(n), len(n))
}

func skipSpace(in []byte, i int) int {
	for i < len(in) && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r') {
		i++
	}
	return i
}

// procInst is encoding/xml's reading of a pseudo-attribute of the XML
// declaration (its checks of version and encoding decide with it).
func procInst(param, s string) string {
	param = param + "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}
