package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims of the benchmark's tokens. exp and iat are fixed (exp in 2100), so
// a token stays valid however long a run or a kept config lives.
const (
	jwtIssuer   = "https://issuer.bench.example/"
	jwtAudience = "api://bench"
	jwtSubject  = "bench-user"
	jwtExp      = 4102444800 // 2100-01-01T00:00:00Z
	jwtIat      = 1767225600 // 2026-01-01T00:00:00Z
)

// jwtMaterial is what the validate-jwt targets need: an RSA key pair with
// its public half in PEM, an HMAC secret, and one valid token for each.
type jwtMaterial struct {
	RSAKey       *rsa.PrivateKey `json:"-"`
	RSAPublicPEM string          `json:"rsa_public_pem"`
	RS256Token   string          `json:"rs256_token"`
	HMACSecret   string          `json:"-"`
	HS256Token   string          `json:"hs256_token"`
}

// benchClaims are the claims of both tokens.
func benchClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": jwtIssuer, "aud": jwtAudience, "sub": jwtSubject,
		"exp": jwtExp, "iat": jwtIat, "scope": "bench.read",
	}
}

// newJWTMaterial generates a 2048-bit RSA key pair, a random 48-character
// HMAC secret and a signed token for each.
func newJWTMaterial() (*jwtMaterial, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	m := &jwtMaterial{
		RSAKey:       key,
		RSAPublicPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		HMACSecret:   "bench-hmac-" + rand.Text()[:26] + "-0123456789", // 47 bytes
	}
	if m.RS256Token, err = jwt.NewWithClaims(jwt.SigningMethodRS256, benchClaims()).SignedString(key); err != nil {
		return nil, err
	}
	if m.HS256Token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, benchClaims()).SignedString([]byte(m.HMACSecret)); err != nil {
		return nil, err
	}
	return m, nil
}

// nativeVerifier returns the check the validate-jwt targets make, done
// natively with golang-jwt (the library the host's jwt_verify uses): the
// signature with the one accepted algorithm, exp required, iss, aud and iat
// checked with a 30 s leeway, claims decoded into a map.
func nativeVerifier(alg string, key any) func(token string) error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(jwtIssuer),
		jwt.WithAudience(jwtAudience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second))
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return func(token string) error {
		t, err := p.Parse(token, keyFunc)
		if err != nil {
			return err
		}
		if !t.Valid {
			return errors.New("token not valid")
		}
		return nil
	}
}

// nativeResult is the CPU cost of one native verification.
type nativeResult struct {
	Alg        string  `json:"alg"`
	Iterations int     `json:"iterations"`
	CPUPerOp   float64 `json:"cpu_us_per_op"`  // process CPU (utime+stime) per verification
	WallPerOp  float64 `json:"wall_us_per_op"` // wall time per verification
}

// measureNative verifies token with verify for about d after a short
// warm-up and returns the CPU and wall time per verification. Run it in a
// process of its own pinned to one core (the nativejwt mode), so that its
// CPU time is comparable with the gateways'.
func measureNative(alg string, verify func(string) error, token string, d time.Duration, hz int64) (nativeResult, error) {
	for range 200 {
		if err := verify(token); err != nil {
			return nativeResult{}, fmt.Errorf("%s: %w", alg, err)
		}
	}
	c0, err := readCPU(os.Getpid())
	if err != nil {
		return nativeResult{}, err
	}
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		for range 100 {
			if err := verify(token); err != nil {
				return nativeResult{}, fmt.Errorf("%s: %w", alg, err)
			}
		}
		n += 100
	}
	wall := time.Since(start)
	c1, err := readCPU(os.Getpid())
	if err != nil {
		return nativeResult{}, err
	}
	cpu := float64(c1.Total()-c0.Total()) / float64(hz) * 1e6
	return nativeResult{Alg: alg, Iterations: n, CPUPerOp: cpu / float64(n),
		WallPerOp: float64(wall.Microseconds()) / float64(n)}, nil
}

// runNativeJWT is the nativejwt mode: it generates keys and tokens like the
// policies mode does, measures the native RS256 and HS256 verifications and
// prints the results as one JSON array on stdout.
func runNativeJWT(args []string) error {
	fs := flag.NewFlagSet("nativejwt", flag.ContinueOnError)
	d := fs.Duration("duration", 2*time.Second, "time spent verifying, per algorithm")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	m, err := newJWTMaterial()
	if err != nil {
		return err
	}
	hz, _ := clockTicks()
	var out []nativeResult
	for _, c := range []struct {
		alg, token string
		key        any
	}{
		{"RS256", m.RS256Token, &m.RSAKey.PublicKey},
		{"HS256", m.HS256Token, []byte(m.HMACSecret)},
	} {
		r, err := measureNative(c.alg, nativeVerifier(c.alg, c.key), c.token, *d, hz)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
