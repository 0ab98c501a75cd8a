package jwtverify

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
)

// The fuzz target's fixed config and clock. The committed seed corpus in
// testdata/fuzz/FuzzVerify holds tokens made for them (the valid one expires
// in 2100).
const (
	fuzzSecret = "fuzz-secret-0123456789abcdef-0123456789abcdef"
	fuzzConfig = `{"algorithms":["HS256"],"issuers":["https://issuer.example"],"audiences":["gatehouse-api"],"hmac_secret":"` + fuzzSecret + `","required_claims":{"sub":[]}}`
)

var fuzzNow = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

func fuzzToken(t testing.TB, header map[string]any, exp int64) string {
	return sign(t, jwt.SigningMethodHS256, []byte(fuzzSecret), jwt.MapClaims{
		"iss": testIss, "aud": []string{testAud}, "sub": "fuzz", "exp": exp, "iat": fuzzNow.Unix(),
	}, header)
}

func FuzzVerify(f *testing.F) {
	valid := fuzzToken(f, nil, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	f.Add(valid)
	f.Add(fuzzToken(f, map[string]any{"kid": "x", "jku": "http://127.0.0.1:1/jwks"}, fuzzNow.Add(time.Hour).Unix()))
	f.Add(fuzzToken(f, nil, fuzzNow.Add(-time.Hour).Unix()))
	f.Add(valid[:len(valid)-10])
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")

	v := New(Options{Now: func() time.Time { return fuzzNow }})
	cfgBytes := []byte(fuzzConfig)
	if _, st, err := v.Verify(context.Background(), valid, cfgBytes); st != abi.OK {
		f.Fatalf("seed token does not verify: %d %v", st, err)
	}
	statuses := map[int32]bool{
		abi.OK: true, abi.ErrJWTFormat: true, abi.ErrJWTSig: true, abi.ErrJWTExpiry: true,
		abi.ErrJWTIssuer: true, abi.ErrJWTAud: true, abi.ErrJWTAlg: true, abi.ErrJWTClaim: true,
	}
	f.Fuzz(func(t *testing.T, token string) {
		claims, st, err := v.Verify(context.Background(), token, cfgBytes)
		if !statuses[st] {
			// Not even ErrJWTConfig or ErrJWTKeys: the config is fixed and valid
			// and uses no JWKS.
			t.Fatalf("status %d (%s) for %q: %v", st, abi.StatusText(st), token, err)
		}
		if (st == abi.OK) != (err == nil) || (st == abi.OK) != (claims != nil) {
			t.Fatalf("status %d, err %v, claims %q", st, err, claims)
		}
		if st == abi.OK && !json.Valid(claims) {
			t.Fatalf("claims are not JSON: %q", claims)
		}
	})
}
