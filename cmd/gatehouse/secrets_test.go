package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/catalog/adminapi"
)

// TestSecretsNeverLeak runs the real binary: policies reference secret
// named values as {{name}}, the gateway sends the values to the backend
// and verifies JWTs with them, and no admin API answer (every GET route),
// export, log line, request-log file or catalog file holds a secret
// value in plaintext. An inline secret is masked in every answer and
// survives a read-edit-write round trip.
func TestSecretsNeverLeak(t *testing.T) {
	work := t.TempDir()
	s := startServe(t, work)
	defer s.stop(t)

	const (
		backendSecret = "bs-7Qx9-backend-token-ZZ41"
		jwtSecret     = "jwt-hmac-secret-0123456789-abcdefghij-KLMN"
		inlineSecret  = "inline-basic-cred-Px83wq"
	)
	var gotAuth atomic.Value
	gotAuth.Store("")
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, "ok")
	}))
	defer be.Close()

	raw := func(method, path string, body any) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, s.admin+"/admin/v1"+path, rd)
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	ok := func(want int, method, path string, body any) string {
		t.Helper()
		st, b := raw(method, path, body)
		if st != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
		}
		return b
	}
	ok(201, "POST", "/named-values", map[string]any{"name": "backend-token", "value": backendSecret, "secret": true})
	ok(201, "POST", "/named-values", map[string]any{"name": "jwt-key", "value": jwtSecret, "secret": true})
	for _, id := range []string{"svc", "inl"} {
		ok(201, "POST", "/apis", map[string]any{"id": id, "name": id, "pathPrefix": "/" + id, "backendUrl": be.URL})
		ok(201, "POST", "/apis/"+id+"/operations", map[string]any{"id": id + "-get", "name": "get", "method": "GET", "urlTemplate": "/things"})
	}
	ok(201, "POST", "/users", map[string]any{"id": "u1", "email": "u1@example.com", "name": "U"})
	ok(201, "POST", "/subscriptions", map[string]any{"id": "s1", "userId": "u1", "scope": "api", "scopeId": "svc", "state": "active"})

	setHeader := func(value string) map[string]any {
		return map[string]any{"module": "builtin", "policy": "set-header", "config": map[string]any{"name": "Authorization", "value": value}}
	}
	jwtEntry := map[string]any{"module": "builtin", "policy": "validate-jwt", "config": map[string]any{
		"algorithms": []string{"HS256"}, "issuers": []string{"iss"}, "audiences": []string{"aud"}, "hmac_secret": "{{jwt-key}}"}}

	// An unknown reference is refused at attach, naming it; nothing changes.
	var v1, v2 struct{ Version int64 }
	json.Unmarshal([]byte(ok(200, "GET", "/version", nil)), &v1)
	st, b := raw("PUT", "/policies/api/svc", map[string]any{"inbound": []any{setHeader("Bearer {{no-such-value}}")}})
	if st != 400 || !strings.Contains(b, `no-such-value`) || !strings.Contains(b, "inbound[0].config") {
		t.Fatalf("unknown named value: %d %s", st, b)
	}
	json.Unmarshal([]byte(ok(200, "GET", "/version", nil)), &v2)
	if v1 != v2 {
		t.Fatalf("a refused attach changed the catalog")
	}
	ok(200, "PUT", "/policies/api/svc", map[string]any{"inbound": []any{jwtEntry, setHeader("Bearer {{backend-token}}")}})
	ok(200, "PUT", "/policies/api/inl", map[string]any{"inbound": []any{setHeader("Basic " + inlineSecret)}})
	// A referenced named value is not deleted.
	if st, b := raw("DELETE", "/named-values/backend-token", nil); st != 409 || !strings.Contains(b, "api svc") {
		t.Fatalf("delete of a referenced named value: %d %s", st, b)
	}

	// The gateway resolves the references: the JWT signed with the secret
	// passes, the backend gets the secret header.
	token := func(key string) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "iss", "aud": "aud", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	call := func(path, bearer string) int {
		req, _ := http.NewRequest("GET", s.gateway+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if !eventually(10*time.Second, func() bool {
		return call("/svc/things?access_token="+backendSecret, token(jwtSecret)) == 200 && gotAuth.Load() == "Bearer "+backendSecret
	}) {
		t.Fatalf("the gateway did not send the named value: backend got %q", gotAuth.Load())
	}
	if st := call("/svc/things", token("another-key-0123456789-0123456789-xx")); st != 401 {
		t.Errorf("JWT signed with another key: %d", st)
	}
	if st := call("/svc/things", ""); st != 401 {
		t.Errorf("no JWT: %d", st)
	}
	if !eventually(10*time.Second, func() bool { return call("/inl/things", "") == 200 && gotAuth.Load() == "Basic "+inlineSecret }) {
		t.Fatalf("inline secret not sent: %q", gotAuth.Load())
	}

	// Every GET route of the admin API, with the IDs above.
	vars := map[string]string{"apiId": "svc", "opId": "get", "name": "jwt-key", "version": "1.0.0", "subId": "s1",
		"userId": "u1", "productId": "none", "groupId": "none", "scope": "api", "scopeId": "svc"}
	varRe := regexp.MustCompile(`\{(\w+)(?::[^}]*)?\}`)
	answers := map[string]string{}
	for _, r := range adminapi.Routes() {
		if r.Method != "GET" || strings.HasSuffix(r.Path, "/value") || strings.HasSuffix(r.Path, "/wasm") {
			continue // the reveal route is checked below; wasm is the module
		}
		for _, scope := range []string{"svc", "inl"} {
			vars["apiId"], vars["scopeId"], vars["opId"] = scope, scope, scope+"-get"
			p := varRe.ReplaceAllStringFunc(strings.TrimPrefix(r.Path, adminapi.Prefix), func(m string) string {
				return vars[varRe.FindStringSubmatch(m)[1]]
			})
			_, b := raw("GET", p, nil)
			answers[p] = b
		}
	}
	for _, p := range []string{"/export", "/policies/api/inl", "/policies/api/svc", "/apis/inl/operations/inl-get/effective-policy", "/named-values", "/audit", "/analytics/requests"} {
		if _, seen := answers[p]; !seen {
			t.Errorf("route %s not walked", p)
		}
	}
	for p, b := range answers {
		for _, sec := range []string{backendSecret, jwtSecret, inlineSecret} {
			if strings.Contains(b, sec) {
				t.Errorf("GET %s answers a secret value: %s", p, b)
			}
		}
	}
	for _, p := range []string{"/policies/api/inl", "/apis/inl/operations/inl-get/effective-policy", "/export"} {
		if !strings.Contains(answers[p], `"value":"***"`) && !strings.Contains(answers[p], `value: '***'`) && !strings.Contains(answers[p], `value: "***"`) {
			t.Errorf("GET %s does not mask the inline secret: %s", p, answers[p])
		}
	}
	if !strings.Contains(answers["/policies/api/svc"], "{{backend-token}}") || !strings.Contains(answers["/policies/api/svc"], "{{jwt-key}}") {
		t.Errorf("GET policy does not show the references: %s", answers["/policies/api/svc"])
	}

	// A masked document written back keeps its secret; one edited around
	// the mask is refused, naming the field.
	pol := ok(200, "GET", "/policies/api/inl", nil)
	var doc map[string]any
	json.Unmarshal([]byte(pol), &doc)
	ok(200, "PUT", "/policies/api/inl", doc)
	ok(200, "PUT", "/apis/inl", map[string]any{"id": "inl", "name": "inl2", "pathPrefix": "/inl", "backendUrl": be.URL}) // a write, so the gateway reloads
	gotAuth.Store("")
	if !eventually(10*time.Second, func() bool { return call("/inl/things", "") == 200 && gotAuth.Load() == "Basic "+inlineSecret }) {
		t.Fatalf("after the round trip the backend got %q", gotAuth.Load())
	}
	cfg := doc["inbound"].([]any)[0].(map[string]any)["config"].(map[string]any)
	cfg["exists_action"] = "skip"
	if st, b := raw("PUT", "/policies/api/inl", doc); st != 400 || !strings.Contains(b, "inbound[0].config.value") {
		t.Errorf("an edit around the mask: %d %s", st, b)
	}

	// Reads of secrets and keys are audited with the actor.
	if b := ok(200, "GET", "/named-values/backend-token/value", nil); !strings.Contains(b, backendSecret) {
		t.Errorf("reveal: %s", b)
	}
	ok(200, "GET", "/subscriptions/s1/keys", nil)
	audit := ok(200, "GET", "/audit", nil)
	for _, want := range []string{`"actor":"break-glass","action":"read","entity":"named-value","entityId":"backend-token"`, `"actor":"break-glass","action":"read","entity":"subscription","entityId":"s1"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, backendSecret) {
		t.Errorf("the audit log holds the secret")
	}

	// Logs and files, after a clean shutdown flushed everything.
	s.stop(t)
	logs := s.stderr.String() + s.stdout.String()
	if !strings.Contains(logs, "catalog snapshot loaded") {
		t.Fatalf("no gateway log captured")
	}
	files, _ := filepath.Glob(filepath.Join(work, "data", "*"))
	var sawLog bool
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a directory (the compilation cache)
		}
		secrets := []string{backendSecret, jwtSecret}
		if !strings.HasPrefix(filepath.Base(f), "catalog.db") {
			secrets = append(secrets, inlineSecret) // stored inline in the catalog, by the admin's choice
		}
		if strings.HasPrefix(filepath.Base(f), "logs.db") {
			sawLog = true
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds the secret %q in plaintext", f, sec)
			}
		}
	}
	if !sawLog {
		t.Errorf("no request log file among %v", files)
	}
	for _, sec := range []string{backendSecret, jwtSecret, inlineSecret} {
		if strings.Contains(logs, sec) {
			t.Errorf("the gateway's log holds %q", sec)
		}
	}
}
