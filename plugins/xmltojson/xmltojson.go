// Package xmltojson is the xml-to-json policy (Azure API Management's
// xml-to-json): it converts the request body (sent to the backend) or the
// response body (sent to the client) from XML to JSON.
//
// Config:
//
//	{
//	  "kind": "javascript-friendly",          // required: javascript-friendly | direct
//	  "apply": "always",                      // required: always | content-type-xml
//	  "consider_accept_header": true,         // convert only when the request's Accept asks for JSON
//	  "always_array_child_elements": false,   // true: every child element becomes an array
//	  "phase": "request",                     // request (default) | response
//	  "max_body_bytes": 1048576               // larger bodies (before or after) are not converted
//	}
//
// apply "content-type-xml" converts only a body whose Content-Type is
// application/xml, text/xml or */*+xml. consider_accept_header (true by
// default, as in APIM) converts only when the request's Accept header names
// application/json, text/json or a */*+json type (a missing Accept or */*
// does not count). APIM picks the body by section (inbound: request,
// outbound: response); in Gatehouse the phase field does.
//
// The mapping is Json.NET's SerializeXmlNode, which APIM uses: the root
// element becomes the one property of the result; an element with only
// text becomes a string, an empty one null; otherwise an object with
// attributes as "@name", child elements by name (repeated names, or every
// child with always_array_child_elements, as arrays, in document order of
// their first occurrence) and text as "#text". Whitespace-only text,
// comments, processing instructions and the DOCTYPE are dropped. "direct"
// keeps the XML declaration ("?xml": {"@version": …}), namespace prefixes
// in names and xmlns attributes; "javascript-friendly" drops all three
// (our reading of APIM's kinds, which its documentation does not specify).
// All values are strings, as in APIM. Content-Type becomes
// application/json.
//
// Parsing is encoding/xml's, strict: only the five predefined entities and
// character references are known; entities declared in a DTD are never
// expanded (a reference to one is an error), so billion-laughs documents
// are refused, and external entities are never fetched. Documents must be
// UTF-8, with one root element, at most 64 levels deep and 100000
// elements and attributes. An empty body (a GET, a 204) is left as it is.
// Malformed XML in the request phase is answered with 400 and
// {"statusCode":400,"message":"…"}; in the response phase the body is left
// as it is and a warning is logged. A body with a
// Content-Encoding other than identity is left as it is. A body over
// max_body_bytes before or after conversion fails the call (the
// attachment's fail mode decides, 500 by default).
package xmltojson

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/body"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "xml-to-json"

// Limits of the documents converted.
const (
	MaxDepth = 64
	MaxNodes = 100000
)

// Config is the policy's JSON config.
type Config struct {
	Kind                     string `json:"kind"`
	Apply                    string `json:"apply"`
	ConsiderAcceptHeader     *bool  `json:"consider_accept_header"`
	AlwaysArrayChildElements bool   `json:"always_array_child_elements"`
	Phase                    string `json:"phase"`
	MaxBodyBytes             *int   `json:"max_body_bytes"`
}

// Options select the mapping.
type Options struct {
	// Direct keeps the declaration, prefixes and xmlns attributes.
	Direct bool
	// AlwaysArray makes every child element an array.
	AlwaysArray bool
}

// Policy is a configured xml-to-json.
type Policy struct {
	sdk.Base
	opts Options
	conv body.Conversion
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{opts: Options{AlwaysArray: c.AlwaysArrayChildElements}}
	// The parse tree and encoding/xml's tokens: about 30 bytes of garbage
	// per input byte.
	p.conv = body.Conversion{From: body.XML, To: body.JSON, Accept: true, GarbagePerByte: 32,
		Convert: func(dst, in []byte, max int) ([]byte, error) { return Convert(dst, in, p.opts, max) }}
	switch c.Kind {
	case "javascript-friendly":
	case "direct":
		p.opts.Direct = true
	case "":
		return nil, fmt.Errorf(`kind is required: "javascript-friendly" or "direct"`)
	default:
		return nil, fmt.Errorf(`kind %q: want "javascript-friendly" or "direct"`, c.Kind)
	}
	switch c.Apply {
	case "always":
	case "content-type-xml":
		p.conv.OnlyFrom = true
	case "":
		return nil, fmt.Errorf(`apply is required: "always" or "content-type-xml"`)
	default:
		return nil, fmt.Errorf(`apply %q: want "always" or "content-type-xml"`, c.Apply)
	}
	if c.ConsiderAcceptHeader != nil {
		p.conv.Accept = *c.ConsiderAcceptHeader
	}
	var err error
	if p.conv.Target.Response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	if p.conv.Max, err = body.CheckMax(c.MaxBodyBytes); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest converts the request body when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.conv.Target.Response {
		return p.Base.OnRequest(c)
	}
	return p.conv.Run(c)
}

// OnResponse converts the response body when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.conv.Target.Response {
		return p.Base.OnResponse(c)
	}
	return p.conv.Run(c)
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

type conv struct {
	o     Options
	nodes []node
	attrs []attr
	text  []byte
	out   []byte
	order []int // reused while grouping the children of a node
}

// Convert appends the JSON for the XML document in in to dst. max > 0
// bounds the output.
func Convert(dst, in []byte, o Options, max int) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(in))
	d.Strict = true
	c := conv{o: o, out: dst}
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
			if len(stack) >= MaxDepth {
				return dst, fmt.Errorf("XML nested deeper than %d levels", MaxDepth)
			}
			count += 1 + len(t.Attr)
			if count > MaxNodes {
				return dst, fmt.Errorf("more than %d elements and attributes", MaxNodes)
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
		return c.out, body.ErrTooLarge
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
func (c *conv) value(id int) {
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
