// Package template is the small text template shared by set-variable,
// set-body and return-response: literal text with references in braces.
//
//	{header.X-Name}   first value of a request header ("" if absent)
//	{query.name}      first value of a query parameter, unescaped ("" if absent)
//	{path.id}         a path parameter of the matched URL template ("" if none)
//	{var.name}        a request variable ("" if unset)
//	{request.method}  the request method
//	{request.path}    the request path relative to the API prefix
//	{{ and }}         a literal { and }
//
// A template is parsed once (Parse, at policy construction) into segments;
// an unknown reference, an empty name or an unbalanced brace is an error.
// Rendering appends to a caller-owned buffer and allocates only where the SDK
// has no append accessor (path parameters and variables) or a query value
// needs unescaping.
package template

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Kind is what a segment inserts.
type Kind uint8

// Segment kinds.
const (
	Literal Kind = iota
	Header
	Query
	Path
	Var
	Method
	RequestPath
)

// Segment is one piece of a parsed template.
type Segment struct {
	Kind Kind
	// Text is the literal text (Literal) or the referenced name.
	Text string
}

// Template is a parsed template.
type Template struct {
	Segs []Segment
	// scratch holds the raw query while a {query.…} reference is rendered.
	scratch []byte
}

// Parse parses s. field names the config field in errors.
func Parse(field, s string) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.Segs = append(t.Segs, Segment{Literal, lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("%s: unmatched } at byte %d (write }} for a literal })", field, i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%s: unclosed { at byte %d (write {{ for a literal {)", field, i)
			}
			ref := s[i+1 : i+1+end]
			seg, err := parseRef(ref)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			flush()
			t.Segs = append(t.Segs, seg)
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

func parseRef(ref string) (Segment, error) {
	switch ref {
	case "request.method":
		return Segment{Method, ""}, nil
	case "request.path":
		return Segment{RequestPath, ""}, nil
	}
	prefix, name, ok := strings.Cut(ref, ".")
	if !ok || name == "" || strings.ContainsAny(name, "{ \t\r\n\x00") {
		return Segment{}, fmt.Errorf("unknown reference {%s}: want {header.X}, {query.x}, {path.x}, {var.x}, {request.method} or {request.path}", ref)
	}
	switch prefix {
	case "header":
		if !conf.IsToken(name) {
			return Segment{}, fmt.Errorf("reference {%s}: %q is not a valid header name", ref, name)
		}
		return Segment{Header, name}, nil
	case "query":
		return Segment{Query, name}, nil
	case "path":
		return Segment{Path, name}, nil
	case "var":
		if len(name) > 128 {
			return Segment{}, fmt.Errorf("reference {%s}: variable names are at most 128 bytes", ref)
		}
		return Segment{Var, name}, nil
	}
	return Segment{}, fmt.Errorf("unknown reference {%s}: want {header.X}, {query.x}, {path.x}, {var.x}, {request.method} or {request.path}", ref)
}

// Static reports whether the template has no references, and its text.
func (t *Template) Static() (string, bool) {
	switch len(t.Segs) {
	case 0:
		return "", true
	case 1:
		if t.Segs[0].Kind == Literal {
			return t.Segs[0].Text, true
		}
	}
	return "", false
}

// ErrTooLarge is returned by Render when the output would exceed max.
var ErrTooLarge = errors.New("rendered template is too large")

// Render appends the template, rendered for the current request, to dst.
// Headers are the request's. max > 0 caps len(dst) after rendering.
func (t *Template) Render(dst []byte, c *sdk.Context, max int) ([]byte, error) {
	for _, s := range t.Segs {
		switch s.Kind {
		case Literal:
			dst = append(dst, s.Text...)
		case Header:
			dst, _ = c.Request().Header().AppendGet(dst, s.Text)
		case Query:
			t.scratch = c.AppendField(t.scratch[:0], sdk.FieldQuery)
			if len(t.scratch) > 0 {
				if v, ok := sdk.LookupQuery(unsafe.String(&t.scratch[0], len(t.scratch)), s.Text); ok {
					dst = append(dst, v...)
				}
			}
		case Path:
			dst = append(dst, c.Param(s.Text)...)
		case Var:
			v, _ := c.Vars().Get(s.Text)
			dst = append(dst, v...)
		case Method:
			dst = c.AppendField(dst, sdk.FieldMethod)
		case RequestPath:
			dst = c.AppendField(dst, sdk.FieldPath)
		}
		if max > 0 && len(dst) > max {
			return dst, ErrTooLarge
		}
	}
	return dst, nil
}
