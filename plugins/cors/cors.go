// Package cors is the cors policy (Azure API Management's cors): it answers
// CORS preflight requests itself and adds the CORS headers to the responses
// of actual cross-origin requests from allowed origins.
//
// Config:
//
//	{
//	  "allowed_origins": ["https://app.example.com"], // required; "*" or ["*"]: any origin
//	  "allowed_methods": ["GET", "POST"],              // default GET, POST; ["*"]: any
//	  "allowed_headers": ["Content-Type"],             // request headers a preflight may ask for; ["*"]: any
//	  "expose_headers": ["X-Request-Id"],              // response headers scripts may read
//	  "allow_credentials": false,                      // cookies and auth; not with "*" origins
//	  "preflight_result_max_age": 0                    // seconds browsers may cache a preflight; 0: no header
//	}
//
// A preflight is an OPTIONS request with Origin and
// Access-Control-Request-Method. The policy answers it with 200 and no body:
// when the origin, the method and every requested header are allowed, with
// Access-Control-Allow-Origin, -Allow-Methods, -Allow-Headers (when headers
// were requested), -Max-Age and -Allow-Credentials; otherwise without CORS
// headers, so that the browser refuses the actual request (as APIM does with
// terminate-unmatched-request). The backend never sees a preflight.
//
// An actual request with an allowed Origin is forwarded unchanged, and its
// response gets Access-Control-Allow-Origin (the origin, or "*" when any
// origin is allowed without credentials), Access-Control-Allow-Credentials
// and Access-Control-Expose-Headers. A request from another origin is
// forwarded too, and its response gets no CORS headers: the browser then
// hides it from the script. Unless any origin is allowed, responses to
// requests with an Origin carry Vary: Origin.
//
// A preflight that no operation of the API declares runs the API-level
// policy (global and API scopes), so attach cors at the API or global scope.
package cors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cors"

// maxMaxAge caps preflight_result_max_age (one day; browsers cap lower).
const maxMaxAge = 86400

// Config is the policy's JSON config.
type Config struct {
	AllowedOrigins        Origins  `json:"allowed_origins"`
	AllowedMethods        []string `json:"allowed_methods"`
	AllowedHeaders        []string `json:"allowed_headers"`
	ExposeHeaders         []string `json:"expose_headers"`
	AllowCredentials      bool     `json:"allow_credentials"`
	PreflightResultMaxAge int      `json:"preflight_result_max_age"`
}

// Origins is a list of origins; the JSON string "*" stands for ["*"].
type Origins []string

// UnmarshalJSON accepts a list of strings or the string "*".
func (o *Origins) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil || s != "*" {
			return errors.New(`allowed_origins: want a list of origins or "*"`)
		}
		*o = Origins{"*"}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New(`allowed_origins: want a list of origins or "*"`)
	}
	*o = l
	return nil
}

// Policy is a configured cors.
type Policy struct {
	sdk.Base
	anyOrigin   bool
	origins     map[string]bool // lower-case origins
	anyMethod   bool
	methods     map[string]bool
	methodsList string // Access-Control-Allow-Methods
	anyHeader   bool
	headers     map[string]bool // lower-case header names
	expose      string
	credentials bool
	maxAge      string // "" for none

	origin, method, reqHeaders, lower []byte // reused per request
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{
		origins: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		credentials: c.AllowCredentials,
		origin:      make([]byte, 0, 256), method: make([]byte, 0, 16),
		reqHeaders: make([]byte, 0, 256), lower: make([]byte, 0, 64),
	}
	if len(c.AllowedOrigins) == 0 {
		return nil, errors.New(`allowed_origins is required (a list of origins, or ["*"])`)
	}
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		n, err := origin(o)
		if err != nil {
			return nil, fmt.Errorf("allowed_origins[%d]: %v", i, err)
		}
		p.origins[n] = true
	}
	if p.anyOrigin && len(p.origins) > 0 {
		return nil, errors.New(`allowed_origins: "*" cannot be combined with other origins`)
	}
	if p.anyOrigin && c.AllowCredentials {
		return nil, errors.New(`allow_credentials cannot be true when allowed_origins is "*" (the CORS specification forbids credentials with a wildcard origin)`)
	}

	methods := c.AllowedMethods
	if len(methods) == 0 {
		methods = []string{"GET", "POST"}
	}
	var list []string
	for i, m := range methods {
		if m == "*" {
			p.anyMethod = true
			continue
		}
		if !conf.IsToken(m) {
			return nil, fmt.Errorf("allowed_methods[%d]: %q is not a method", i, m)
		}
		m = strings.ToUpper(m)
		if !p.methods[m] {
			p.methods[m] = true
			list = append(list, m)
		}
	}
	if p.anyMethod && len(p.methods) > 0 {
		return nil, errors.New(`allowed_methods: "*" cannot be combined with other methods`)
	}
	p.methodsList = strings.Join(list, ", ")

	for i, h := range c.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		if !conf.IsToken(h) {
			return nil, fmt.Errorf("allowed_headers[%d]: %q is not a valid header name", i, h)
		}
		p.headers[strings.ToLower(h)] = true
	}
	if p.anyHeader && len(p.headers) > 0 {
		return nil, errors.New(`allowed_headers: "*" cannot be combined with other headers`)
	}
	for i, h := range c.ExposeHeaders {
		if !conf.IsToken(h) {
			return nil, fmt.Errorf("expose_headers[%d]: %q is not a valid header name", i, h)
		}
	}
	p.expose = strings.Join(c.ExposeHeaders, ", ")

	switch a := c.PreflightResultMaxAge; {
	case a < 0 || a > maxMaxAge:
		return nil, fmt.Errorf("preflight_result_max_age must be 0 to %d seconds, got %d", maxMaxAge, a)
	case a > 0:
		p.maxAge = strconv.Itoa(a)
	}
	return p, nil
}

// origin checks and normalizes a configured origin: scheme://host[:port].
func origin(o string) (string, error) {
	if o == "null" {
		return "", errors.New(`"null" is not an allowed origin (any sandboxed page sends it)`)
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port], without a path)", o)
	}
	return strings.ToLower(o), nil
}

// str views b as a string for the host, which only reads it; b must not
// change until the host call returns.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// readOrigin reads the request's Origin into p.origin and reports whether it
// is present and allowed.
func (p *Policy) readOrigin(c *sdk.Context) (present, allowed bool) {
	o, ok := c.Request().Header().AppendGet(p.origin[:0], "Origin")
	p.origin = o
	if !ok || len(o) == 0 {
		return false, false
	}
	if p.anyOrigin {
		return true, true
	}
	p.lower = appendLower(p.lower[:0], o)
	return true, p.origins[string(p.lower)]
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// OnRequest answers preflights.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if !p.preflight(c) {
		return sdk.Continue
	}
	present, allowed := p.readOrigin(c)
	if present && allowed && p.methodAllowed() && p.headersAllowed(c) {
		if err := p.preflightHeaders(c.Response().Header()); err != nil {
			return c.Fail(err)
		}
	}
	return c.Respond(200, nil)
}

// preflight reports whether the request is a CORS preflight, and leaves the
// requested method in p.method.
func (p *Policy) preflight(c *sdk.Context) bool {
	p.method = c.AppendField(p.method[:0], sdk.FieldMethod)
	if string(p.method) != "OPTIONS" {
		return false
	}
	h := c.Request().Header()
	if !h.Has("Origin") {
		return false
	}
	m, ok := h.AppendGet(p.method[:0], "Access-Control-Request-Method")
	p.method = m
	return ok
}

func (p *Policy) methodAllowed() bool {
	if !conf.IsToken(str(p.method)) {
		return false
	}
	return p.anyMethod || p.methods[string(p.method)]
}

// headersAllowed checks Access-Control-Request-Headers (a comma-separated
// list; browsers send one line) and leaves the requested names, lower-case
// and comma-separated, in p.lower for the answer.
func (p *Policy) headersAllowed(c *sdk.Context) bool {
	p.reqHeaders, _ = c.Request().Header().AppendGet(p.reqHeaders[:0], "Access-Control-Request-Headers")
	// Normalize to "a, b, c" in lower case; every element must be a token.
	out := p.lower[:0]
	rest := p.reqHeaders
	for len(rest) > 0 {
		var part []byte
		if i := bytes.IndexByte(rest, ','); i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		} else {
			part, rest = rest, nil
		}
		part = bytes.Trim(part, " \t")
		if len(part) == 0 {
			continue
		}
		if !conf.IsToken(str(part)) {
			return false
		}
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = appendLower(out, part)
		name := out[len(out)-len(part):]
		if !p.anyHeader && !p.headers[string(name)] {
			return false
		}
	}
	p.lower = out
	return true
}

func (p *Policy) preflightHeaders(h sdk.Header) error {
	if err := p.originHeaders(h); err != nil {
		return err
	}
	methods := p.methodsList
	if p.anyMethod {
		methods = str(p.method)
	}
	if err := h.Set("Access-Control-Allow-Methods", methods); err != nil {
		return err
	}
	if len(p.lower) > 0 {
		if err := h.Set("Access-Control-Allow-Headers", str(p.lower)); err != nil {
			return err
		}
	}
	if p.maxAge != "" {
		if err := h.Set("Access-Control-Max-Age", p.maxAge); err != nil {
			return err
		}
	}
	return nil
}

// originHeaders sets Access-Control-Allow-Origin, Vary and credentials.
func (p *Policy) originHeaders(h sdk.Header) error {
	if p.anyOrigin {
		return h.Set("Access-Control-Allow-Origin", "*")
	}
	if err := h.Set("Access-Control-Allow-Origin", str(p.origin)); err != nil {
		return err
	}
	if err := h.Add("Vary", "Origin"); err != nil {
		return err
	}
	if p.credentials {
		return h.Set("Access-Control-Allow-Credentials", "true")
	}
	return nil
}

// OnResponse adds the CORS headers to the response of an actual request.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if p.preflight(c) {
		return sdk.Continue // answered in the request phase
	}
	present, allowed := p.readOrigin(c)
	if !present {
		return sdk.Continue
	}
	h := c.Response().Header()
	var err error
	switch {
	case allowed:
		err = p.originHeaders(h)
		if err == nil && p.expose != "" {
			err = h.Set("Access-Control-Expose-Headers", p.expose)
		}
	case !p.anyOrigin:
		err = h.Add("Vary", "Origin")
	}
	if err != nil {
		return c.Fail(fmt.Errorf("cors: %w", err))
	}
	return sdk.Continue
}
