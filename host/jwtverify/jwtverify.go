// Package jwtverify is the host side of the jwt_verify capability: a policy
// module passes a compact JWS and a JSON verification config (see Config),
// and the host verifies the token with github.com/golang-jwt/jwt/v5 and
// returns its claims, or an ABI status (abi.ErrJWT*) saying why not.
//
// Defaults are strict and cannot be relaxed by a config:
//
//   - The accepted algorithms are listed in the config, must match the single
//     key source (HMAC secret, PEM public key or JWKS URL) and never include
//     "none". Keys are handed to golang-jwt typed ([]byte only for HS*,
//     *rsa.PublicKey only for RS*/PS*, *ecdsa.PublicKey of the right curve
//     only for ES*), so a token signed with HS256 using an RSA public key as
//     the secret (algorithm confusion) is rejected.
//   - iss must be one of the config's issuers, aud must contain one of its
//     audiences, exp is required; exp, nbf and iat are checked with a leeway
//     of at most 300 s.
//   - The token header's jku, x5u, jwk and x5c are ignored: keys come only
//     from the config. A header with "crit" is rejected, since no extension
//     is understood.
//   - Tokens above 16 KiB are rejected unparsed.
//
// Parsed configs are cached by their exact bytes (an LRU of 256), so a policy
// that sends the same config with every request parses it once.
//
// JWKS keys are cached per URL for Options.JWKSMaxAge. A URL is fetched at
// most once per Options.JWKSRefreshMin, also when a token names an unknown
// kid; concurrent requests share one fetch. When a refresh fails, the keys
// already held keep being used (stale-if-error) without any log from this
// package; only with no keys at all is the result abi.ErrJWTKeys. Note that
// the JWKS URL comes from the policy's config, so the host fetches whatever
// http(s) URL a policy names: the URL's syntax is the egress rule's
// (abi/egress), and the addresses it reaches are checked by the HTTP client
// passed in Options (gatehouse serve passes a host/egress client: the
// global allow-list only, redirects checked, https → http refused).
package jwtverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
)

// MaxTokenLen is the longest token accepted, in bytes.
const MaxTokenLen = 16 << 10

// configCacheSize is the number of parsed configs kept.
const configCacheSize = 256

// Defaults for Options.
const (
	DefaultJWKSRefreshMin = 30 * time.Second
	DefaultJWKSMaxAge     = 10 * time.Minute
)

// Options configures a Verifier. The zero value is usable.
type Options struct {
	// HTTPClient fetches JWKS documents. Nil means a client with a
	// JWKSFetchTimeout timeout. Every fetch is also bounded by
	// JWKSFetchTimeout through its context.
	HTTPClient *http.Client
	// JWKSRefreshMin is the minimum interval between two fetches of one
	// JWKS URL, whatever prompted them (expiry, unknown kid, a failed fetch).
	// Zero or negative means DefaultJWKSRefreshMin.
	JWKSRefreshMin time.Duration
	// JWKSMaxAge is how long fetched keys are used before a refresh is
	// attempted. Zero or negative means DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// Now is the clock for token times and JWKS cache ages. Nil means
	// time.Now.
	Now func() time.Time
}

// Verifier verifies JWTs. It is safe for concurrent use.
type Verifier struct {
	client     *http.Client
	refreshMin time.Duration
	maxAge     time.Duration
	now        func() time.Time
	configs    *lru.Cache[string, configResult]
	jwks       *jwksCache
}

type configResult struct {
	c   *compiled
	err error
}

// New returns a Verifier.
func New(opts Options) *Verifier {
	v := &Verifier{
		client:     opts.HTTPClient,
		refreshMin: opts.JWKSRefreshMin,
		maxAge:     opts.JWKSMaxAge,
		now:        opts.Now,
		jwks:       newJWKSCache(),
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: JWKSFetchTimeout}
	}
	if v.refreshMin <= 0 {
		v.refreshMin = DefaultJWKSRefreshMin
	}
	if v.maxAge <= 0 {
		v.maxAge = DefaultJWKSMaxAge
	}
	if v.now == nil {
		v.now = time.Now
	}
	c, err := lru.New[string, configResult](configCacheSize)
	if err != nil {
		panic(err)
	}
	v.configs = c
	return v
}

// Errors wrapped inside golang-jwt's errors by the key function, to classify
// failures.
var (
	errKeysUnavailable = errors.New("keys unavailable")
	errNoKey           = errors.New("no key matches the token")
	errAlg             = errors.New("algorithm not allowed")
	errHeader          = errors.New("malformed token header")
)

// Verify verifies token against the JSON config configJSON (see Config).
//
// On success it returns the token's claims as JSON (the payload exactly as
// signed), abi.OK and a nil error. On failure claims is nil, status is one of
// abi.ErrJWTFormat, ErrJWTSig, ErrJWTExpiry, ErrJWTIssuer, ErrJWTAud,
// ErrJWTAlg, ErrJWTClaim, ErrJWTConfig or ErrJWTKeys, and err explains it.
// ctx bounds only the wait for a JWKS fetch.
func (v *Verifier) Verify(ctx context.Context, token string, configJSON []byte) (claims []byte, status int32, err error) {
	cfg, err := v.config(configJSON)
	if err != nil {
		return fail(abi.ErrJWTConfig, err)
	}
	if len(token) > MaxTokenLen {
		return fail(abi.ErrJWTFormat, fmt.Errorf("token is %d bytes, the maximum is %d", len(token), MaxTokenLen))
	}

	mc := jwt.MapClaims{}
	keyfuncCalled := false
	_, err = cfg.parser.ParseWithClaims(token, mc, func(t *jwt.Token) (any, error) {
		keyfuncCalled = true
		return v.key(ctx, cfg, t)
	})
	if err != nil {
		return fail(classify(err, keyfuncCalled), err)
	}

	// The signature, exp, nbf and iat are good; now issuer, audience and the
	// required claims.
	iss, err := mc.GetIssuer()
	if err != nil {
		return fail(abi.ErrJWTIssuer, err)
	}
	if !slices.Contains(cfg.issuers, iss) {
		return fail(abi.ErrJWTIssuer, fmt.Errorf("issuer %q is not accepted", iss))
	}
	aud, err := mc.GetAudience()
	if err != nil {
		return fail(abi.ErrJWTAud, err)
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(cfg.audiences, a) }) {
		return fail(abi.ErrJWTAud, fmt.Errorf("audience %q is not accepted", []string(aud)))
	}
	for name, accepted := range cfg.required {
		if !claimMatches(mc[name], accepted) {
			if mc[name] == nil {
				return fail(abi.ErrJWTClaim, fmt.Errorf("required claim %q is missing", name))
			}
			return fail(abi.ErrJWTClaim, fmt.Errorf("claim %q has none of the accepted values", name))
		}
	}

	_, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	claims, err = cfg.parser.DecodeSegment(payload)
	if err != nil { // cannot happen: the parser decoded it already
		return fail(abi.ErrJWTFormat, err)
	}
	return claims, abi.OK, nil
}

func fail(status int32, err error) ([]byte, int32, error) {
	return nil, status, fmt.Errorf("jwtverify: %s: %w", abi.StatusText(status), err)
}

// config returns the compiled config for data, from the cache if possible.
// Invalid configs are cached too, with their error.
func (v *Verifier) config(data []byte) (*compiled, error) {
	if len(data) > MaxConfigLen {
		return nil, configErr("config is %d bytes, the maximum is %d", len(data), MaxConfigLen)
	}
	if r, ok := v.configs.Get(string(data)); ok {
		return r.c, r.err
	}
	c, err := compile(data, v.now)
	v.configs.Add(string(data), configResult{c, err})
	return c, err
}

// key is the golang-jwt key function: it returns the typed key for the
// token's algorithm, never the raw bytes of a public key.
func (v *Verifier) key(ctx context.Context, cfg *compiled, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, fmt.Errorf("%w: unsupported crit header", errHeader)
	}
	alg := t.Method.Alg()
	// Already enforced by jwt.WithValidMethods; checked again here because
	// the key choice depends on it.
	if !slices.Contains(cfg.algs, alg) {
		return nil, fmt.Errorf("%w: %s", errAlg, alg)
	}
	switch {
	case cfg.hmac != nil:
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("%w: %s with an HMAC secret", errAlg, alg)
		}
		return cfg.hmac, nil
	case cfg.pub != nil:
		if !keyFitsAlg(cfg.pub, alg) {
			return nil, fmt.Errorf("%w: %s with the configured key", errAlg, alg)
		}
		return cfg.pub, nil
	}

	var kid string
	raw, hasKid := t.Header["kid"]
	if hasKid {
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("%w: kid is not a string", errHeader)
		}
		kid = s
	}
	keys, err := v.jwksKeys(ctx, cfg.jwksURL, false)
	if err != nil {
		return nil, err
	}
	if k := selectKey(keys, kid, hasKid, alg); k != nil {
		return k, nil
	}
	// Unknown kid (or no unique key): the set may have rotated. Refresh,
	// subject to the per-URL rate limit.
	keys, err = v.jwksKeys(ctx, cfg.jwksURL, true)
	if err != nil {
		return nil, err
	}
	if k := selectKey(keys, kid, hasKid, alg); k != nil {
		return k, nil
	}
	if hasKid {
		return nil, fmt.Errorf("%w: no %s key with kid %q in %s", errNoKey, alg, kid, cfg.jwksURL)
	}
	return nil, fmt.Errorf("%w: token has no kid and %s has no single %s key", errNoKey, cfg.jwksURL, alg)
}

// classify maps a golang-jwt parse error to an ABI status.
func classify(err error, keyfuncCalled bool) int32 {
	switch {
	case errors.Is(err, errKeysUnavailable):
		return abi.ErrJWTKeys
	case errors.Is(err, errHeader), errors.Is(err, jwt.ErrTokenMalformed):
		return abi.ErrJWTFormat
	case errors.Is(err, errAlg):
		return abi.ErrJWTAlg
	case !keyfuncCalled && (errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable)):
		// golang-jwt rejects an alg outside WithValidMethods, an unknown
		// alg and a missing alg before calling the key function.
		return abi.ErrJWTAlg
	case errors.Is(err, errNoKey), errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return abi.ErrJWTSig
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		// Only exp, nbf and iat are validated by golang-jwt here (missing exp,
		// expired, not yet valid, issued in the future, or of the wrong type).
		return abi.ErrJWTExpiry
	}
	return abi.ErrJWTFormat
}

// claimMatches reports whether a claim value satisfies a required_claims
// entry: present and non-null, and if accepted is non-empty, matching one of
// its values.
func claimMatches(v any, accepted []string) bool {
	if v == nil {
		return false
	}
	if len(accepted) == 0 {
		return true
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if scalarMatches(e, accepted) {
				return true
			}
		}
		return false
	}
	return scalarMatches(v, accepted)
}

func scalarMatches(v any, accepted []string) bool {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number: // numbers, as the parser uses WithJSONNumber
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		return false
	}
	return slices.Contains(accepted, s)
}
