package sdk

import (
	"bytes"
	"iter"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Request is the request being proxied. Changes are allowed in the request
// phase only; in the response phase they fail with ErrPhase.
type Request struct{ c *Context }

// Method returns the request method, e.g. "GET".
func (r *Request) Method() string { return r.c.field(abi.FieldMethod) }

// SetMethod changes the method sent to the backend.
func (r *Request) SetMethod(m string) error { return r.setField(abi.FieldMethod, m) }

// Path returns the canonical request path (after earlier rewrites), without
// the query.
func (r *Request) Path() string { return r.c.field(abi.FieldPath) }

// SetPath changes the path sent to the backend. The host canonicalizes it
// again and refuses (ErrInvalid) a path it would reject from a client.
func (r *Request) SetPath(p string) error { return r.setField(abi.FieldPath, p) }

// Query returns the raw query string, without '?'.
func (r *Request) Query() string { return r.c.field(abi.FieldQuery) }

// SetQuery replaces the raw query string (without '?').
func (r *Request) SetQuery(q string) error { return r.setField(abi.FieldQuery, q) }

// QueryParam returns the first value of the query parameter name, unescaped,
// or "" if there is none.
func (r *Request) QueryParam(name string) string {
	v, _ := LookupQuery(r.Query(), name)
	return v
}

func (r *Request) setField(f int32, v string) error {
	return errOf(imports.SetField(r.c.handle, f, bytesOf(v)))
}

// Header returns the request headers.
func (r *Request) Header() Header { return Header{r.c, abi.KindRequest} }

// Body returns the whole request body (the host buffers it on first use, up
// to the API's body limit: over it the error is ErrTooLarge). The slice is
// the caller's. In the response phase it is available only if the request
// phase read it.
func (r *Request) Body() ([]byte, error) { return body(r.c, abi.KindRequest) }

// SetBody replaces the request body; the host fixes Content-Length.
func (r *Request) SetBody(b []byte) error {
	return errOf(imports.SetBody(r.c.handle, abi.KindRequest, b))
}

// Response is the response: the backend's in the response phase, the early
// answer in the request phase.
type Response struct{ c *Context }

// Status returns the status code: the backend's in the response phase; in
// the request phase the early answer's, or 0 before there is one.
func (r *Response) Status() int {
	st := imports.GetStatus(r.c.handle)
	if st < 0 {
		return 0
	}
	return int(st)
}

// SetStatus changes the status code (response phase only; 100–599).
func (r *Response) SetStatus(code int) error {
	if code < 100 || code > 599 {
		return ErrInvalid
	}
	return errOf(imports.SetStatus(r.c.handle, int32(code)))
}

// Header returns the response headers. In the request phase they are the
// headers of the early answer that Context.Respond sends.
func (r *Response) Header() Header { return Header{r.c, abi.KindResponse} }

// Body returns the whole response body (response phase only; buffered by
// the host up to its limit, else ErrTooLarge). The slice is the caller's.
func (r *Response) Body() ([]byte, error) { return body(r.c, abi.KindResponse) }

// SetBody replaces the response body (response phase only; to answer in
// the request phase use Context.Respond). The host fixes Content-Length.
func (r *Response) SetBody(b []byte) error {
	return errOf(imports.SetBody(r.c.handle, abi.KindResponse, b))
}

func body(c *Context, kind int32) ([]byte, error) {
	return readOwned(func(buf []byte) int32 { return imports.GetBody(c.handle, kind, buf) })
}

// Header is the header list of the request or the response. Names are
// case-insensitive. The host refuses (ErrInvalid) names that are not HTTP
// tokens, values with CR, LF or NUL, hop-by-hop headers and Content-Length.
type Header struct {
	c    *Context
	kind int32
}

func (h Header) read(name string) int32 {
	return read(func(buf []byte) int32 { return imports.GetHeader(h.c.handle, h.kind, bytesOf(name), buf) })
}

// Get returns the first value of the header, or "" if it is absent.
func (h Header) Get(name string) string {
	n := h.read(name)
	if n < 0 {
		return ""
	}
	v := scratch[:n]
	if i := bytes.IndexByte(v, abi.HeaderSep); i >= 0 {
		v = v[:i]
	}
	return string(v)
}

// Has reports whether the header is present. It copies nothing.
func (h Header) Has(name string) bool {
	return imports.GetHeader(h.c.handle, h.kind, bytesOf(name), scratch[:0]) >= 0
}

// Values returns all values of the header, or nil if it is absent.
func (h Header) Values(name string) []string {
	n := h.read(name)
	if n < 0 {
		return nil
	}
	return strings.Split(string(scratch[:n]), string(abi.HeaderSep))
}

// Set replaces the header's values with value.
func (h Header) Set(name, value string) error {
	return errOf(imports.SetHeader(h.c.handle, h.kind, bytesOf(name), bytesOf(value)))
}

// Add appends a value to the header.
func (h Header) Add(name, value string) error {
	return errOf(imports.AddHeader(h.c.handle, h.kind, bytesOf(name), bytesOf(value)))
}

// Del removes the header; an absent header is not an error.
func (h Header) Del(name string) error {
	return errOf(imports.DelHeader(h.c.handle, h.kind, bytesOf(name)))
}

// All returns every header as (canonical name, value) pairs, one pair per
// value. It reads the list once, when iteration starts; changing headers
// while iterating is allowed and does not affect the iteration.
func (h Header) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		n := read(func(buf []byte) int32 { return imports.GetHeaders(h.c.handle, h.kind, buf) })
		if n <= 0 {
			return
		}
		all := string(scratch[:n])
		for len(all) > 0 {
			name, rest, ok := strings.Cut(all, "\x00")
			if !ok {
				return
			}
			value, rest, _ := strings.Cut(rest, "\x00")
			all = rest
			if !yield(name, value) {
				return
			}
		}
	}
}

// LookupQuery returns the first value of the parameter name in the raw query
// string q, unescaped as by url.QueryUnescape, and whether it is present. It
// allocates only to unescape.
func LookupQuery(q, name string) (string, bool) {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != name {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				return v, true
			}
			return uv, true
		}
		return v, true
	}
	return "", false
}

// DeleteQuery returns the raw query string q without the parameter name
// (every occurrence), keeping the other parameters as they were.
func DeleteQuery(q, name string) string {
	if !strings.Contains(q, name) && !strings.ContainsAny(q, "%+") {
		return q
	}
	var b strings.Builder
	for rest := q; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		k, _, _ := strings.Cut(part, "=")
		if k == name {
			continue
		}
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err == nil && uk == name {
				continue
			}
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}
