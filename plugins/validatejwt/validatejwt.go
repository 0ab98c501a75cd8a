// Package validatejwt is the validate-jwt policy (Azure API Management's
// validate-jwt): it takes a JWT from a request header, a query parameter or
// a cookie, has the gateway verify it, and answers the request itself when
// the token is missing or invalid.
//
// Config:
//
//	{
//	  "header_name": "Authorization",      // default when no source is given; "Bearer " is stripped
//	  "query_parameter_name": "",          // or: the token in this query parameter
//	  "cookie_name": "",                   // or: the token in this cookie
//	  "failed_validation_httpcode": 401,   // 400–599
//	  "failed_validation_error_message": "Unauthorized. Access token is missing or invalid.",
//	  "output_token_variable_name": "",    // store the claims (JSON) in this variable
//
//	  // verification, checked by the host (host/jwtverify):
//	  "algorithms": ["RS256"],             // required; never "none"
//	  "issuers": ["https://issuer"],       // required
//	  "audiences": ["api://pets"],         // required
//	  "leeway_seconds": 30,                // 0 means 30; at most 300
//	  "hmac_secret": "",                   // exactly one key source:
//	  "hmac_secret_base64": "",            //   HS* secrets are at least 32 bytes
//	  "public_key_pem": "",                //   RSA (≥ 2048 bits) or ECDSA key / certificate
//	  "jwks_url": "",                      //   https://…/keys
//	  "required_claims": {"scp": ["read"]} // claim → accepted values (empty list: present)
//	}
//
// At most one of header_name, query_parameter_name and cookie_name may be
// set. A header token may carry the "Bearer " scheme (any case), which is
// stripped; in the Authorization header the scheme is required.
//
// The host requires exp, iss and aud, restricts algorithms to the list,
// rejects "none" and key confusion (an HS* token against an RSA key), and
// ignores jku, x5u, jwk and x5c. A token that is missing or fails
// verification gets failed_validation_httpcode with
//
//	WWW-Authenticate: Bearer error="invalid_token"   (just "Bearer" when no token was sent)
//	{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}
//
// When the gateway cannot verify at all (a key set that cannot be fetched,
// a key the host refuses, no JWT capability) the policy fails, and the
// attachment's fail mode decides (closed by default: 500).
package validatejwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "validate-jwt"

// Defaults of the config.
const (
	DefaultHeader  = "Authorization"
	DefaultStatus  = 401
	DefaultMessage = "Unauthorized. Access token is missing or invalid."
)

// Limits checked in New, as the host checks them.
const (
	maxLeeway     = 300
	minHMACSecret = 32
	maxVarName    = 128
)

// Config is the policy's JSON config.
type Config struct {
	HeaderName                   string  `json:"header_name"`
	QueryParameterName           string  `json:"query_parameter_name"`
	CookieName                   string  `json:"cookie_name"`
	FailedValidationHTTPCode     int     `json:"failed_validation_httpcode"`
	FailedValidationErrorMessage *string `json:"failed_validation_error_message"`
	OutputTokenVariableName      string  `json:"output_token_variable_name"`

	// The verification config (Verify).
	Algorithms       []string            `json:"algorithms"`
	Issuers          []string            `json:"issuers"`
	Audiences        []string            `json:"audiences"`
	LeewaySeconds    int                 `json:"leeway_seconds"`
	HMACSecret       string              `json:"hmac_secret"`
	HMACSecretBase64 string              `json:"hmac_secret_base64"`
	PublicKeyPEM     string              `json:"public_key_pem"`
	JWKSURL          string              `json:"jwks_url"`
	RequiredClaims   map[string][]string `json:"required_claims"`
}

// Verify is the verification config the host receives (host/jwtverify.Config).
type Verify struct {
	Algorithms       []string            `json:"algorithms"`
	Issuers          []string            `json:"issuers"`
	Audiences        []string            `json:"audiences"`
	LeewaySeconds    int                 `json:"leeway_seconds,omitempty"`
	HMACSecret       string              `json:"hmac_secret,omitempty"`
	HMACSecretBase64 string              `json:"hmac_secret_base64,omitempty"`
	PublicKeyPEM     string              `json:"public_key_pem,omitempty"`
	JWKSURL          string              `json:"jwks_url,omitempty"`
	RequiredClaims   map[string][]string `json:"required_claims,omitempty"`
}

type source int

const (
	fromHeader source = iota
	fromQuery
	fromCookie
)

// Policy is a configured validate-jwt.
type Policy struct {
	sdk.Base
	source    source
	name      string // header, query parameter or cookie name
	bearer    bool   // the header is Authorization: the Bearer scheme is required
	verify    []byte // the verification config, marshaled once
	status    int
	body      []byte
	outputVar string
	buf       []byte // reused for the header, query or cookie
}

var algs = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true,
	"RS256": false, "RS384": false, "RS512": false,
	"PS256": false, "PS384": false, "PS512": false,
	"ES256": false, "ES384": false, "ES512": false,
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	c := Config{FailedValidationHTTPCode: DefaultStatus}
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{status: c.FailedValidationHTTPCode, buf: make([]byte, 0, 1024)}
	n := 0
	for _, s := range []string{c.HeaderName, c.QueryParameterName, c.CookieName} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, errors.New("only one of header_name, query_parameter_name and cookie_name may be set")
	case c.QueryParameterName != "":
		p.source, p.name = fromQuery, c.QueryParameterName
	case c.CookieName != "":
		p.source, p.name = fromCookie, c.CookieName
		if !conf.IsToken(c.CookieName) {
			return nil, fmt.Errorf("cookie_name %q is not a valid cookie name", c.CookieName)
		}
	default:
		p.source, p.name = fromHeader, c.HeaderName
		if p.name == "" {
			p.name = DefaultHeader
		}
		if !conf.IsToken(p.name) {
			return nil, fmt.Errorf("header_name %q is not a valid header name", p.name)
		}
		p.bearer = strings.EqualFold(p.name, "Authorization")
	}
	if p.status < 400 || p.status > 599 {
		return nil, fmt.Errorf("failed_validation_httpcode must be 400 to 599, got %d", p.status)
	}
	msg := DefaultMessage
	if c.FailedValidationErrorMessage != nil {
		msg = *c.FailedValidationErrorMessage
	}
	p.body = conf.ErrorBody(p.status, msg)
	if v := c.OutputTokenVariableName; v != "" {
		if len(v) > maxVarName {
			return nil, fmt.Errorf("output_token_variable_name is %d bytes, at most %d are allowed", len(v), maxVarName)
		}
		p.outputVar = v
	}
	v := Verify{
		Algorithms: c.Algorithms, Issuers: c.Issuers, Audiences: c.Audiences,
		LeewaySeconds: c.LeewaySeconds, HMACSecret: c.HMACSecret, HMACSecretBase64: c.HMACSecretBase64,
		PublicKeyPEM: c.PublicKeyPEM, JWKSURL: c.JWKSURL, RequiredClaims: c.RequiredClaims,
	}
	if err := checkVerify(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(&v)
	if err != nil {
		return nil, err
	}
	p.verify = b
	return p, nil
}

// checkVerify checks what the guest can check of the verification config,
// so that a bad config fails when it is attached. The host checks it again
// (and parses the key) on every verification.
func checkVerify(v *Verify) error {
	var sources []string
	for _, s := range []struct{ name, v string }{
		{"hmac_secret", v.HMACSecret}, {"hmac_secret_base64", v.HMACSecretBase64},
		{"public_key_pem", v.PublicKeyPEM}, {"jwks_url", v.JWKSURL},
	} {
		if s.v != "" {
			sources = append(sources, s.name)
		}
	}
	if len(sources) != 1 {
		return fmt.Errorf("exactly one of hmac_secret, hmac_secret_base64, public_key_pem and jwks_url is required, got %d", len(sources))
	}
	hmac := false
	switch sources[0] {
	case "hmac_secret":
		hmac = true
		if len(v.HMACSecret) < minHMACSecret {
			return fmt.Errorf("hmac_secret is %d bytes, at least %d are required", len(v.HMACSecret), minHMACSecret)
		}
	case "hmac_secret_base64":
		hmac = true
		b, err := decodeBase64Any(v.HMACSecretBase64)
		if err != nil {
			return fmt.Errorf("hmac_secret_base64: %v", err)
		}
		if len(b) < minHMACSecret {
			return fmt.Errorf("hmac_secret_base64 is %d bytes decoded, at least %d are required", len(b), minHMACSecret)
		}
	case "public_key_pem":
		block, _ := pem.Decode([]byte(v.PublicKeyPEM))
		if block == nil {
			return errors.New("public_key_pem: no PEM block")
		}
		switch block.Type {
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		default:
			return fmt.Errorf("public_key_pem: PEM block %q is not a public key or certificate", block.Type)
		}
	case "jwks_url":
		u, err := url.Parse(v.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("jwks_url %q is not an http or https URL", v.JWKSURL)
		}
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			return fmt.Errorf("jwks_url %q must use https (plain http only to a loopback address): keys fetched in clear text can be replaced in transit", v.JWKSURL)
		}
	}
	if len(v.Algorithms) == 0 {
		return errors.New("algorithms is required")
	}
	for i, a := range v.Algorithms {
		isHMAC, ok := algs[a]
		switch {
		case strings.EqualFold(a, "none"):
			return fmt.Errorf(`algorithms[%d]: "none" is never accepted`, i)
		case !ok:
			return fmt.Errorf("algorithms[%d]: unsupported algorithm %q", i, a)
		case isHMAC != hmac:
			return fmt.Errorf("algorithms[%d]: %s does not match the key source %s", i, a, sources[0])
		}
	}
	if err := nonEmptyList("issuers", v.Issuers); err != nil {
		return err
	}
	if err := nonEmptyList("audiences", v.Audiences); err != nil {
		return err
	}
	if v.LeewaySeconds < 0 || v.LeewaySeconds > maxLeeway {
		return fmt.Errorf("leeway_seconds must be 0 to %d, got %d", maxLeeway, v.LeewaySeconds)
	}
	for name := range v.RequiredClaims {
		if name == "" {
			return errors.New("required_claims: empty claim name")
		}
	}
	return nil
}

func nonEmptyList(field string, l []string) error {
	if len(l) == 0 {
		return fmt.Errorf("%s is required", field)
	}
	for i, s := range l {
		if s == "" {
			return fmt.Errorf("%s[%d] is empty", field, i)
		}
	}
	return nil
}

func decodeBase64Any(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var first error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// OnRequest verifies the token.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	tok := p.token(c)
	if len(tok) == 0 {
		return p.deny(c, "Bearer")
	}
	// The host only reads the token; p.buf does not change until the call
	// returns.
	claims, err := c.VerifyJWT(unsafe.String(&tok[0], len(tok)), p.verify)
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrJWTConfig), errors.Is(err, sdk.ErrJWTKeys), !errors.Is(err, sdk.ErrJWT):
		return c.Fail(fmt.Errorf("jwt verification: %w", err))
	default:
		return p.deny(c, `Bearer error="invalid_token"`)
	}
	if p.outputVar != "" {
		if err := c.Vars().SetBytes(p.outputVar, claims); err != nil {
			return c.Fail(fmt.Errorf("output_token_variable_name %s: %w", p.outputVar, err))
		}
	}
	return sdk.Continue
}

func (p *Policy) deny(c *sdk.Context, challenge string) sdk.Action {
	h := c.Response().Header()
	if err := h.Set("WWW-Authenticate", challenge); err != nil {
		return c.Fail(err)
	}
	if err := h.Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(p.status, p.body)
}

// token returns the request's token in p.buf, or nil.
func (p *Policy) token(c *sdk.Context) []byte {
	var v []byte
	switch p.source {
	case fromHeader:
		var ok bool
		v, ok = c.Request().Header().AppendGet(p.buf[:0], p.name)
		p.buf = v[:0]
		if !ok {
			return nil
		}
		v = bytes.Trim(v, " \t")
		if len(v) >= 7 && bytes.EqualFold(v[:7], []byte("bearer ")) {
			v = bytes.TrimLeft(v[7:], " \t")
		} else if p.bearer {
			return nil
		}
	case fromQuery:
		q := c.AppendField(p.buf[:0], sdk.FieldQuery)
		p.buf = q[:0]
		v = queryParam(q, p.name)
		if bytes.ContainsAny(v, "%+") {
			// Rare: an escaped token. Unescape through the SDK (allocates).
			s, _ := sdk.LookupQuery(string(q), p.name)
			v = []byte(s)
		}
	case fromCookie:
		h, ok := c.Request().Header().AppendGet(p.buf[:0], "Cookie")
		p.buf = h[:0]
		if ok {
			v = cookie(h, p.name)
		}
		if v == nil {
			// A second Cookie header line (HTTP/2 may split cookies).
			for i, line := range c.Request().Header().Values("Cookie") {
				if i > 0 {
					if v = cookie([]byte(line), p.name); v != nil {
						break
					}
				}
			}
		}
	}
	if !validToken(v) {
		return nil
	}
	return v
}

// validToken reports whether v looks like a compact JWS: base64url and dots.
// Anything else (spaces, control bytes) is refused before the host sees it.
func validToken(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, b := range v {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.' || b == '=') {
			return false
		}
	}
	return true
}

// queryParam returns the raw value of the first parameter name in q.
func queryParam(q []byte, name string) []byte {
	for len(q) > 0 {
		var part []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			part, q = q, nil
		}
		k, v, _ := bytes.Cut(part, []byte{'='})
		if string(k) == name {
			return v
		}
	}
	return nil
}

// cookie returns the value of the cookie name in a Cookie header, or nil.
func cookie(h []byte, name string) []byte {
	for len(h) > 0 {
		var part []byte
		if i := bytes.IndexByte(h, ';'); i >= 0 {
			part, h = h[:i], h[i+1:]
		} else {
			part, h = h, nil
		}
		k, v, ok := bytes.Cut(bytes.TrimSpace(part), []byte{'='})
		if ok && string(k) == name {
			v = bytes.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return nil
}

// loopbackHost reports whether h is localhost or a loopback address.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}
