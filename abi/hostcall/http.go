package hostcall

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/canon"
	"github.com/gatehouse/gatehouse/abi/upstream"
)

// Capability http: fields, headers, status, early answers, path parameters
// (ABI.md §5 "http", "backend", "cache status").

// GetField is get_field.
func (h *Host) GetField(env Env, x *Exchange, field int32, buf []byte) int32 {
	var v string
	switch field {
	case abi.FieldMethod:
		v = x.Method
	case abi.FieldPath:
		v = x.Path
	case abi.FieldQuery:
		v = x.Query
	case abi.FieldClientIP:
		v = x.ClientIP
	case abi.FieldRequestID:
		v = x.RequestID
	case abi.FieldAPI:
		v = x.API
	case abi.FieldOperation:
		v = x.Operation
	case abi.FieldScheme:
		v = x.Scheme
	case abi.FieldHost:
		v = x.Host
	case abi.FieldOriginalPath:
		v = x.OrigPath
	case abi.FieldSubscription:
		if x.Subscription != nil {
			v = x.Subscription.ID
		}
	case abi.FieldProduct:
		if x.Subscription != nil {
			v = x.Subscription.Product
		}
	case abi.FieldRouteTemplate:
		v = x.Template
	case abi.FieldPhase:
		v = x.Phase.String()
	case abi.FieldBackendURL:
		v = x.APIBackend
		if x.Backend.URL != nil {
			v = x.Backend.RawURL
		}
	case abi.FieldBackendTimeout:
		d := x.APITimeout
		if x.Backend.Timeout > 0 {
			d = x.Backend.Timeout
		}
		v = strconv.FormatInt(d.Milliseconds(), 10)
	case abi.FieldBackendRetry:
		if x.Backend.Retry != nil {
			return out(buf, x.Backend.Retry.Encode())
		}
	case abi.FieldBackendFollowRedirects:
		v = strconv.FormatBool(x.Backend.FollowRedirects)
	case abi.FieldCacheStatus:
		v = x.cacheStatus
	default:
		cv, ok := x.clientCertField(field) // clientcert.go (v1.2)
		if !ok {
			return abi.ErrInvalid
		}
		v = cv
	}
	return outString(buf, v)
}

// SetField is set_field.
func (h *Host) SetField(env Env, x *Exchange, field int32, val []byte) int32 {
	if field == abi.FieldCacheStatus { // ABI v1.2: any phase
		return x.setCacheStatus(val)
	}
	if x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	switch field {
	case abi.FieldMethod:
		if len(val) == 0 || len(val) > abi.MaxMethod || !isToken(val) {
			return abi.ErrInvalid
		}
		x.Method = strings.ToUpper(string(val))
	case abi.FieldPath:
		// The same canonical form the edge enforces: a policy cannot
		// smuggle dot-segments (nor "..;"), backslashes or NULs to the
		// backend.
		p, err := canon.CanonicalPath(canon.EscapePath(string(val)))
		if err != nil {
			return abi.ErrInvalid
		}
		x.Path = p
	case abi.FieldQuery:
		if !validQuery(val) {
			return abi.ErrInvalid
		}
		x.Query = string(val)
	case abi.FieldBackendURL, abi.FieldBackendTimeout, abi.FieldBackendRetry, abi.FieldBackendFollowRedirects:
		return h.setBackendField(env, x, field, val)
	default:
		return abi.ErrInvalid
	}
	return abi.OK
}

// validQuery reports whether val may be the raw query sent to the backend:
// at most abi.MaxQuery bytes, no control byte, space, DEL or '#'.
func validQuery(val []byte) bool {
	if len(val) > abi.MaxQuery {
		return false
	}
	for _, c := range val {
		if c <= ' ' || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// SetBackendField applies set_field for the backend fields (ABI v1.1):
// request phase only, values checked. env may be nil (nothing is told of a
// refused URL).
func (h *Host) setBackendField(env Env, x *Exchange, field int32, val []byte) int32 {
	if x.Phase != PhaseRequest {
		return abi.ErrPhase
	}
	switch field {
	case abi.FieldBackendURL:
		if len(val) == 0 || len(val) > upstream.MaxURLLen {
			return abi.ErrInvalid
		}
		raw := string(val)
		u, err := CheckBackendOverride(x, raw)
		if err != nil {
			if env != nil {
				env.BackendRefused(x, err)
			}
			return abi.ErrInvalid
		}
		x.Backend.URL, x.Backend.RawURL = u, raw
	case abi.FieldBackendTimeout:
		d, err := upstream.ParseTimeout(val)
		if err != nil {
			return abi.ErrInvalid
		}
		x.Backend.Timeout = d
	case abi.FieldBackendRetry:
		if len(val) == 0 {
			x.Backend.Retry = nil
			return abi.OK
		}
		r, err := upstream.ParseRetry(val)
		if err != nil {
			return abi.ErrInvalid
		}
		x.Backend.Retry = r
	case abi.FieldBackendFollowRedirects:
		switch string(val) {
		case "true":
			x.Backend.FollowRedirects = true
		case "false":
			x.Backend.FollowRedirects = false
		default:
			return abi.ErrInvalid
		}
	default:
		return abi.ErrInvalid
	}
	return abi.OK
}

// SetBackendField is set_field of a backend field (ABI v1.1) for callers
// outside a guest call (the gateway's own policies, tests).
func SetBackendField(x *Exchange, field int32, val []byte) int32 {
	var h Host
	return h.setBackendField(nil, x, field, val)
}

func headerFor(x *Exchange, kind int32) (http.Header, int32) {
	switch kind {
	case abi.KindRequest:
		if x.ReqHeader == nil {
			x.ReqHeader = make(http.Header)
		}
		return x.ReqHeader, abi.OK
	case abi.KindResponse:
		if x.RespHeader == nil {
			x.RespHeader = make(http.Header)
		}
		return x.RespHeader, abi.OK
	}
	return nil, abi.ErrInvalid
}

// canonicalKey canonicalizes a header name without allocating for the
// common already-canonical case.
func canonicalKey(name []byte) (string, bool) {
	if len(name) == 0 || len(name) > abi.MaxHeaderName {
		return "", false
	}
	if !isToken(name) {
		return "", false
	}
	return textproto.CanonicalMIMEHeaderKey(string(name)), true
}

// canonicalToken reports whether name is a valid header name (as
// canonicalKey checks it) already in canonical form, so that
// canonicalKey(name) would return it unchanged.
func canonicalToken(name []byte) bool {
	if len(name) == 0 || len(name) > abi.MaxHeaderName {
		return false
	}
	upper := true
	for _, c := range name {
		if !isTokenByte(c) || upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// forbidden are the headers a policy may not set, add or delete: the
// hop-by-hop headers (the proxy drops or rewrites them anyway), and
// Content-Length and Host, which the host computes.
var forbidden = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true,
	"Upgrade": true, "Te": true, "Trailer": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Content-Length": true, "Host": true,
}

// validValue reports whether v may be a header value: at most
// abi.MaxHeaderValue bytes, no control byte but tab, no DEL.
func validValue(v []byte) bool {
	if len(v) > abi.MaxHeaderValue {
		return false
	}
	for _, c := range v {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// GetHeader is get_header.
func (h *Host) GetHeader(env Env, x *Exchange, kind int32, name, buf []byte) int32 {
	hd, st := headerFor(x, kind)
	if st != abi.OK {
		return st
	}
	// A canonical name (what the SDK sends) is found without allocating.
	vs, found := hd[string(name)]
	if !found {
		if canonicalToken(name) {
			// Already canonical: absent, with no string built to say so.
			return abi.ErrNotFound
		}
		key, ok := canonicalKey(name)
		if !ok {
			return abi.ErrInvalid
		}
		vs = hd[key]
	}
	switch len(vs) {
	case 0:
		return abi.ErrNotFound
	case 1:
		return outString(buf, vs[0])
	}
	return outString(buf, strings.Join(vs, "\x00"))
}

// GetHeaders is get_headers: name NUL value NUL … in name order.
func (h *Host) GetHeaders(env Env, x *Exchange, kind int32, buf []byte) int32 {
	hd, st := headerFor(x, kind)
	if st != abi.OK {
		return st
	}
	n := 0
	names := make([]string, 0, len(hd))
	for k, vs := range hd {
		names = append(names, k)
		n += (len(k) + 1) * len(vs)
		for _, v := range vs {
			n += len(v) + 1
		}
	}
	slices.Sort(names)
	enc := make([]byte, 0, n)
	for _, k := range names {
		for _, v := range hd[k] {
			enc = append(enc, k...)
			enc = append(enc, 0)
			enc = append(enc, v...)
			enc = append(enc, 0)
		}
	}
	return out(buf, enc)
}

// SetHeader is set_header (add false) and add_header (add true).
func (h *Host) SetHeader(env Env, x *Exchange, add bool, kind int32, name, val []byte) int32 {
	fname := abi.FnSetHeader
	if add {
		fname = abi.FnAddHeader
	}
	if kind == abi.KindRequest && x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	hd, st := headerFor(x, kind)
	if st != abi.OK {
		return abi.ErrInvalid
	}
	var key string
	if canonicalToken(name) {
		key = x.intern(name) // the usual case: no allocation after the first
	} else if k, ok := canonicalKey(name); ok {
		key = k
	} else {
		return abi.ErrInvalid
	}
	if forbidden[key] || !validValue(val) {
		return abi.ErrInvalid
	}
	if vs := hd[key]; !add && len(vs) == 1 && vs[0] == string(val) {
		return abi.OK // unchanged: no allocation, no budget
	}
	b := &h.Budgets
	if x.use.headers >= b.AddedHeaders {
		return refuse(env, x, budgetHeaders, fname, x.use.headers, b.AddedHeaders)
	}
	if n := x.use.headerBytes + len(key) + len(val); n > b.AddedHeaderBytes {
		return refuse(env, x, budgetHeaderBytes, fname, n, b.AddedHeaderBytes)
	}
	x.use.headers++
	x.use.headerBytes += len(key) + len(val)
	if add {
		hd[key] = append(hd[key], x.intern(val))
	} else {
		hd[key] = x.valueSlice(x.intern(val))
	}
	return abi.OK
}

// DelHeader is del_header.
func (h *Host) DelHeader(env Env, x *Exchange, kind int32, name []byte) int32 {
	if kind == abi.KindRequest && x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	hd, st := headerFor(x, kind)
	key, ok := canonicalKey(name)
	if st != abi.OK || !ok || forbidden[key] {
		return abi.ErrInvalid
	}
	delete(hd, key)
	return abi.OK
}

// GetStatus is get_status.
func (h *Host) GetStatus(env Env, x *Exchange) int32 {
	if x.Phase != PhaseResponse && !x.Answered {
		return abi.ErrNotFound
	}
	return int32(x.Status)
}

// SetStatus is set_status.
func (h *Host) SetStatus(env Env, x *Exchange, code int32) int32 {
	if x.Phase != PhaseResponse {
		return abi.ErrPhase
	}
	if code < 100 || code > 599 {
		return abi.ErrInvalid
	}
	x.Status = int(code)
	return abi.OK
}

// SendResponse is send_response.
func (h *Host) SendResponse(env Env, x *Exchange, code int32, body []byte) int32 {
	if x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	if code < 100 || code > 599 {
		return abi.ErrInvalid
	}
	if len(body) > x.outputCap() {
		return abi.ErrTooLarge
	}
	x.Answered = true
	x.Status = int(code)
	x.RespBody.set(body)
	if x.RespHeader == nil {
		x.RespHeader = make(http.Header)
	}
	return abi.OK
}

// GetParam is get_param.
func (h *Host) GetParam(env Env, x *Exchange, name, buf []byte) int32 {
	for _, p := range x.Params {
		if p.Name == string(name) {
			return outString(buf, p.Value)
		}
	}
	return abi.ErrNotFound
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTokenByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
