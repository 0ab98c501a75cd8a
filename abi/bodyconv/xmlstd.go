package bodyconv

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Limits of the documents xml-to-json converts.
const (
	MaxXMLDepth = 64
	MaxXMLNodes = 100000
)

// XMLOptions select the xml-to-json mapping.
type XMLOptions struct {
	// Direct keeps the declaration, prefixes and xmlns attributes.
	Direct bool
	// AlwaysArray makes every child element an array.
	AlwaysArray bool
}

// node is an element; nodes live in one slice and point at each other by
// index, their attributes and text in shared arenas, so that a document
// costs a few growing slices rather than allocations per element.
type node struct {
	name               string
	attrStart, attrEnd int // in conv.attrs
	textStart, textEnd int // in conv.text
	firstKid, lastKid  int // indexes in conv.nodes, -1 for none
	next               int // the next sibling, -1 for none
	kids               int
}

type attr struct{ name, value string }

type xconv struct {
	o     XMLOptions
	nodes []node
	attrs []attr
	text  []byte
	out   []byte
	order []int // reused while grouping the children of a node
}

// xmlToJSONStd is the converter of xml-to-json up to this version, on
// encoding/xml's tokenizer: the reference of XMLToJSON and its slow path.
func xmlToJSONStd(dst, in []byte, o XMLOptions, max int) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(in))
	d.Strict = true
	c := xconv{o: o, out: dst}
	var (
		decl  []attr
		stack []int
		count int
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && len(c.nodes) > 0 {
				return dst, errors.New("more than one root element")
			}
			if len(stack) >= MaxXMLDepth {
				return dst, fmt.Errorf("XML nested deeper than %d levels", MaxXMLDepth)
			}
			count += 1 + len(t.Attr)
			if count > MaxXMLNodes {
				return dst, fmt.Errorf("more than %d elements and attributes", MaxXMLNodes)
			}
			n := node{name: qname(t.Name, o.Direct), attrStart: len(c.attrs), firstKid: -1, lastKid: -1, next: -1}
			for _, a := range t.Attr {
				if !o.Direct && (a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				c.attrs = append(c.attrs, attr{qname(a.Name, o.Direct), a.Value})
			}
			n.attrEnd = len(c.attrs)
			n.textStart, n.textEnd = len(c.text), len(c.text)
			id := len(c.nodes)
			c.nodes = append(c.nodes, n)
			if len(stack) > 0 {
				p := &c.nodes[stack[len(stack)-1]]
				if p.lastKid < 0 {
					p.firstKid = id
				} else {
					c.nodes[p.lastKid].next = id
				}
				p.lastKid = id
				p.kids++
			}
			stack = append(stack, id)
		case xml.EndElement:
			if len(stack) == 0 || c.nodes[stack[len(stack)-1]].name != qname(t.Name, o.Direct) {
				return dst, fmt.Errorf("unexpected end element </%s>", qname(t.Name, true))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return dst, errors.New("text outside the root element")
				}
				continue
			}
			n := &c.nodes[stack[len(stack)-1]]
			if n.textEnd != len(c.text) {
				// Text after a child's text: move this element's text to the end.
				start := len(c.text)
				c.text = append(c.text, c.text[n.textStart:n.textEnd]...)
				n.textStart = start
			}
			c.text = append(c.text, t...)
			n.textEnd = len(c.text)
		case xml.ProcInst:
			if t.Target == "xml" && len(c.nodes) == 0 && o.Direct {
				decl = declAttrs(string(t.Inst))
			}
		}
	}
	if len(c.nodes) == 0 {
		return dst, errors.New("no root element")
	}
	if len(stack) != 0 {
		return dst, errors.New("unexpected end of XML input")
	}
	return c.emit(decl, max)
}

// emit appends the JSON of the parsed document.
func (c *xconv) emit(decl []attr, max int) ([]byte, error) {
	c.out = append(c.out, '{')
	if decl != nil {
		c.out = append(appendString(c.out, "", "?xml"), ':', '{')
		for i, a := range decl {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(appendString(c.out, "@", a.name), ':')
			c.out = appendString(c.out, "", a.value)
		}
		c.out = append(c.out, '}', ',')
	}
	c.out = append(appendString(c.out, "", c.nodes[0].name), ':')
	c.value(0)
	c.out = append(c.out, '}')
	if max > 0 && len(c.out) > max {
		return c.out, ErrTooLarge
	}
	return c.out, nil
}

func qname(n xml.Name, prefixed bool) string {
	if prefixed && n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// declAttrs parses the pseudo-attributes of the XML declaration.
func declAttrs(inst string) []attr {
	out := []attr{}
	for _, f := range []string{"version", "encoding", "standalone"} {
		i := strings.Index(inst, f+"=")
		if i < 0 || len(inst) < i+len(f)+2 {
			continue
		}
		rest := inst[i+len(f)+1:]
		q := rest[0]
		if q != '"' && q != '\'' {
			continue
		}
		if j := strings.IndexByte(rest[1:], q); j >= 0 {
			out = append(out, attr{f, rest[1 : 1+j]})
		}
	}
	return out
}

// value appends the JSON value of node id.
func (c *xconv) value(id int) {
	n := &c.nodes[id]
	text := c.text[n.textStart:n.textEnd]
	if len(bytes.TrimSpace(text)) == 0 {
		text = nil
	}
	if n.attrEnd == n.attrStart && n.kids == 0 {
		if text == nil {
			c.out = append(c.out, "null"...)
		} else {
			c.out = appendString(c.out, "", unsafe.String(unsafe.SliceData(text), len(text)))
		}
		return
	}
	c.out = append(c.out, '{')
	first := true
	sep := func() {
		if !first {
			c.out = append(c.out, ',')
		}
		first = false
	}
	for _, a := range c.attrs[n.attrStart:n.attrEnd] {
		sep()
		c.out = append(appendString(c.out, "@", a.name), ':')
		c.out = appendString(c.out, "", a.value)
	}
	// Children by name, in the order of each name's first child: a linear
	// scan for a few children, a map for many.
	var groups map[string][]int
	if n.kids > 16 {
		groups = make(map[string][]int)
		for k := n.firstKid; k >= 0; k = c.nodes[k].next {
			groups[c.nodes[k].name] = append(groups[c.nodes[k].name], k)
		}
	}
	for k := n.firstKid; k >= 0; k = c.nodes[k].next {
		kn := c.nodes[k].name
		mark := len(c.order)
		if groups != nil {
			same := groups[kn]
			if same == nil || same[0] != k {
				continue // not the first of its name
			}
			c.order = append(c.order, same...)
		} else {
			firstOfName := true
			for j := n.firstKid; j != k; j = c.nodes[j].next {
				if c.nodes[j].name == kn {
					firstOfName = false
					break
				}
			}
			if !firstOfName {
				continue
			}
			for j := k; j >= 0; j = c.nodes[j].next {
				if c.nodes[j].name == kn {
					c.order = append(c.order, j)
				}
			}
		}
		same := c.order[mark:]
		sep()
		c.out = append(appendString(c.out, "", kn), ':')
		if len(same) == 1 && !c.o.AlwaysArray {
			c.order = c.order[:mark]
			c.value(same[0])
			continue
		}
		c.out = append(c.out, '[')
		for i := 0; i < len(same); i++ {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.value(c.order[mark+i]) // c.order may grow (and move) in the call
		}
		c.order = c.order[:mark]
		c.out = append(c.out, ']')
	}
	if text != nil {
		sep()
		c.out = append(appendString(c.out, "", "#text"), ':')
		c.out = appendString(c.out, "", unsafe.String(unsafe.SliceData(text), len(text)))
	}
	c.out = append(c.out, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends prefix+s as a JSON string.
func appendString(out []byte, prefix, s string) []byte {
	out = append(append(out, '"'), prefix...)
	for i := 0; i < len(s); {
		// Copy the plain run in one append.
		start := i
		for i < len(s) && s[i] >= 0x20 && s[i] < utf8.RuneSelf && s[i] != '"' && s[i] != '\\' {
			i++
		}
		out = append(out, s[start:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c == '\n':
				out = append(out, '\\', 'n')
			case c == '\r':
				out = append(out, '\\', 'r')
			case c == '\t':
				out = append(out, '\\', 't')
			case c < 0x20:
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, `\ufffd`...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}
