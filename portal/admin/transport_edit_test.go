package admin_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
	"github.com/gatehouse/gatehouse/portal/web/webtest"
)

// testPair makes a self-signed ECDSA certificate (PEM), its PKCS#8 key
// (PEM) and the certificate's SHA-256 fingerprint.
func testPair(t *testing.T, cn string) (certPEM, keyPEM, thumb string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	sum := sha256.Sum256(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), hex.EncodeToString(sum[:])
}

// postMultipart submits a multipart form (fields, and files by field
// name) with the browser's session and CSRF token.
func (b *browser) postMultipart(path string, fields map[string]string, files map[string]string) (int, string, string) {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", b.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, v := range files {
		fw, _ := mw.CreateFormFile(k, k+".pem")
		io.WriteString(fw, v)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// transportEnv has an editor signed in and the API ledger (https backend,
// no transport settings).
func transportEnv(t *testing.T) (*env, *browser) {
	t.Helper()
	e := newEnv(t, admin.Options{})
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	b := e.browser()
	b.signin("ed@example.com", pw)
	if _, err := e.st.CreateAPI(context.Background(), catalog.API{ID: "ledger", Name: "ledger", PathPrefix: "/ledger", BackendURL: "https://127.0.0.1:8443"}); err != nil {
		t.Fatal(err)
	}
	return e, b
}

func (e *env) version(t *testing.T) int64 {
	t.Helper()
	v, err := e.st.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The transport form over HTTP: each field, keep/replace/remove of a PEM
// bundle, and every refusal (the admin API's 400 shown on the page, the
// form's own mistakes) storing nothing; a viewer has no form and is
// refused; no PEM on the page.
func TestAPITransportForm(t *testing.T) {
	e, b := transportEnv(t)
	ctx := context.Background()
	caPEM, _, _ := testPair(t, "ledger CA")
	clientPEM, clientKey, _ := testPair(t, "gw client")
	_, otherKey, _ := testPair(t, "other")
	_, _, thumb := testPair(t, "caller")
	for _, nv := range []catalog.NamedValue{{Name: "gw-key", Value: clientKey, Secret: true}, {Name: "other-key", Value: otherKey, Secret: true}, {Name: "plain", Value: clientKey}} {
		if _, err := e.st.CreateNamedValue(ctx, nv); err != nil {
			t.Fatal(err)
		}
	}
	page := func() string {
		t.Helper()
		code, body := b.get("/ui/apis/ledger")
		if code != http.StatusOK {
			t.Fatalf("page: %d", code)
		}
		if strings.Contains(body, "BEGIN") || strings.Contains(body, "PRIVATE") {
			t.Fatal("the page shows PEM")
		}
		return body
	}
	body := page()
	if !strings.Contains(body, `id="api-transport-form"`) || !strings.Contains(body, `<option value="gw-key">`) || strings.Contains(body, `<option value="plain">`) {
		t.Fatalf("the form, with secret named values only, is missing:\n%s", body)
	}
	save := func(fields, files map[string]string) (int, string) {
		t.Helper()
		b.get("/ui/apis/ledger") // the page's CSRF token
		code, loc, body := b.postMultipart("/ui/apis/ledger/transport", fields, files)
		if code == http.StatusSeeOther && !strings.HasPrefix(loc, "/ui/apis/ledger") {
			t.Fatalf("redirected to %q", loc)
		}
		return code, body
	}
	get := func() catalog.APITransport {
		t.Helper()
		a, err := e.st.GetAPI(ctx, "ledger")
		if err != nil {
			t.Fatal(err)
		}
		return a.APITransport
	}
	full := map[string]string{"backendProtocol": "grpc", "minVersion": "1.3", "serverName": "ledger.internal", "clientKeyNamedValue": "gw-key",
		"thumbprints": thumb + "\n\n" + strings.ToUpper(thumb) + "\n", "wsIdle": "30s", "wsMax": "2h"}
	if code, body := save(full, map[string]string{"backendCa": caPEM, "clientCert": clientPEM, "callerCa": caPEM}); code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", code, body)
	}
	want := catalog.APITransport{BackendProtocol: "grpc",
		BackendTLS:        &catalog.BackendTLS{CAPEM: caPEM, ClientCertPEM: clientPEM, ClientKeyNamedValue: "gw-key", ServerName: "ledger.internal", MinVersion: "1.3"},
		ClientCertificate: &catalog.ClientCertificate{CAPEM: caPEM, Thumbprints: []string{thumb, strings.ToUpper(thumb)}},
		WebSocket:         &catalog.WebSocketLimits{IdleTimeout: "30s", MaxDuration: "2h"}}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored: %+v", got)
	}
	body = page()
	for _, s := range []string{`now: CN=ledger CA`, `now: CN=gw client`, `value="ledger.internal"`, `<option value="grpc" selected>`, `<option value="1.3" selected>`, `value="gw-key"`, `value="30s"`, thumb} {
		if !strings.Contains(body, s) {
			t.Errorf("the form does not show %q", s)
		}
	}

	// The form as shown, saved without files: nothing changes (files
	// kept), and the fields it shows round-trip.
	if code, _ := save(full, nil); code != http.StatusSeeOther {
		t.Fatalf("save without files: %d", code)
	}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("a save without files changed: %+v", got)
	}

	// Refusals: the page shows the message, opens the form, stores nothing.
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	v0 := e.version(t)
	bad := []struct {
		fields, files map[string]string
		want          string
	}{
		{with("backendProtocol", "h3"), nil, "backendProtocol"},
		{with("backendProtocol", "h2c"), nil, "h2c is HTTP/2 without TLS"},
		{with("minVersion", "1.0"), nil, "backendTls.minVersion"},
		{with("serverName", "ledger.internal:443"), nil, "backendTls.serverName"},
		{with("clientKeyNamedValue", ""), nil, "clientCertPem and clientKeyNamedValue come together"},
		{with("clientKeyNamedValue", "plain"), nil, "is not secret"},
		{with("clientKeyNamedValue", "other-key"), nil, "does not match clientCertPem"},
		{with("clientKeyNamedValue", "nobody"), nil, "unknown named value"},
		{with("thumbprints", "abc"), nil, "clientCertificate.thumbprints[0]"},
		{with("wsIdle", "3h"), nil, "websocket.idleTimeout"},
		{with("wsMax", "soon"), nil, "websocket.maxDuration"},
		{full, map[string]string{"backendCa": clientKey}, "backendTls.caPem: holds a private key"},
		{full, map[string]string{"callerCa": "not a certificate"}, "clientCertificate.caPem"},
		{full, map[string]string{"clientCert": strings.Repeat("x", catalog.MaxTransportPEM+1)}, "Client certificate: the file is larger than 256 KiB"},
		{with("backendCaRemove", "1"), map[string]string{"backendCa": caPEM}, "Backend CA bundle: choose a file or tick remove, not both"},
	}
	for _, c := range bad {
		code, body := save(c.fields, c.files)
		if code != http.StatusBadRequest || !strings.Contains(body, `id="form-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%v %v: %d, want 400 with %q:\n%s", c.fields, len(c.files), code, c.want, errorLine(body))
		}
		if !strings.Contains(body, `id="api-transport-edit" open`) {
			t.Errorf("%q: the form is not open after the refusal", c.want)
		}
		if strings.Contains(body, "BEGIN") || strings.Contains(body, "not a certificate") {
			t.Errorf("%q: the refusal quotes the input", c.want)
		}
		if got := get(); !reflect.DeepEqual(got, want) || e.version(t) != v0 {
			t.Fatalf("%q: the refusal changed the API: %+v", c.want, got)
		}
	}

	// Remove boxes and empty fields clear; objects left empty go.
	clear := map[string]string{"backendProtocol": "", "minVersion": "", "serverName": "", "clientKeyNamedValue": "", "clientCertRemove": "1", "thumbprints": "",
		"callerCaRemove": "1", "wsIdle": "", "wsMax": "1h"}
	if code, body := save(clear, nil); code != http.StatusSeeOther {
		t.Fatalf("clear: %d %s", code, errorLine(body))
	}
	want = catalog.APITransport{BackendTLS: &catalog.BackendTLS{CAPEM: caPEM}, WebSocket: &catalog.WebSocketLimits{MaxDuration: "1h"}}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after clearing: %+v", got)
	}
	if code, _ := save(map[string]string{"backendCaRemove": "1"}, nil); code != http.StatusSeeOther {
		t.Fatal("remove the CA")
	}
	if got := get(); !got.IsZero() {
		t.Fatalf("after removing everything: %+v", got)
	}
	// gw-key is no longer in use: the named value can go.
	if err := e.st.DeleteNamedValue(ctx, "gw-key"); err != nil {
		t.Fatal(err)
	}

	// A viewer: no form; a forged post is the admin API's 403. No CSRF
	// token: 403 before anything.
	e.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	vb := e.browser()
	vb.signin("viewer@example.com", pw)
	if _, body := vb.get("/ui/apis/ledger"); strings.Contains(body, "api-transport-form") {
		t.Fatal("a viewer gets the form")
	}
	if code, _, _ := vb.postMultipart("/ui/apis/ledger/transport", map[string]string{"backendProtocol": "h2"}, nil); code != http.StatusForbidden {
		t.Errorf("viewer post: %d", code)
	}
	b.csrf = "wrong"
	if code, _, _ := b.postMultipart("/ui/apis/ledger/transport", map[string]string{"backendProtocol": "h2"}, nil); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", code)
	}
	if got := get(); !got.IsZero() {
		t.Fatalf("refused posts changed the API: %+v", got)
	}
}

func errorLine(body string) string {
	if i := strings.Index(body, `id="form-error"`); i >= 0 {
		return body[i:min(len(body), i+300)]
	}
	return "(no error shown)"
}

// In headless Chromium: an editor opens the form, chooses the protocol,
// uploads a CA bundle file, names the SNI host, sets a WebSocket limit and
// saves; the page then shows the settings; a bad value shows the admin
// API's message with the form open.
func TestAPITransportFormBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	e, _ := transportEnv(t)
	caPEM, _, _ := testPair(t, "ledger CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, _ := webtest.NewBrowser(t)
	ui := e.srv.URL + "/ui"
	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, a...); err != nil {
			s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\npage: %s", what, err, s)
		}
	}
	run("sign in", chromedp.Navigate(ui+"/signin"), chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ed@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav-role")))
	run("edit", chromedp.Navigate(ui+"/apis/ledger"), chromedp.WaitVisible(chromedp.CSS("#api-transport-edit summary")),
		chromedp.Click(chromedp.CSS("#api-transport-edit summary")),
		chromedp.WaitVisible(chromedp.CSS("#tr-protocol")),
		setSelect("#tr-protocol", "grpc"),
		chromedp.SendKeys(chromedp.CSS("#tr-server-name"), "ledger.internal"),
		chromedp.SetUploadFiles(chromedp.CSS("#tr-backend-ca"), []string{caFile}),
		chromedp.SendKeys(chromedp.CSS("#tr-ws-idle"), "45s"),
		dropFlash,
		chromedp.Click(chromedp.CSS("#tr-save")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.WaitVisible(chromedp.CSS("#api-transport")))
	a, err := e.st.GetAPI(context.Background(), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.APITransport{BackendProtocol: "grpc", BackendTLS: &catalog.BackendTLS{CAPEM: caPEM, ServerName: "ledger.internal"},
		WebSocket: &catalog.WebSocketLimits{IdleTimeout: "45s"}}
	if !reflect.DeepEqual(a.APITransport, want) {
		t.Fatalf("stored: %+v", a.APITransport)
	}
	table := webtest.Text(t, ctx, "#api-transport")
	for _, s := range []string{"grpc", "CN=ledger CA", "ledger.internal", "idle 45s"} {
		if !strings.Contains(table, s) {
			t.Errorf("transport table lacks %q:\n%s", s, table)
		}
	}

	// A bad value: the admin API's message, the form open, nothing stored.
	run("bad", chromedp.Evaluate[chromedp.Void](`document.getElementById("tr-ws-idle").value = "2d"`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("api-transport-edit").open = true`),
		chromedp.Click(chromedp.CSS("#tr-save")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")),
		chromedp.WaitVisible(chromedp.CSS("#tr-ws-idle")))
	if msg := webtest.Text(t, ctx, "#form-error"); !strings.Contains(msg, "websocket.idleTimeout") {
		t.Errorf("error shown: %q", msg)
	}
	if b, _ := e.st.GetAPI(context.Background(), "ledger"); !reflect.DeepEqual(b.APITransport, want) {
		t.Fatalf("a refused save changed: %+v", b.APITransport)
	}
}
