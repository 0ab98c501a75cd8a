// Package jsontoxml is the json-to-xml policy (Azure API Management's
// json-to-xml): it converts the request body (sent to the backend) or the
// response body (sent to the client) from JSON to XML.
//
// Config:
//
//	{
//	  "apply": "always",              // required: always | content-type-json
//	  "consider_accept_header": true, // convert only when the request's Accept asks for XML
//	  "parse_date": true,             // normalize RFC 3339 date strings; false copies them
//	  "phase": "request",             // request (default) | response
//	  "max_body_bytes": 1048576       // larger bodies (before or after) are not converted
//	}
//
// apply "content-type-json" converts only a body whose Content-Type is
// application/json, text/json or */*+json. consider_accept_header (true by
// default, as in APIM) converts only when the request's Accept header names
// application/xml, text/xml or a */*+xml type (a missing Accept or */* does
// not count). APIM picks the body by section (inbound: request, outbound:
// response); in Gatehouse the phase field does.
//
// The output is the XML document APIM produces: a declaration and a
// <Document> root; an object's properties become child elements in order,
// an array becomes one element per item under the property's name (a
// top-level array's items are <Item> elements), null and {} an empty
// element, strings, numbers and booleans text. Names that are not XML
// names are encoded as XmlConvert.EncodeName does ("a b" → a_x0020_b).
// With parse_date, strings that are RFC 3339 times are rewritten in
// canonical RFC 3339 form. Content-Type becomes application/xml.
//
// An empty body (a GET, a 204) is left as it is. Malformed JSON in the
// request phase is answered with 400 and
// {"statusCode":400,"message":"…"}; in the response phase (the backend's
// fault, and the status can no longer be answered) the body is left as it
// is and a warning is logged. Nesting is limited to 64 levels. A body with a
// Content-Encoding other than identity is left as it is. A body over
// max_body_bytes before or after conversion fails the call (the
// attachment's fail mode decides, 500 by default).
package jsontoxml

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

	"github.com/gatehouse/gatehouse/plugins/internal/body"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "json-to-xml"

// MaxDepth is the deepest nesting of arrays and objects converted.
const MaxDepth = 64

// Config is the policy's JSON config.
type Config struct {
	Apply                string `json:"apply"`
	ConsiderAcceptHeader *bool  `json:"consider_accept_header"`
	ParseDate            *bool  `json:"parse_date"`
	Phase                string `json:"phase"`
	MaxBodyBytes         *int   `json:"max_body_bytes"`
}

// Policy is a configured json-to-xml.
type Policy struct {
	sdk.Base
	parseDate bool
	conv      body.Conversion
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{parseDate: true}
	p.conv = body.Conversion{From: body.JSON, To: body.XML, Accept: true, GarbagePerByte: 1,
		Convert: func(dst, in []byte, max int) ([]byte, error) { return Convert(dst, in, p.parseDate, max) }}
	switch c.Apply {
	case "always":
	case "content-type-json":
		p.conv.OnlyFrom = true
	case "":
		return nil, fmt.Errorf(`apply is required: "always" or "content-type-json"`)
	default:
		return nil, fmt.Errorf(`apply %q: want "always" or "content-type-json"`, c.Apply)
	}
	if c.ConsiderAcceptHeader != nil {
		p.conv.Accept = *c.ConsiderAcceptHeader
	}
	if c.ParseDate != nil {
		p.parseDate = *c.ParseDate
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

// Convert appends the XML document for the JSON in in to dst. max > 0
// bounds the output. The input is checked by encoding/json (json.Valid,
// allocation-free) and then converted in one pass without a token stream.
func Convert(dst, in []byte, parseDate bool, max int) ([]byte, error) {
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
		err = body.ErrTooLarge
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

var errDepth = fmt.Errorf("JSON nested deeper than %d levels", MaxDepth)

// value writes <name>…</name> for the value at c.i (arrays: one element per
// item).
func (c *conv) value(n name, depth int) error {
	if c.max > 0 && len(c.out) > c.max {
		return body.ErrTooLarge
	}
	c.ws()
	switch c.in[c.i] {
	case '{':
		if depth >= MaxDepth {
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
				if depth+1 >= MaxDepth {
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
		if depth >= MaxDepth {
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
