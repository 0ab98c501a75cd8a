// Package rewriteuri is the rewrite-uri policy (Azure API Management's
// rewrite-uri): it rewrites the path (and optionally the query) sent to the
// backend from a template with path parameters.
//
// Config:
//
//	{
//	  "template": "/v2/users/{id}/profile?source=gw", // required
//	  "copy_unmatched_params": true                    // default true
//	}
//
// The template's path part (before any '?') starts with '/', is written
// decoded (no '%'), and is relative to the API's path prefix, like the path
// the backend URL gets (abi/ABI.md field 2). {name} is a path parameter of
// the matched URL template (e.g. {id} for /users/{id}); {{ and }} are
// literal braces. The optional query part ("?a=b&c={id}") has literal keys;
// parameters in its values are percent-encoded.
//
// copy_unmatched_params: when true (the default), the parameters of the
// original query whose names are not in the template's query are kept
// (after the template's); when false, the query is exactly the template's
// (empty if it has none).
//
// Parameter values come from the client. The host resolves dot-segments in
// a path a policy sets, so a value of ".." or one with '/' would let a
// client reach other backend paths (/users/{id} with id "../admin" would
// become /admin). rewrite-uri refuses such a request with 400
// {"statusCode":400,"message":"Invalid path parameter"}: a value that is
// empty or contains '/', '\', a control byte, or that makes a "." or ".."
// segment. A literal "%2F" in a value stays a literal (the host escapes it
// again for the backend).
package rewriteuri

import (
	"fmt"
	"net/url"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "rewrite-uri"

// Config is the policy's JSON config.
type Config struct {
	// Template is the new path (and optional query) with {param}s.
	Template string `json:"template"`
	// CopyUnmatchedParams keeps the original query's other parameters;
	// default true.
	CopyUnmatchedParams *bool `json:"copy_unmatched_params"`
}

type seg struct {
	param bool
	text  string // literal text or parameter name
}

// Policy is a configured rewrite-uri.
type Policy struct {
	sdk.Base
	path     []seg
	query    []seg // nil: the template has no query
	keys     []string
	copy     bool
	pathBuf  []byte
	queryBuf []byte
	origBuf  []byte
}

var badParam = conf.ErrorBody(400, "Invalid path parameter")

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{copy: c.CopyUnmatchedParams == nil || *c.CopyUnmatchedParams}
	if c.Template == "" {
		return nil, fmt.Errorf("template is required")
	}
	pathT, queryT, hasQuery := strings.Cut(c.Template, "?")
	if !strings.HasPrefix(pathT, "/") {
		return nil, fmt.Errorf("template %q: the path must start with /", c.Template)
	}
	if strings.ContainsAny(pathT, "%\\#") {
		return nil, fmt.Errorf(`template %q: the path is written decoded, without %%, \ or #`, c.Template)
	}
	var err error
	if p.path, err = parse(pathT); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(pathT, "/") {
		if isDotLike(s) {
			return nil, fmt.Errorf("template %q: \".\" and \"..\" segments are not allowed", c.Template)
		}
	}
	if hasQuery {
		if strings.ContainsAny(queryT, " #") {
			return nil, fmt.Errorf("template %q: the query must not contain spaces or #", c.Template)
		}
		if p.query, err = parse(queryT); err != nil {
			return nil, err
		}
		if p.query == nil {
			p.query = []seg{}
		}
		for _, part := range strings.Split(queryT, "&") {
			k, _, _ := strings.Cut(part, "=")
			if strings.ContainsAny(k, "{}") {
				return nil, fmt.Errorf("template %q: query parameter names must be literal", c.Template)
			}
			if k != "" {
				uk, err := url.QueryUnescape(k)
				if err != nil {
					return nil, fmt.Errorf("template %q: query name %q: %v", c.Template, k, err)
				}
				p.keys = append(p.keys, uk)
			}
		}
	}
	for i := 0; i < len(c.Template); i++ {
		if ch := c.Template[i]; ch < ' ' || ch == 0x7f {
			return nil, fmt.Errorf("template must not contain control characters")
		}
	}
	return p, nil
}

func parse(s string) ([]seg, error) {
	var out []seg
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, seg{false, lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{', c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '}':
			return nil, fmt.Errorf("template: unmatched } at byte %d", i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template: unclosed { at byte %d", i)
			}
			name := s[i+1 : i+1+end]
			if name == "" || strings.ContainsAny(name, "{/?&=") {
				return nil, fmt.Errorf("template: {%s} is not a path parameter name", name)
			}
			flush()
			out = append(out, seg{true, name})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

// isDotLike reports whether a segment is ".", ".." or one of them with ";"
// parameters (which some backends treat as dot-segments).
func isDotLike(s string) bool {
	if s == "" || s[0] != '.' {
		return false
	}
	return len(s) == 1 || s[1] == ';' || s[1] == '.' && (len(s) == 2 || s[2] == ';')
}

func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// OnRequest rewrites the path and query.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	path := p.pathBuf[:0]
	for _, s := range p.path {
		if !s.param {
			path = append(path, s.text...)
			continue
		}
		v := c.Param(s.text)
		if !safeValue(v) {
			p.pathBuf = path
			return c.Respond(400, badParam)
		}
		path = append(path, v...)
	}
	p.pathBuf = path
	ps := bstr(path)
	for rest := ps; rest != ""; {
		var s string
		s, rest, _ = strings.Cut(rest, "/")
		if isDotLike(s) {
			return c.Respond(400, badParam)
		}
	}
	if err := c.Request().SetPath(ps); err != nil {
		return c.Fail(fmt.Errorf("set path: %w", err))
	}
	if p.query == nil && p.copy {
		return sdk.Continue
	}
	q := p.queryBuf[:0]
	for _, s := range p.query {
		if s.param {
			q = appendQueryEscape(q, c.Param(s.text))
		} else {
			q = append(q, s.text...)
		}
	}
	if p.copy {
		p.origBuf = c.AppendField(p.origBuf[:0], sdk.FieldQuery)
		for rest := bstr(p.origBuf); rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, "&")
			k, _, _ := strings.Cut(part, "=")
			if part == "" || p.matched(k) {
				continue
			}
			if len(q) > 0 {
				q = append(q, '&')
			}
			q = append(q, part...)
		}
	}
	p.queryBuf = q
	if err := c.Request().SetQuery(bstr(q)); err != nil {
		return c.Fail(fmt.Errorf("set query: %w", err))
	}
	return sdk.Continue
}

func (p *Policy) matched(k string) bool {
	for _, key := range p.keys {
		if k == key {
			return true
		}
	}
	if strings.ContainsAny(k, "%+") {
		if uk, err := url.QueryUnescape(k); err == nil {
			for _, key := range p.keys {
				if uk == key {
					return true
				}
			}
		}
	}
	return false
}

func safeValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789ABCDEF"

// appendQueryEscape appends v escaped as url.QueryEscape does, without
// allocating.
func appendQueryEscape(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}
