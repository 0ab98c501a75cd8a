package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

const (
	// MaxJWKSBytes caps a JWKS response body.
	MaxJWKSBytes = 1 << 20
	// JWKSFetchTimeout bounds one JWKS fetch.
	JWKSFetchTimeout = 5 * time.Second
	// maxJWKSURLs bounds the number of JWKS URLs whose keys are cached.
	maxJWKSURLs = 64
	// maxJWKSKeys bounds the usable keys taken from one set.
	maxJWKSKeys = 256
)

// jwk is one usable verification key from a JWKS.
type jwk struct {
	kid string
	alg string // "" if the JWK does not restrict it
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// jwksSet is the cached state of one JWKS URL.
type jwksSet struct {
	mu          sync.Mutex
	keys        []jwk     // nil until a fetch has succeeded
	fetched     time.Time // when keys were fetched
	lastAttempt time.Time // when the latest fetch started
	lastErr     error     // of the latest fetch
	inflight    chan struct{}
}

// jwksCache holds the key sets by URL, least recently used dropped first.
type jwksCache struct {
	mu   sync.Mutex
	sets *simplelru.LRU[string, *jwksSet]
}

func newJWKSCache() *jwksCache {
	l, err := simplelru.NewLRU[string, *jwksSet](maxJWKSURLs, nil)
	if err != nil {
		panic(err)
	}
	return &jwksCache{sets: l}
}

func (c *jwksCache) set(url string) *jwksSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sets.Get(url)
	if !ok {
		s = &jwksSet{}
		c.sets.Add(url, s)
	}
	return s
}

// jwksKeys returns the keys of the JWKS at url.
//
// Fresh keys (younger than JWKSMaxAge) are returned as they are unless
// refresh is set (an unknown kid). Otherwise a fetch is started, unless one
// started less than JWKSRefreshMin ago; concurrent callers share one fetch
// (single flight). When a fetch fails, or may not start yet, the keys held
// are returned however old (stale-if-error); only with none held is the
// result an error wrapping errKeysUnavailable.
func (v *Verifier) jwksKeys(ctx context.Context, url string, refresh bool) ([]jwk, error) {
	s := v.jwks.set(url)
	s.mu.Lock()
	now := v.now()
	if s.keys != nil && !refresh && now.Sub(s.fetched) < v.maxAge {
		keys := s.keys
		s.mu.Unlock()
		return keys, nil
	}
	ch := s.inflight
	if ch == nil {
		if !s.lastAttempt.IsZero() && now.Sub(s.lastAttempt) < v.refreshMin {
			keys, err := s.keys, s.lastErr
			s.mu.Unlock()
			return held(keys, err)
		}
		ch = make(chan struct{})
		s.inflight = ch
		s.lastAttempt = now
		go v.fetchInto(url, s, ch)
	}
	s.mu.Unlock()

	select {
	case <-ch:
	case <-ctx.Done():
		s.mu.Lock()
		keys := s.keys
		s.mu.Unlock()
		return held(keys, ctx.Err())
	}
	s.mu.Lock()
	keys, err := s.keys, s.lastErr
	s.mu.Unlock()
	return held(keys, err)
}

func held(keys []jwk, err error) ([]jwk, error) {
	if keys != nil {
		return keys, nil
	}
	if err == nil {
		err = errors.New("no keys fetched yet")
	}
	return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
}

// fetchInto fetches url and records the outcome in s, then closes ch.
func (v *Verifier) fetchInto(url string, s *jwksSet, ch chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), JWKSFetchTimeout)
	defer cancel()
	keys, err := fetchJWKS(ctx, v.client, url)
	s.mu.Lock()
	if err == nil {
		s.keys, s.fetched = keys, v.now()
	}
	s.lastErr = err
	s.inflight = nil
	close(ch)
	s.mu.Unlock()
}

func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]jwk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS %s: HTTP status %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", url, err)
	}
	if len(body) > MaxJWKSBytes {
		return nil, fmt.Errorf("JWKS %s: body above %d bytes", url, MaxJWKSBytes)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", url, err)
	}
	return keys, nil
}

// parseJWKS returns the usable signature-verification keys of a JWKS
// document: RSA keys of MinRSABits or more and EC keys on P-256, P-384 and
// P-521. Keys of other types (symmetric "oct" keys among them), keys whose
// "use" is not "sig" or whose "key_ops" lacks "verify", and malformed keys
// are skipped. A set with no usable key is an error, so that a broken
// response never replaces good keys.
func parseJWKS(body []byte) ([]jwk, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	keys := []jwk{}
	for _, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			continue
		}
		keys = append(keys, k)
		if len(keys) == maxJWKSKeys {
			break
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable keys among %d", len(doc.Keys))
	}
	return keys, nil
}

func parseJWK(raw []byte) (jwk, error) {
	var j struct {
		Kty    string   `json:"kty"`
		Kid    string   `json:"kid"`
		Use    string   `json:"use"`
		KeyOps []string `json:"key_ops"`
		Alg    string   `json:"alg"`
		N      string   `json:"n"`
		E      string   `json:"e"`
		Crv    string   `json:"crv"`
		X      string   `json:"x"`
		Y      string   `json:"y"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return jwk{}, err
	}
	if j.Use != "" && j.Use != "sig" {
		return jwk{}, fmt.Errorf("use %q", j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return jwk{}, errors.New("key_ops without verify")
	}
	out := jwk{kid: j.Kid, alg: j.Alg}
	switch j.Kty {
	case "RSA":
		n, err := b64(j.N)
		if err != nil || len(n) == 0 {
			return jwk{}, errors.New("bad n")
		}
		e, err := b64(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("bad e")
		}
		eb := new(big.Int).SetBytes(e)
		if !eb.IsInt64() || eb.Int64() < 3 || eb.Int64() > 1<<31-1 || eb.Bit(0) == 0 {
			return jwk{}, errors.New("bad e")
		}
		out.key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eb.Int64())}
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return jwk{}, fmt.Errorf("curve %q", j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64(j.X)
		y, err2 := b64(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return jwk{}, errors.New("bad x or y")
		}
		pt := make([]byte, 0, 1+2*size)
		pt = append(append(append(pt, 4), x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, pt) // checks the point is on the curve
		if err != nil {
			return jwk{}, err
		}
		out.key = pub
	default:
		return jwk{}, fmt.Errorf("kty %q", j.Kty)
	}
	if err := checkPublicKey(out.key); err != nil {
		return jwk{}, err
	}
	if out.alg != "" && !keyFitsAlg(out.key, out.alg) {
		return jwk{}, fmt.Errorf("alg %q does not fit the key", out.alg)
	}
	return out, nil
}

// b64 decodes base64url without padding (RFC 7518), tolerating padding.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// selectKey picks the key for a token: with a kid, the first key with that
// kid; without one, the only key that fits alg. The key must fit alg, and
// if the JWK names an alg, it must be alg.
func selectKey(keys []jwk, kid string, hasKid bool, alg string) any {
	var found any
	n := 0
	for _, k := range keys {
		if hasKid && k.kid != kid {
			continue
		}
		if (k.alg != "" && k.alg != alg) || !keyFitsAlg(k.key, alg) {
			continue
		}
		if hasKid {
			return k.key
		}
		found = k.key
		n++
	}
	if n == 1 {
		return found
	}
	return nil
}
