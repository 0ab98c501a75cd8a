package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWKS on loopback and counts fetches. Its body, status
// and a gate that holds responses can be changed while it runs.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	body    []byte
	status  int
	gate    chan struct{} // if non-nil, each request waits for it to close
	entered chan struct{} // if non-nil, gets a value when a request arrives
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status, gate, entered := s.body, s.status, s.gate, s.entered
		s.mu.Unlock()
		if entered != nil {
			select {
			case entered <- struct{}{}:
			default:
			}
		}
		if gate != nil {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	if body != nil {
		s.body = body
	}
	s.status = status
	s.mu.Unlock()
}

func TestJWKSValidAndCached(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)))
	clk := newClock()
	v := newVerifier(clk)
	c := jwksCfg(t, srv.URL, "RS256", "PS256", "ES256")
	for i := 0; i < 5; i++ {
		expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.OK)
		expect(t, v, sign(t, jwt.SigningMethodPS256, rsaKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.OK)
		expect(t, v, sign(t, jwt.SigningMethodES256, ecKey, claims(nil), map[string]any{"kid": "e1"}), c, abi.OK)
		clk.Advance(time.Minute)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", n)
	}
	// A kid naming a key of the wrong type. Being unknown for ES256, it
	// prompts a refresh (allowed: the last fetch was 5 minutes ago).
	expect(t, v, sign(t, jwt.SigningMethodES256, ecKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.ErrJWTSig)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (refresh on unknown kid)", n)
	}
	// No kid: exactly one key of the right type is used.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), nil), c, abi.OK)
	expect(t, v, sign(t, jwt.SigningMethodES256, ecKey, claims(nil), nil), c, abi.OK)
	// Right kid, wrong signer.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, claims(nil), map[string]any{"kid": "r1"}), c, abi.ErrJWTSig)
	// A kid that is not a string.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": 1}), c, abi.ErrJWTFormat)
	// After JWKSMaxAge the keys are fetched again.
	clk.Advance(DefaultJWKSMaxAge)
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.OK)
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (refetch after max age)", n)
	}
}

func TestJWKSNoKidAmbiguous(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("a", &rsaKey.PublicKey), rsaJWK("b", &rsaKey2.PublicKey)))
	v := newVerifier(newClock())
	c := jwksCfg(t, srv.URL, "RS256")
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), nil), c, abi.ErrJWTSig)
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, claims(nil), map[string]any{"kid": "b"}), c, abi.OK)
}

func TestJWKSKeyAlgRestriction(t *testing.T) {
	keys(t)
	k := rsaJWK("r1", &rsaKey.PublicKey)
	k["alg"] = "RS512"
	srv := newJWKSServer(t, jwksJSON(k))
	v := newVerifier(newClock())
	c := jwksCfg(t, srv.URL, "RS256", "RS512")
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.ErrJWTSig)
	expect(t, v, sign(t, jwt.SigningMethodRS512, rsaKey, claims(nil), map[string]any{"kid": "r1"}), c, abi.OK)
}

// TestJWKSUnknownKidRefresh: an unknown kid refreshes the set, at most once
// per JWKSRefreshMin.
func TestJWKSUnknownKidRefresh(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("old", &rsaKey.PublicKey)))
	clk := newClock()
	v := newVerifier(clk)
	c := jwksCfg(t, srv.URL, "RS256")
	newTok := sign(t, jwt.SigningMethodRS256, rsaKey2, claims(nil), map[string]any{"kid": "new"})

	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "old"}), c, abi.OK)
	// The issuer rotates; within JWKSRefreshMin of the first fetch the unknown
	// kid is not fetched again.
	srv.set(jwksJSON(rsaJWK("old", &rsaKey.PublicKey), rsaJWK("new", &rsaKey2.PublicKey)), http.StatusOK)
	for i := 0; i < 5; i++ {
		expect(t, v, newTok, c, abi.ErrJWTSig)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1 (rate limited)", n)
	}
	clk.Advance(DefaultJWKSRefreshMin)
	expect(t, v, newTok, c, abi.OK)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// A wrong kid right after: no fetch, rejected.
	for i := 0; i < 5; i++ {
		expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, claims(nil), map[string]any{"kid": "nope"}), c, abi.ErrJWTSig)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (wrong kid rate limited)", n)
	}
	// Once the interval has passed, a wrong kid fetches once more, then not again.
	clk.Advance(DefaultJWKSRefreshMin)
	for i := 0; i < 3; i++ {
		expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, claims(nil), map[string]any{"kid": "nope"}), c, abi.ErrJWTSig)
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestJWKSStaleIfError(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k", &rsaKey.PublicKey)))
	clk := newClock()
	v := newVerifier(clk)
	c := jwksCfg(t, srv.URL, "RS256")
	tok := func() string {
		return sign(t, jwt.SigningMethodRS256, rsaKey, claims(map[string]any{"exp": clk.Now().Add(time.Hour).Unix()}), map[string]any{"kid": "k"})
	}
	expect(t, v, tok(), c, abi.OK)

	srv.set(nil, http.StatusInternalServerError)
	clk.Advance(DefaultJWKSMaxAge + time.Second)
	expect(t, v, tok(), c, abi.OK) // refresh failed: stale keys used
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	for i := 0; i < 5; i++ {
		expect(t, v, tok(), c, abi.OK) // no refetch within JWKSRefreshMin
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (failed refresh rate limited)", n)
	}
	// Bad bodies are failures too, and keep the old keys.
	for _, body := range [][]byte{[]byte("not json"), []byte(`{"keys":[]}`), []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)} {
		clk.Advance(DefaultJWKSRefreshMin)
		srv.set(body, http.StatusOK)
		expect(t, v, tok(), c, abi.OK)
	}
	if n := srv.fetches.Load(); n != 5 {
		t.Fatalf("%d fetches, want 5", n)
	}
	// Recovery.
	clk.Advance(DefaultJWKSRefreshMin)
	srv.set(jwksJSON(rsaJWK("k2", &rsaKey2.PublicKey)), http.StatusOK)
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, claims(map[string]any{"exp": clk.Now().Add(time.Hour).Unix()}), map[string]any{"kid": "k2"}), c, abi.OK)
	if n := srv.fetches.Load(); n != 6 {
		t.Fatalf("%d fetches, want 6", n)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, []byte("oops"))
	srv.set(nil, http.StatusInternalServerError)
	clk := newClock()
	v := newVerifier(clk)
	c := jwksCfg(t, srv.URL, "RS256")
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "k"})
	expect(t, v, tok, c, abi.ErrJWTKeys)
	expect(t, v, tok, c, abi.ErrJWTKeys)
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// A body over 1 MiB.
	clk.Advance(DefaultJWKSRefreshMin)
	big := jwksJSON(rsaJWK("k", &rsaKey.PublicKey))
	big = append(big[:len(big)-1], []byte(`,"pad":"`+strings.Repeat("x", MaxJWKSBytes)+`"}`)...)
	srv.set(big, http.StatusOK)
	expect(t, v, tok, c, abi.ErrJWTKeys)
	// The same keys under 1 MiB.
	clk.Advance(DefaultJWKSRefreshMin)
	srv.set(jwksJSON(rsaJWK("k", &rsaKey.PublicKey)), http.StatusOK)
	expect(t, v, tok, c, abi.OK)

	// Nothing listening.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	expect(t, v, tok, jwksCfg(t, url, "RS256"), abi.ErrJWTKeys)
}

// TestJWKSSingleFlight: concurrent requests with nothing cached share one
// fetch and all succeed.
func TestJWKSSingleFlight(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k", &rsaKey.PublicKey)))
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv.mu.Lock()
	srv.gate, srv.entered = gate, entered
	srv.mu.Unlock()
	v := newVerifier(newClock())
	c := jwksCfg(t, srv.URL, "RS256")
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "k"})
	const n = 20
	var wg sync.WaitGroup
	var started sync.WaitGroup
	statuses := make([]int32, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		started.Add(1)
		go func(i int) {
			defer wg.Done()
			started.Done()
			_, statuses[i], _ = v.Verify(context.Background(), tok, c)
		}(i)
	}
	started.Wait()
	<-entered
	time.Sleep(100 * time.Millisecond) // let every goroutine reach the wait
	close(gate)
	wg.Wait()
	for i, st := range statuses {
		if st != abi.OK {
			t.Fatalf("request %d: status %d", i, st)
		}
	}
	if f := srv.fetches.Load(); f != 1 {
		t.Fatalf("%d fetches, want 1", f)
	}
}

func TestJWKSWaitHonoursContext(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k", &rsaKey.PublicKey)))
	gate := make(chan struct{})
	srv.mu.Lock()
	srv.gate = gate
	srv.mu.Unlock()
	defer close(gate)
	v := newVerifier(newClock())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "k"})
	_, st, err := v.Verify(ctx, tok, jwksCfg(t, srv.URL, "RS256"))
	if st != abi.ErrJWTKeys || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status %d err %v", st, err)
	}
}

// TestJWKSIgnoresHeaderKeys: keys named or embedded in the token header (jku,
// x5u, jwk, x5c) are never used or fetched.
func TestJWKSIgnoresHeaderKeys(t *testing.T) {
	keys(t)
	legit := newJWKSServer(t, jwksJSON(rsaJWK("legit", &rsaKey.PublicKey)))
	attacker := newJWKSServer(t, jwksJSON(rsaJWK("evil", &attackerRSAKey.PublicKey)))
	v := newVerifier(newClock())
	c := jwksCfg(t, legit.URL, "RS256")

	header := map[string]any{"kid": "evil", "jku": attacker.URL, "x5u": attacker.URL + "/cert.pem"}
	expect(t, v, sign(t, jwt.SigningMethodRS256, attackerRSAKey, claims(nil), header), c, abi.ErrJWTSig)
	// Same with the legit kid.
	header["kid"] = "legit"
	expect(t, v, sign(t, jwt.SigningMethodRS256, attackerRSAKey, claims(nil), header), c, abi.ErrJWTSig)
	// An embedded jwk.
	embedded := map[string]any{"kid": "legit", "jwk": rsaJWK("legit", &attackerRSAKey.PublicKey)}
	expect(t, v, sign(t, jwt.SigningMethodRS256, attackerRSAKey, claims(nil), embedded), c, abi.ErrJWTSig)
	expect(t, v, sign(t, jwt.SigningMethodRS256, attackerRSAKey, claims(nil), embedded), pemCfg(t, rsaPEM, "RS256"), abi.ErrJWTSig)
	if n := attacker.fetches.Load(); n != 0 {
		t.Fatalf("attacker's JWKS fetched %d times", n)
	}
	// The header entries do not stop a genuine token.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), header), c, abi.OK)
}

// TestJWKSAlgConfusion: an HS256 token "signed" with public JWKS material.
func TestJWKSAlgConfusion(t *testing.T) {
	keys(t)
	set := jwksJSON(rsaJWK("k", &rsaKey.PublicKey))
	srv := newJWKSServer(t, set)
	v := newVerifier(newClock())
	c := jwksCfg(t, srv.URL, "RS256", "ES256")
	for _, secret := range [][]byte{set, rsaKey.PublicKey.N.Bytes(), []byte(rsaPEM)} {
		expect(t, v, sign(t, jwt.SigningMethodHS256, secret, claims(nil), map[string]any{"kid": "k"}), c, abi.ErrJWTAlg)
	}
}

func TestParseJWKS(t *testing.T) {
	keys(t)
	good := rsaJWK("good", &rsaKey.PublicKey)
	goodEC := ecJWK("ec", &ecKey.PublicKey)
	mod := func(base map[string]any, k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	offCurve := mod(goodEC, "y", b64u(make([]byte, 32)))
	p384 := ecJWK("p384", &ecKey384.PublicKey)
	p521x := mod(goodEC, "crv", "P-521")
	pad := mod(good, "n", good["n"].(string)+"==")
	skipped := []map[string]any{
		mod(good, "use", "enc"),
		mod(good, "key_ops", []string{"encrypt"}),
		mod(good, "kty", "oct"),
		{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		rsaJWK("small", small),
		mod(good, "e", "AA"),
		mod(good, "e", "Ag"), // even
		mod(good, "n", "!!"),
		mod(good, "n", nil),
		offCurve,
		p521x,
		mod(goodEC, "crv", "secp256k1"),
		mod(goodEC, "x", b64u(make([]byte, 31))),
		mod(good, "alg", "ES256"), // an alg that does not fit the key
		mod(good, "kid", 7),       // malformed member
	}
	ks, err := parseJWKS(jwksJSON(append(skipped, good, goodEC, p384, pad, mod(good, "key_ops", []string{"verify"}))...))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 5 {
		t.Fatalf("%d usable keys, want 5", len(ks))
	}
	if k, ok := ks[0].key.(*rsa.PublicKey); !ok || !k.Equal(&rsaKey.PublicKey) || ks[0].kid != "good" {
		t.Fatalf("key 0: %+v", ks[0])
	}
	if k, ok := ks[1].key.(*ecdsa.PublicKey); !ok || !k.Equal(&ecKey.PublicKey) || k.Curve != elliptic.P256() {
		t.Fatalf("key 1: %+v", ks[1])
	}
	if k, ok := ks[2].key.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P384() {
		t.Fatalf("key 2: %+v", ks[2])
	}
	if _, err := parseJWKS(jwksJSON(skipped...)); err == nil {
		t.Fatal("a set of only unusable keys parsed")
	}
	for _, bad := range []string{``, `[]`, `{"keys":{}}`, `{"keys":null}`} {
		if _, err := parseJWKS([]byte(bad)); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func TestJWKSURLCacheBounded(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k", &rsaKey.PublicKey)))
	v := newVerifier(newClock())
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "k"})
	for i := 0; i < maxJWKSURLs+10; i++ {
		expect(t, v, tok, jwksCfg(t, srv.URL+"/"+strings.Repeat("a", i), "RS256"), abi.OK)
	}
	v.jwks.mu.Lock()
	n := v.jwks.sets.Len()
	v.jwks.mu.Unlock()
	if n != maxJWKSURLs {
		t.Fatalf("%d URLs cached, want %d", n, maxJWKSURLs)
	}
}

func TestJWKSDocumentShape(t *testing.T) {
	// The helper's output really is what an issuer publishes.
	keys(t)
	var doc map[string][]map[string]string
	if err := json.Unmarshal(jwksJSON(ecJWK("e", &ecKey.PublicKey)), &doc); err != nil {
		t.Fatal(err)
	}
	k := doc["keys"][0]
	if k["kty"] != "EC" || k["crv"] != "P-256" || len(k["x"]) != 43 || len(k["y"]) != 43 {
		t.Fatalf("%v", k)
	}
}
