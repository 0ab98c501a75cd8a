package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

const (
	testIss    = "https://issuer.example"
	testAud    = "gatehouse-api"
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
)

// Keys generated once per test binary.
var (
	keysOnce          sync.Once
	rsaKey, rsaKey2   *rsa.PrivateKey
	ecKey, ecKey2     *ecdsa.PrivateKey
	ecKey384          *ecdsa.PrivateKey
	attackerRSAKey    *rsa.PrivateKey
	rsaPEM, ecPEM     string
	rsaPKCS1PEM       string
	rsaCertPEM        string
	rsa1024PEM        string
	rsaPrivatePEM     string
	ec384PEM          string
	generatedKeyError error
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil && generatedKeyError == nil {
				generatedKeyError = err
			}
		}
		var err error
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		attackerRSAKey, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		ecKey2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		ecKey384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		rsaPEM = pkixPEM(t, &rsaKey.PublicKey)
		ecPEM = pkixPEM(t, &ecKey.PublicKey)
		ec384PEM = pkixPEM(t, &ecKey384.PublicKey)
		rsaPKCS1PEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}))
		rsaPrivatePEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "issuer.example"},
			NotBefore:    t0.Add(-time.Hour),
			NotAfter:     t0.Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaKey.PublicKey, rsaKey)
		must(err)
		rsaCertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		// A 1024-bit RSA public key, built by hand (key generation below
		// 1024 bits is refused by crypto/rsa, and 1024 is slow enough).
		small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
		small.N.SetBit(small.N, 0, 1)
		rsa1024PEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(small)}))
	})
	if generatedKeyError != nil {
		t.Fatal(generatedKeyError)
	}
}

func pkixPEM(t testing.TB, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// claims returns valid claims at t0, with changes applied (a nil value
// deletes the claim).
func claims(changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": testIss,
		"aud": testAud,
		"sub": "user-1",
		"iat": t0.Add(-time.Minute).Unix(),
		"exp": t0.Add(time.Hour).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs claims with method and key, adding header entries.
func sign(t testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hs256(t testing.TB, c jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c, nil)
}

// cfg returns a config JSON: an HS256 config with testSecret, changed by mod.
func cfg(t testing.TB, mod func(*Config)) []byte {
	t.Helper()
	c := Config{
		Algorithms: []string{"HS256"},
		Issuers:    []string{testIss},
		Audiences:  []string{testAud},
		HMACSecret: testSecret,
	}
	if mod != nil {
		mod(&c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemCfg(t testing.TB, pemText string, algs ...string) []byte {
	return cfg(t, func(c *Config) {
		c.HMACSecret = ""
		c.PublicKeyPEM = pemText
		c.Algorithms = algs
	})
}

func jwksCfg(t testing.TB, url string, algs ...string) []byte {
	return cfg(t, func(c *Config) {
		c.HMACSecret = ""
		c.JWKSURL = url
		c.Algorithms = algs
	})
}

func newVerifier(c *clock) *Verifier {
	return New(Options{Now: c.Now})
}

// expect verifies and checks the status.
func expect(t *testing.T, v *Verifier, token string, config []byte, want int32) []byte {
	t.Helper()
	got, st, err := v.Verify(context.Background(), token, config)
	if st != want {
		t.Fatalf("status %d (%s), want %d (%s); err: %v", st, abi.StatusText(st), want, abi.StatusText(want), err)
	}
	if (st == abi.OK) != (err == nil) {
		t.Fatalf("status %d with err %v", st, err)
	}
	if (st == abi.OK) != (got != nil) {
		t.Fatalf("status %d with claims %q", st, got)
	}
	return got
}

// JWK helpers.

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64u(k.N.Bytes()),
		"e": b64u(big.NewInt(int64(k.E)).Bytes()),
	}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	size := (k.Curve.Params().BitSize + 7) / 8
	raw, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name,
		"x": b64u(raw[1 : 1+size]),
		"y": b64u(raw[1+size:]),
	}
}

func jwksJSON(keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}
