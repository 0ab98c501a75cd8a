package jwtverify

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
)

func benchVerify(b *testing.B, token string, config []byte) {
	v := newVerifier(newClock())
	if _, st, err := v.Verify(context.Background(), token, config); st != abi.OK {
		b.Fatal(st, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, st, _ := v.Verify(context.Background(), token, config); st != abi.OK {
			b.Fatal(st)
		}
	}
}

func BenchmarkVerifyHS256(b *testing.B) {
	benchVerify(b, hs256(b, claims(nil)), cfg(b, nil))
}

func BenchmarkVerifyRS256(b *testing.B) {
	keys(b)
	benchVerify(b, sign(b, jwt.SigningMethodRS256, rsaKey, claims(nil), nil), pemCfg(b, rsaPEM, "RS256"))
}

func BenchmarkVerifyES256(b *testing.B) {
	keys(b)
	benchVerify(b, sign(b, jwt.SigningMethodES256, ecKey, claims(nil), nil), pemCfg(b, ecPEM, "ES256"))
}
