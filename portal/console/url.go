package console

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrBadInput marks an error caused by what the developer sent (400).
var ErrBadInput = errors.New("bad input")

func badInput(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, a...)...)
}

// maxParamLen bounds one path parameter value and maxQueryLen the whole
// query string the relay builds.
const (
	maxParamLen = 2048
	maxQueryLen = 16 << 10
)

// BuildURL returns the gateway URL of one operation call: base (the
// gateway, scheme and host only are used) + the API's path prefix + the
// operation's URL template with its {params} replaced by the escaped
// values of params + the query. It is the only place a URL is made from
// developer input, and it never changes the scheme or the host: a value
// that could (or that could climb out of the template's segment: '/',
// '\', a dot segment, also once or twice percent-decoded, control
// characters) is refused with ErrBadInput. Every template parameter needs
// a value; unknown parameters are refused. Query names in drop (the
// subscription key's) are left out.
func BuildURL(base *url.URL, prefix, template string, params map[string]string, query map[string][]string, drop ...string) (*url.URL, error) {
	if base == nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, errors.New("console: the gateway URL must be an absolute http(s) URL")
	}
	if !strings.HasPrefix(template, "/") {
		return nil, fmt.Errorf("console: operation template %q does not start with '/'", template)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	var raw, dec strings.Builder
	raw.WriteString(prefix)
	dec.WriteString(prefix)
	used := map[string]bool{}
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			raw.WriteString(rest)
			dec.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("console: operation template %q has an unbalanced '{'", template)
		}
		raw.WriteString(rest[:open])
		dec.WriteString(rest[:open])
		name := rest[open+1 : open+end]
		v, ok := params[name]
		if !ok || v == "" {
			return nil, badInput("path parameter %q needs a value", name)
		}
		if err := checkParam(name, v); err != nil {
			return nil, err
		}
		used[name] = true
		raw.WriteString(url.PathEscape(v))
		dec.WriteString(v)
		rest = rest[open+end+1:]
	}
	if len(used) != len(params) {
		var unknown []string
		for k := range params {
			if !used[k] {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		return nil, badInput("the operation has no path parameter %q", unknown[0])
	}
	for _, seg := range strings.Split(dec.String(), "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("console: operation template %q has a dot segment", template)
		}
	}
	q, err := buildQuery(query, drop)
	if err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: dec.String(), RawQuery: q}
	if r := raw.String(); r != dec.String() {
		u.RawPath = r
	}
	return u, nil
}

// checkParam refuses path parameter values that could leave their segment.
func checkParam(name, v string) error {
	if len(v) > maxParamLen {
		return badInput("path parameter %q is longer than %d bytes", name, maxParamLen)
	}
	if !utf8.ValidString(v) {
		return badInput("path parameter %q is not valid UTF-8", name)
	}
	// Check the value as given and as a server decoding it once or twice
	// more would see it: "%2e%2e", "%252f" and the like are refused too.
	s := v
	for i := 0; i < 3; i++ {
		if s == "." || s == ".." {
			return badInput("path parameter %q must not be a dot segment (%q)", name, v)
		}
		for _, c := range s {
			if c == '/' || c == '\\' {
				return badInput("path parameter %q must not contain '/' or '\\', also encoded (%q)", name, v)
			}
			if c < 0x20 || c == 0x7f {
				return badInput("path parameter %q must not contain control characters", name)
			}
		}
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			break
		}
		s = d
	}
	return nil
}

func buildQuery(query map[string][]string, drop []string) (string, error) {
	if len(query) == 0 {
		return "", nil
	}
	vals := url.Values{}
	for k, vs := range query {
		if k == "" {
			return "", badInput("a query parameter has an empty name")
		}
		if !utf8.ValidString(k) {
			return "", badInput("query parameter name %q is not valid UTF-8", k)
		}
		skip := false
		for _, d := range drop {
			if d != "" && strings.EqualFold(k, d) {
				skip = true
			}
		}
		if skip {
			continue
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return "", badInput("query parameter %q is not valid UTF-8", k)
			}
		}
		vals[k] = vs
	}
	q := vals.Encode()
	if len(q) > maxQueryLen {
		return "", badInput("the query is longer than %d bytes", maxQueryLen)
	}
	return q, nil
}
