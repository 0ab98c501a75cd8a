package jwtverify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/golang-jwt/jwt/v5"
)

func TestHMACValid(t *testing.T) {
	v := newVerifier(newClock())
	tok := hs256(t, claims(map[string]any{"scope": "read write"}))
	got := expect(t, v, tok, cfg(t, nil), abi.OK)
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("claims are not JSON: %v", err)
	}
	if m["sub"] != "user-1" || m["scope"] != "read write" || m["iss"] != testIss {
		t.Fatalf("claims %s", got)
	}
	// The payload exactly as signed.
	want, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if string(got) != string(want) {
		t.Fatalf("claims %s, want the payload %s", got, want)
	}

	// The base64 form of the secret, and the other HS algorithms.
	b64cfg := cfg(t, func(c *Config) {
		c.HMACSecret = ""
		c.HMACSecretBase64 = base64.StdEncoding.EncodeToString([]byte(testSecret))
		c.Algorithms = []string{"HS256", "HS384", "HS512"}
	})
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
		expect(t, v, sign(t, m, []byte(testSecret), claims(nil), nil), b64cfg, abi.OK)
	}
}

func TestPublicKeyPEMValid(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	c := claims(nil)
	cases := []struct {
		name   string
		pem    string
		algs   []string
		method jwt.SigningMethod
		key    any
	}{
		{"RS256 PKIX", rsaPEM, []string{"RS256"}, jwt.SigningMethodRS256, rsaKey},
		{"RS512 PKCS1", rsaPKCS1PEM, []string{"RS256", "RS512"}, jwt.SigningMethodRS512, rsaKey},
		{"PS256 certificate", rsaCertPEM, []string{"PS256"}, jwt.SigningMethodPS256, rsaKey},
		{"PS384 with RS256 also allowed", rsaPEM, []string{"RS256", "PS384"}, jwt.SigningMethodPS384, rsaKey},
		{"ES256", ecPEM, []string{"ES256"}, jwt.SigningMethodES256, ecKey},
		{"ES384", ec384PEM, []string{"ES384"}, jwt.SigningMethodES384, ecKey384},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, v, sign(t, tc.method, tc.key, c, nil), pemCfg(t, tc.pem, tc.algs...), abi.OK)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	tok := hs256(t, claims(nil))
	mods := map[string]func(*Config){
		"no algorithms":      func(c *Config) { c.Algorithms = nil },
		"none":               func(c *Config) { c.Algorithms = []string{"none"} },
		"None with HS256":    func(c *Config) { c.Algorithms = []string{"HS256", "None"} },
		"unknown algorithm":  func(c *Config) { c.Algorithms = []string{"HS257"} },
		"EdDSA":              func(c *Config) { c.Algorithms = []string{"EdDSA"} },
		"lower-case alg":     func(c *Config) { c.Algorithms = []string{"hs256"} },
		"no issuers":         func(c *Config) { c.Issuers = nil },
		"empty issuer":       func(c *Config) { c.Issuers = []string{""} },
		"no audiences":       func(c *Config) { c.Audiences = []string{} },
		"empty audience":     func(c *Config) { c.Audiences = []string{testAud, ""} },
		"leeway over 300":    func(c *Config) { c.LeewaySeconds = 301 },
		"negative leeway":    func(c *Config) { c.LeewaySeconds = -1 },
		"no key source":      func(c *Config) { c.HMACSecret = "" },
		"secret and PEM":     func(c *Config) { c.PublicKeyPEM = rsaPEM },
		"secret and JWKS":    func(c *Config) { c.JWKSURL = "https://keys.example/jwks" },
		"both secret fields": func(c *Config) { c.HMACSecretBase64 = base64.StdEncoding.EncodeToString([]byte(testSecret)) },
		"short secret":       func(c *Config) { c.HMACSecret = strings.Repeat("s", 31) },
		"short base64 secret": func(c *Config) {
			c.HMACSecret, c.HMACSecretBase64 = "", base64.StdEncoding.EncodeToString(make([]byte, 31))
		},
		"bad base64 secret":      func(c *Config) { c.HMACSecret, c.HMACSecretBase64 = "", "!!!not base64!!!" },
		"empty required claim":   func(c *Config) { c.RequiredClaims = map[string][]string{"": nil} },
		"RS256 with HMAC secret": func(c *Config) { c.Algorithms = []string{"HS256", "RS256"} },
		"bad PEM":                func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", "not a pem", []string{"RS256"} },
		"private key PEM":        func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", rsaPrivatePEM, []string{"RS256"} },
		"1024-bit RSA":           func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", rsa1024PEM, []string{"RS256"} },
		"HS256 with RSA PEM":     func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", rsaPEM, []string{"RS256", "HS256"} },
		"ES256 with RSA PEM":     func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", rsaPEM, []string{"ES256"} },
		"RS256 with EC PEM":      func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", ecPEM, []string{"RS256"} },
		"ES384 with P-256 PEM":   func(c *Config) { c.HMACSecret, c.PublicKeyPEM, c.Algorithms = "", ecPEM, []string{"ES384"} },
		"HS256 with JWKS": func(c *Config) {
			c.HMACSecret, c.JWKSURL, c.Algorithms = "", "https://keys.example/jwks", []string{"RS256", "HS256"}
		},
		"JWKS ftp URL": func(c *Config) {
			c.HMACSecret, c.JWKSURL, c.Algorithms = "", "ftp://keys.example/jwks", []string{"RS256"}
		},
		"JWKS plain http URL": func(c *Config) {
			c.HMACSecret, c.JWKSURL, c.Algorithms = "", "http://keys.example/jwks", []string{"RS256"}
		},
		"JWKS file URL":           func(c *Config) { c.HMACSecret, c.JWKSURL, c.Algorithms = "", "file:///etc/passwd", []string{"RS256"} },
		"JWKS relative URL":       func(c *Config) { c.HMACSecret, c.JWKSURL, c.Algorithms = "", "/jwks.json", []string{"RS256"} },
		"JWKS URL without a host": func(c *Config) { c.HMACSecret, c.JWKSURL, c.Algorithms = "", "https:///jwks.json", []string{"RS256"} },
		"JWKS URL that won't parse": func(c *Config) {
			c.HMACSecret, c.JWKSURL, c.Algorithms = "", "https://[::1", []string{"RS256"}
		},
	}
	for name, mod := range mods {
		t.Run(name, func(t *testing.T) {
			expect(t, v, tok, cfg(t, mod), abi.ErrJWTConfig)
		})
	}
	raw := map[string]string{
		"not JSON":        `{"algorithms":`,
		"JSON array":      `[]`,
		"unknown field":   strings.Replace(string(cfg(t, nil)), `"issuers"`, `"issuer":"x","issuers"`, 1),
		"trailing data":   string(cfg(t, nil)) + ` {}`,
		"wrong type":      strings.Replace(string(cfg(t, nil)), `"leeway_seconds":0`, `"leeway_seconds":"30"`, 1),
		"oversize config": strings.Replace(string(cfg(t, nil)), `"issuers":[`, `"issuers":["`+strings.Repeat("i", MaxConfigLen)+`",`, 1),
	}
	for name, c := range raw {
		t.Run(name, func(t *testing.T) {
			expect(t, v, tok, []byte(c), abi.ErrJWTConfig)
		})
	}
	// Trailing whitespace is fine.
	expect(t, v, tok, append(cfg(t, nil), " \n"...), abi.OK)
}

func TestConfigCache(t *testing.T) {
	v := newVerifier(newClock())
	c := cfg(t, nil)
	tok := hs256(t, claims(nil))
	for i := 0; i < 50; i++ {
		expect(t, v, tok, c, abi.OK)
		expect(t, v, tok, []byte(`{"bad":1}`), abi.ErrJWTConfig)
	}
	if n := v.configs.Len(); n != 2 {
		t.Fatalf("%d configs cached, want 2", n)
	}
	r1, _ := v.configs.Get(string(c))
	expect(t, v, tok, c, abi.OK)
	r2, _ := v.configs.Get(string(c))
	if r1.c == nil || r1.c != r2.c {
		t.Fatal("config parsed again")
	}
	// Bounded.
	for i := 0; i < 2*configCacheSize; i++ {
		expect(t, v, tok, cfg(t, func(c *Config) { c.RequiredClaims = map[string][]string{"sub": {strings.Repeat("x", i)}} }), abi.ErrJWTClaim)
	}
	if n := v.configs.Len(); n != configCacheSize {
		t.Fatalf("%d configs cached, want %d", n, configCacheSize)
	}
}

// TestAlgConfusion is the classic attack: the verifier is configured with an
// RSA public key; the attacker signs with HS256 using the public key's PEM
// bytes (which are public) as the HMAC secret.
func TestAlgConfusion(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	c := claims(nil)
	for _, secret := range [][]byte{[]byte(rsaPEM), []byte(strings.TrimSpace(rsaPEM))} {
		forged := sign(t, jwt.SigningMethodHS256, secret, c, nil)
		expect(t, v, forged, pemCfg(t, rsaPEM, "RS256"), abi.ErrJWTAlg)
		expect(t, v, forged, pemCfg(t, rsaPEM, "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), abi.ErrJWTAlg)
	}
	// A config that asks for HS256 next to an RSA key is itself refused.
	forged := sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), c, nil)
	expect(t, v, forged, pemCfg(t, rsaPEM, "RS256", "HS256"), abi.ErrJWTConfig)
	// The genuine token passes.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, c, nil), pemCfg(t, rsaPEM, "RS256"), abi.OK)
}

// TestAlgConfusionTypedKeys bypasses config validation to show that the key
// handed to golang-jwt is typed: even if HS256 were (wrongly) allowed with an
// RSA key, the RSA key is never used as an HMAC secret.
func TestAlgConfusionTypedKeys(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	good, err := compile(pemCfg(t, rsaPEM, "RS256"), v.now)
	if err != nil {
		t.Fatal(err)
	}
	bad := *good
	bad.algs = []string{"RS256", "HS256"}
	bad.parser = jwt.NewParser(jwt.WithValidMethods(bad.algs), jwt.WithExpirationRequired(), jwt.WithTimeFunc(v.now))
	forged := sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), claims(nil), nil)
	v.configs.Add("bad", configResult{c: &bad})
	_, st, err := v.Verify(context.Background(), forged, []byte("bad"))
	if st == abi.OK {
		t.Fatal("alg confusion accepted")
	}
	if st != abi.ErrJWTAlg {
		t.Fatalf("status %d (%v), want ErrJWTAlg", st, err)
	}
}

func TestAlgNone(t *testing.T) {
	v := newVerifier(newClock())
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil), nil)
	expect(t, v, none, cfg(t, nil), abi.ErrJWTAlg)
	// A none token carrying an HMAC signature anyway.
	parts := strings.Split(hs256(t, claims(nil)), ".")
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	expect(t, v, hdr+"."+parts[1]+"."+parts[2], cfg(t, nil), abi.ErrJWTAlg)
	for _, alg := range []string{"None", "NONE", "nOnE"} {
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `"}`))
		expect(t, v, hdr+"."+parts[1]+".", cfg(t, nil), abi.ErrJWTAlg)
	}
}

func TestAlgNotAllowed(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	c := claims(nil)
	expect(t, v, sign(t, jwt.SigningMethodHS384, []byte(testSecret), c, nil), cfg(t, nil), abi.ErrJWTAlg)
	expect(t, v, sign(t, jwt.SigningMethodPS256, rsaKey, c, nil), pemCfg(t, rsaPEM, "RS256"), abi.ErrJWTAlg)
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey, c, nil), pemCfg(t, rsaPEM, "PS256"), abi.ErrJWTAlg)
	// Unknown and missing alg.
	parts := strings.Split(hs256(t, c), ".")
	for _, h := range []string{`{"alg":"XY256"}`, `{"typ":"JWT"}`, `{"alg":5}`} {
		expect(t, v, base64.RawURLEncoding.EncodeToString([]byte(h))+"."+parts[1]+"."+parts[2], cfg(t, nil), abi.ErrJWTAlg)
	}
}

func TestSignature(t *testing.T) {
	keys(t)
	v := newVerifier(newClock())
	c := claims(nil)
	// Wrong secret.
	expect(t, v, sign(t, jwt.SigningMethodHS256, []byte(testSecret+"x"), c, nil), cfg(t, nil), abi.ErrJWTSig)
	// Tampered payload.
	parts := strings.Split(hs256(t, c), ".")
	evil := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + testIss + `","aud":"` + testAud + `","exp":1999999999,"sub":"admin"}`))
	expect(t, v, parts[0]+"."+evil+"."+parts[2], cfg(t, nil), abi.ErrJWTSig)
	// Empty signature.
	expect(t, v, parts[0]+"."+parts[1]+".", cfg(t, nil), abi.ErrJWTSig)
	// Signed by another RSA / EC key.
	expect(t, v, sign(t, jwt.SigningMethodRS256, rsaKey2, c, nil), pemCfg(t, rsaPEM, "RS256"), abi.ErrJWTSig)
	expect(t, v, sign(t, jwt.SigningMethodES256, ecKey2, c, nil), pemCfg(t, ecPEM, "ES256"), abi.ErrJWTSig)
}

func TestFormat(t *testing.T) {
	v := newVerifier(newClock())
	good := hs256(t, claims(nil))
	parts := strings.Split(good, ".")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := map[string]string{
		"empty":               "",
		"garbage":             "not a token",
		"two parts":           parts[0] + "." + parts[1],
		"four parts":          good + ".x",
		"header not base64":   "!!!." + parts[1] + "." + parts[2],
		"header not JSON":     enc("alg HS256") + "." + parts[1] + "." + parts[2],
		"payload not base64":  parts[0] + ".%%%." + parts[2],
		"payload not JSON":    parts[0] + "." + enc("{") + "." + parts[2],
		"payload array":       parts[0] + "." + enc("[1,2]") + "." + parts[2],
		"signature padded":    good + "==",
		"signature not b64":   parts[0] + "." + parts[1] + ".***",
		"padded payload":      parts[0] + "." + parts[1] + "=." + parts[2],
		"over 16 KiB":         sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(map[string]any{"pad": strings.Repeat("p", MaxTokenLen)}), nil),
		"unsupported crit":    sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(map[string]any{"exp": t0.Add(time.Hour).Unix()}), map[string]any{"crit": []string{"b64"}, "b64": false}),
		"whitespace in token": " " + good,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			expect(t, v, tok, cfg(t, nil), abi.ErrJWTFormat)
		})
	}
	// Just under the cap is parsed (and verified).
	pad := MaxTokenLen - len(hs256(t, claims(map[string]any{"pad": ""})))
	pad = pad * 3 / 4
	tok := hs256(t, claims(map[string]any{"pad": strings.Repeat("p", pad)}))
	if len(tok) > MaxTokenLen {
		t.Fatalf("test token is %d bytes", len(tok))
	}
	expect(t, v, tok, cfg(t, nil), abi.OK)
}

func TestExpiry(t *testing.T) {
	v := newVerifier(newClock())
	now := t0.Unix()
	ok := func(c map[string]any, config []byte) { t.Helper(); expect(t, v, hs256(t, claims(c)), config, abi.OK) }
	bad := func(c map[string]any, config []byte) {
		t.Helper()
		expect(t, v, hs256(t, claims(c)), config, abi.ErrJWTExpiry)
	}
	def := cfg(t, nil) // leeway 30 s
	lee5 := cfg(t, func(c *Config) { c.LeewaySeconds = 5 })
	lee300 := cfg(t, func(c *Config) { c.LeewaySeconds = 300 })

	bad(map[string]any{"exp": nil}, def)               // exp missing
	bad(map[string]any{"exp": "tomorrow"}, def)        // exp of the wrong type
	bad(map[string]any{"exp": now - 31}, def)          // expired, outside the default leeway
	ok(map[string]any{"exp": now - 29}, def)           // expired, within the default leeway
	bad(map[string]any{"exp": now - 6}, lee5)          // outside a 5 s leeway
	ok(map[string]any{"exp": now - 4}, lee5)           // within it
	ok(map[string]any{"exp": now - 299}, lee300)       // within the maximum leeway
	bad(map[string]any{"exp": now - 3600}, lee300)     // far outside
	bad(map[string]any{"nbf": now + 31}, def)          // not yet valid
	ok(map[string]any{"nbf": now + 29}, def)           // nearly valid, within leeway
	ok(map[string]any{"nbf": now}, def)                // valid from now
	bad(map[string]any{"iat": now + 3600}, def)        // issued in the future
	ok(map[string]any{"iat": now + 10}, def)           // clock skew
	ok(map[string]any{"exp": float64(now) + 0.5}, def) // fractional seconds
}

func TestIssuer(t *testing.T) {
	v := newVerifier(newClock())
	two := cfg(t, func(c *Config) { c.Issuers = []string{"https://other.example", testIss} })
	expect(t, v, hs256(t, claims(nil)), two, abi.OK)
	expect(t, v, hs256(t, claims(map[string]any{"iss": "https://evil.example"})), two, abi.ErrJWTIssuer)
	expect(t, v, hs256(t, claims(map[string]any{"iss": nil})), two, abi.ErrJWTIssuer)
	expect(t, v, hs256(t, claims(map[string]any{"iss": []string{testIss}})), two, abi.ErrJWTIssuer)
	expect(t, v, hs256(t, claims(map[string]any{"iss": testIss + "/"})), two, abi.ErrJWTIssuer)
}

func TestAudience(t *testing.T) {
	v := newVerifier(newClock())
	c := cfg(t, func(c *Config) { c.Audiences = []string{"other-api", testAud} })
	expect(t, v, hs256(t, claims(map[string]any{"aud": testAud})), c, abi.OK)                         // string
	expect(t, v, hs256(t, claims(map[string]any{"aud": []string{"x", testAud, "y"}})), c, abi.OK)     // array
	expect(t, v, hs256(t, claims(map[string]any{"aud": []string{"x", "y"}})), c, abi.ErrJWTAud)       // array, no match
	expect(t, v, hs256(t, claims(map[string]any{"aud": "someone-else"})), c, abi.ErrJWTAud)           // string, no match
	expect(t, v, hs256(t, claims(map[string]any{"aud": nil})), c, abi.ErrJWTAud)                      // missing
	expect(t, v, hs256(t, claims(map[string]any{"aud": []string{}})), c, abi.ErrJWTAud)               // empty array
	expect(t, v, hs256(t, claims(map[string]any{"aud": []any{testAud, 5}})), c, abi.ErrJWTAud)        // bad element
	expect(t, v, hs256(t, claims(map[string]any{"aud": 5})), c, abi.ErrJWTAud)                        // wrong type
	expect(t, v, hs256(t, claims(map[string]any{"aud": strings.ToUpper(testAud)})), c, abi.ErrJWTAud) // case matters
}

func TestRequiredClaims(t *testing.T) {
	v := newVerifier(newClock())
	c := cfg(t, func(c *Config) {
		c.RequiredClaims = map[string][]string{
			"tenant": {"acme", "globex"}, // one of
			"roles":  {"admin"},          // array containing
			"sub":    {},                 // present
			"level":  {"3"},              // number
			"mfa":    {"true"},           // bool
		}
	})
	base := map[string]any{"tenant": "acme", "roles": []string{"user", "admin"}, "level": 3, "mfa": true}
	with := func(k string, val any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = val
		return m
	}
	expect(t, v, hs256(t, claims(base)), c, abi.OK)
	expect(t, v, hs256(t, claims(with("tenant", "globex"))), c, abi.OK)
	expect(t, v, hs256(t, claims(with("roles", "admin"))), c, abi.OK)
	for name, m := range map[string]map[string]any{
		"tenant wrong":    with("tenant", "initech"),
		"tenant missing":  with("tenant", nil),
		"roles without":   with("roles", []string{"user"}),
		"roles object":    with("roles", map[string]any{"admin": true}),
		"sub missing":     with("sub", nil),
		"level other":     with("level", 4),
		"level as string": with("level", "three"),
		"mfa false":       with("mfa", false),
	} {
		t.Run(name, func(t *testing.T) {
			expect(t, v, hs256(t, claims(m)), c, abi.ErrJWTClaim)
		})
	}
	// A JSON null is missing.
	parts := strings.Split(hs256(t, claims(base)), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var pm map[string]any
	json.Unmarshal(payload, &pm)
	pm["sub"] = nil
	nullTok := hs256(t, jwt.MapClaims(pm))
	if !strings.Contains(string(expect(t, v, nullTok, cfg(t, nil), abi.OK)), `"sub":null`) {
		t.Fatal("test token lacks sub:null")
	}
	expect(t, v, nullTok, c, abi.ErrJWTClaim)
}

// TestStatusOrder: a token with several problems reports the first in
// order format, alg, signature, expiry, issuer, audience, claims.
func TestStatusOrder(t *testing.T) {
	v := newVerifier(newClock())
	c := cfg(t, func(c *Config) { c.RequiredClaims = map[string][]string{"x": nil} })
	all := map[string]any{"exp": t0.Add(-time.Hour).Unix(), "iss": "bad", "aud": "bad"}
	expect(t, v, sign(t, jwt.SigningMethodHS256, []byte("wrong-secret-wrong-secret-wrong-secret"), claims(all), nil), c, abi.ErrJWTSig)
	expect(t, v, hs256(t, claims(all)), c, abi.ErrJWTExpiry)
	delete(all, "exp")
	all["exp"] = t0.Add(time.Hour).Unix()
	expect(t, v, hs256(t, claims(all)), c, abi.ErrJWTIssuer)
	all["iss"] = testIss
	expect(t, v, hs256(t, claims(all)), c, abi.ErrJWTAud)
	all["aud"] = testAud
	expect(t, v, hs256(t, claims(all)), c, abi.ErrJWTClaim)
	all["x"] = 1
	expect(t, v, hs256(t, claims(all)), c, abi.OK)
}
