package validatejwt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/plugins/validatejwt"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(validatejwt.Name, validatejwt.New) }

const (
	secret   = "0123456789abcdef0123456789abcdef-secret"
	issuer   = "https://issuer.example.com/"
	audience = "api://pets"
	unauth   = `{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`
)

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
	rsaPEM  string
)

func key(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		rsaKey, rsaPEM = k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	})
	return rsaKey
}

func claims(over map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, k any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hsConfig(extra string) string {
	return `{"algorithms":["HS256"],"issuers":["` + issuer + `"],"audiences":["` + audience + `"],"hmac_secret":"` + secret + `"` + extra + `}`
}

func rsConfig(t *testing.T, extra string) string {
	key(t)
	pemJSON, _ := json.Marshal(rsaPEM)
	return `{"algorithms":["RS256"],"issuers":["` + issuer + `"],"audiences":["` + audience + `"],"public_key_pem":` + string(pemJSON) + extra + `}`
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func wantOK(t *testing.T, name string, res *sdktest.Result) {
	t.Helper()
	if res.Err != nil || res.Status != 200 || res.Upstream == nil {
		t.Errorf("%s: %d %s %v", name, res.Status, res.Body, res.Err)
	}
}

func wantDenied(t *testing.T, name string, res *sdktest.Result, challenge string) {
	t.Helper()
	if res.Err != nil || res.Status != 401 || res.Upstream != nil || string(res.Body) != unauth ||
		res.Header.Get("WWW-Authenticate") != challenge || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: %d %v %s %v", name, res.Status, res.Header, res.Body, res.Err)
	}
}

const invalid = `Bearer error="invalid_token"`

func TestHS256(t *testing.T) {
	h := newHost()
	att := sdktest.Attach(validatejwt.Name, hsConfig(`,"output_token_variable_name":"jwt"`))
	res := h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodHS256, []byte(secret), claims(nil)))}, att)
	wantOK(t, "valid HS256", res)
	var got map[string]any
	if err := json.Unmarshal([]byte(res.Vars["jwt"]), &got); err != nil || got["sub"] != "alice" {
		t.Errorf("claims variable %q: %v", res.Vars["jwt"], err)
	}
	// lower-case scheme
	wantOK(t, "bearer", h.Do(sdktest.Request{Header: http.Header{"Authorization": {"bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), claims(nil))}}}, att))

	for name, tok := range map[string]string{
		"wrong secret":      sign(t, jwt.SigningMethodHS256, []byte(secret+"x"), claims(nil)),
		"missing exp":       sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"exp": nil})),
		"expired":           sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})),
		"future iat":        sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"iat": time.Now().Add(time.Hour).Unix()})),
		"wrong issuer":      sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"iss": "https://evil/"})),
		"no issuer":         sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"iss": nil})),
		"wrong audience":    sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"aud": "api://other"})),
		"HS512 not allowed": sign(t, jwt.SigningMethodHS512, []byte(secret), claims(nil)),
		"alg none":          sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)),
		"garbage":           "abc.def.ghi",
	} {
		wantDenied(t, name, h.Do(sdktest.Request{Header: bearer(tok)}, att), invalid)
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), claims(nil))
	for name, hdr := range map[string]http.Header{
		"missing":          nil,
		"no scheme":        {"Authorization": {tok}},
		"basic":            {"Authorization": {"Basic " + tok}},
		"empty bearer":     {"Authorization": {"Bearer "}},
		"token with space": {"Authorization": {"Bearer " + tok + " x"}},
		"token with CRLF":  {"Authorization": {"Bearer " + tok + "\r\nX-Injected: 1"}},
	} {
		wantDenied(t, name, h.Do(sdktest.Request{Header: hdr}, att), "Bearer")
	}
}

func TestRS256AndKeyConfusion(t *testing.T) {
	h := newHost()
	att := sdktest.Attach(validatejwt.Name, rsConfig(t, ""))
	wantOK(t, "valid RS256", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodRS256, key(t), claims(nil)))}, att))

	// HS256 signed with the RSA public key's PEM as the secret: the classic
	// key-confusion attack.
	confused := sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), claims(nil))
	wantDenied(t, "HS256 with the public key", h.Do(sdktest.Request{Header: bearer(confused)}, att), invalid)
	wantDenied(t, "alg none", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)))}, att), invalid)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	wantDenied(t, "other RSA key", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodRS256, other, claims(nil)))}, att), invalid)
	wantDenied(t, "wrong audience", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodRS256, key(t), claims(map[string]any{"aud": []string{"x", "y"}})))}, att), invalid)
	wantOK(t, "audience list", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodRS256, key(t), claims(map[string]any{"aud": []string{"x", audience}})))}, att))
}

func TestES256(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pemJSON, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	h := newHost()
	att := sdktest.Attach(validatejwt.Name, `{"algorithms":["ES256"],"issuers":["`+issuer+`"],"audiences":["`+audience+`"],"public_key_pem":`+string(pemJSON)+`}`)
	wantOK(t, "valid ES256", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodES256, k, claims(nil)))}, att))
	wantDenied(t, "RS256 against an EC key", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodRS256, key(t), claims(nil)))}, att), invalid)
}

func TestRequiredClaims(t *testing.T) {
	h := newHost()
	att := sdktest.Attach(validatejwt.Name, hsConfig(`,"required_claims":{"scp":["read","write"],"tid":[]}`))
	wantOK(t, "claims", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"scp": "read", "tid": "t1"})))}, att))
	wantDenied(t, "wrong value", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"scp": "admin", "tid": "t1"})))}, att), invalid)
	wantDenied(t, "missing claim", h.Do(sdktest.Request{Header: bearer(sign(t, jwt.SigningMethodHS256, []byte(secret), claims(map[string]any{"scp": "read"})))}, att), invalid)
}

func TestQueryAndCookie(t *testing.T) {
	h := newHost()
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), claims(nil))
	q := sdktest.Attach(validatejwt.Name, hsConfig(`,"query_parameter_name":"access_token"`))
	wantOK(t, "query", h.Do(sdktest.Request{Query: "a=1&access_token=" + tok + "&b=2"}, q))
	wantOK(t, "escaped query", h.Do(sdktest.Request{Query: "access_token=" + strings.Replace(tok, ".", "%2E", 1)}, q))
	wantDenied(t, "query missing", h.Do(sdktest.Request{Query: "a=1", Header: bearer(tok)}, q), "Bearer")
	wantDenied(t, "query bad", h.Do(sdktest.Request{Query: "access_token=%0d%0aX:y"}, q), "Bearer")

	ck := sdktest.Attach(validatejwt.Name, hsConfig(`,"cookie_name":"jwt"`))
	wantOK(t, "cookie", h.Do(sdktest.Request{Header: http.Header{"Cookie": {"a=b; jwt=" + tok + "; c=d"}}}, ck))
	wantOK(t, "quoted cookie", h.Do(sdktest.Request{Header: http.Header{"Cookie": {`jwt="` + tok + `"`}}}, ck))
	wantOK(t, "second cookie line", h.Do(sdktest.Request{Header: http.Header{"Cookie": {"a=b", "jwt=" + tok}}}, ck))
	wantDenied(t, "cookie missing", h.Do(sdktest.Request{Header: http.Header{"Cookie": {"jwtx=" + tok}}}, ck), "Bearer")

	hd := sdktest.Attach(validatejwt.Name, hsConfig(`,"header_name":"X-Token"`))
	wantOK(t, "custom header raw", h.Do(sdktest.Request{Header: http.Header{"X-Token": {tok}}}, hd))
	wantOK(t, "custom header bearer", h.Do(sdktest.Request{Header: http.Header{"X-Token": {"Bearer " + tok}}}, hd))
}

func TestCustomFailure(t *testing.T) {
	res := newHost().Do(sdktest.Request{}, sdktest.Attach(validatejwt.Name,
		hsConfig(`,"failed_validation_httpcode":403,"failed_validation_error_message":"No \"entry\""`)))
	if res.Status != 403 || string(res.Body) != `{"statusCode":403,"message":"No \"entry\""}` {
		t.Errorf("%d %s", res.Status, res.Body)
	}
}

func TestHostRefusesKeyFails(t *testing.T) {
	// A PEM block New accepts but the host refuses (not a key): the
	// attachment fails instead of answering 401.
	bad := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nonsense")}))
	b, _ := json.Marshal(bad)
	cfg := `{"algorithms":["RS256"],"issuers":["i"],"audiences":["a"],"public_key_pem":` + string(b) + `}`
	res := newHost().Do(sdktest.Request{Header: bearer("a.b.c")}, sdktest.Attach(validatejwt.Name, cfg))
	if res.Err == nil || res.Status != 500 || res.Upstream != nil {
		t.Errorf("%d %v", res.Status, res.Err)
	}
}

func TestBadConfigs(t *testing.T) {
	base := `"issuers":["i"],"audiences":["a"]`
	for _, tc := range []struct{ config, err string }{
		{`{"algorithms":["HS256"],` + base + `}`, "exactly one of hmac_secret, hmac_secret_base64, public_key_pem and jwks_url is required, got 0"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","jwks_url":"https://x/k"}`, "got 2"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"short"}`, "hmac_secret is 5 bytes"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret_base64":"c2hvcnQ="}`, "hmac_secret_base64 is 5 bytes"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret_base64":"!!!"}`, "hmac_secret_base64:"},
		{`{"algorithms":["RS256"],` + base + `,"public_key_pem":"nope"}`, "public_key_pem: no PEM block"},
		{`{"algorithms":["RS256"],` + base + `,"jwks_url":"file:///etc/keys"}`, `jwks_url "file:///etc/keys"`},
		{`{` + base + `,"hmac_secret":"` + secret + `"}`, "algorithms is required"},
		{`{"algorithms":["none"],` + base + `,"hmac_secret":"` + secret + `"}`, `algorithms[0]: "none" is never accepted`},
		{`{"algorithms":["HS1"],` + base + `,"hmac_secret":"` + secret + `"}`, `algorithms[0]: unsupported algorithm "HS1"`},
		{`{"algorithms":["HS256","RS256"],` + base + `,"hmac_secret":"` + secret + `"}`, "algorithms[1]: RS256 does not match the key source hmac_secret"},
		{`{"algorithms":["HS256"],` + base + `,"jwks_url":"https://x/k"}`, "algorithms[0]: HS256 does not match the key source jwks_url"},
		{`{"algorithms":["HS256"],"audiences":["a"],"hmac_secret":"` + secret + `"}`, "issuers is required"},
		{`{"algorithms":["HS256"],"issuers":["i"],"hmac_secret":"` + secret + `"}`, "audiences is required"},
		{`{"algorithms":["HS256"],"issuers":["i"],"audiences":[""],"hmac_secret":"` + secret + `"}`, "audiences[0] is empty"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","leeway_seconds":301}`, "leeway_seconds must be 0 to 300"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","required_claims":{"":[]}}`, "required_claims: empty claim name"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","header_name":"X-T","cookie_name":"c"}`, "only one of header_name"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","header_name":"X T"}`, `header_name "X T"`},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","cookie_name":"a;b"}`, `cookie_name "a;b"`},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","failed_validation_httpcode":200}`, "failed_validation_httpcode must be 400 to 599"},
		{`{"algorithms":["HS256"],` + base + `,"hmac_secret":"` + secret + `","output_token_variable_name":"` + strings.Repeat("v", 129) + `"}`, "output_token_variable_name is 129 bytes"},
		{`{"algorithms":"HS256"}`, `field "algorithms": expected a list`},
		{`{"algorithm":["HS256"]}`, `unknown field "algorithm"`},
	} {
		_, err := validatejwt.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := newHost().Do(sdktest.Request{}, sdktest.Attach(validatejwt.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran: %+v", tc.config, res)
		}
	}
}

// newHost is an emulated host with the gateway's JWT verifier.
func newHost() *sdktest.Host {
	h := sdktest.New()
	h.JWT = jwtverify.New(jwtverify.Options{Now: func() time.Time { return h.Now() }})
	return h
}
