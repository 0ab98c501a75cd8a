package catalogsource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/metrics"
)

// testCA is a throwaway CA made in the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
	pool *x509.CertPool
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: c, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), pool: x509.NewCertPool()}
	ca.pool.AddCert(c)
	return ca
}

// issue signs a leaf for names (IP addresses become IP SANs).
func (ca *testCA) issue(t *testing.T, names ...string) (certPEM, keyPEM string, c tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if c, err = tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, c
}

// recorder keeps the gateway's call records.
type recorder struct {
	mu   sync.Mutex
	recs []gateway.CallRecord
}

func (r *recorder) Observe(c *gateway.CallRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, *c)
	r.mu.Unlock()
}

func (r *recorder) all() []gateway.CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gateway.CallRecord(nil), r.recs...)
}

// transportEnv is a real SQLite catalog written through the real admin
// API over loopback, and a real gateway serving it.
type transportEnv struct {
	*adminEnv
	g   *gateway.Gateway
	rec *recorder
	met *metrics.Metrics
}

func newTransportEnv(t *testing.T) *transportEnv {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	src := catalogsource.New(st)
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{Subscriptions: src}})
	if err != nil {
		t.Fatal(err)
	}
	rec, met := &recorder{}, metrics.New()
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test",
		Observer: rec, Metrics: met, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Close()
		e.Close(ctx)
	})
	return &transportEnv{adminEnv: newAdminEnv(t, st, e, catalog.ModuleLimits{}), g: g, rec: rec, met: met}
}

// write sends an admin API request that must succeed, then reloads the
// gateway from the catalog.
func (te *transportEnv) write(method, path string, body any, want int) string {
	te.t.Helper()
	status, out := te.json(method, path, body)
	if status != want {
		te.t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	if err := te.g.Reload(context.Background()); err != nil {
		te.t.Fatalf("reload after %s %s: %v", method, path, err)
	}
	return out
}

func serveGateway(t *testing.T, g *gateway.Gateway) *httptest.Server {
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// mtlsBackend is an https backend whose certificate (for names) comes
// from serverCA and which requires a client certificate from clientCA.
func mtlsBackend(t *testing.T, serverCA, clientCA *testCA, names ...string) *httptest.Server {
	_, _, cert := serverCA.issue(t, names...)
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	be.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.pool}
	be.Config.ErrorLog = nil
	be.Config.ErrorLog = slogDiscard()
	be.StartTLS()
	t.Cleanup(be.Close)
	return be
}

// An API created through the admin API with backend mTLS reaches a
// backend that requires the client certificate; without the certificate,
// without the CA bundle, or with a wrong SNI name the backend is not
// reached (502); the right SNI name verifies a certificate that does not
// name the backend's address.
func TestCatalogBackendMTLS(t *testing.T) {
	te := newTransportEnv(t)
	srv := serveGateway(t, te.g)
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	be := mtlsBackend(t, serverCA, clientCA, "127.0.0.1")
	certPEM, keyPEM, _ := clientCA.issue(t, "gatehouse-client")

	te.write("POST", "/named-values", map[string]any{"name": "be-key", "value": keyPEM, "secret": true}, http.StatusCreated)
	api := map[string]any{"id": "secure", "name": "secure", "pathPrefix": "/secure", "backendUrl": be.URL, "subscriptionRequired": false,
		"backendTls": map[string]any{"caPem": serverCA.pem, "clientCertPem": certPEM, "clientKeyNamedValue": "be-key", "minVersion": "1.2"}}
	out := te.write("POST", "/apis", api, http.StatusCreated)
	if strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, `"clientKeyNamedValue":"be-key"`) {
		t.Fatalf("create answer: %s", out)
	}
	if st, body := getStatus(t, srv.URL+"/secure/x"); st != 200 || body != "hello gatehouse-client" {
		t.Fatalf("with mTLS: %d %q", st, body)
	}
	// The stored API and its listing name the key, never hold it.
	for _, p := range []string{"/apis/secure", "/apis"} {
		if _, body := te.json("GET", p, nil); strings.Contains(body, "PRIVATE KEY") || !strings.Contains(body, "be-key") {
			t.Fatalf("GET %s: %s", p, body)
		}
	}

	// Without the client certificate the backend refuses the handshake.
	api["backendTls"] = map[string]any{"caPem": serverCA.pem}
	te.write("PUT", "/apis/secure", api, http.StatusOK)
	if st, body := getStatus(t, srv.URL+"/secure/x"); st != http.StatusBadGateway || strings.Contains(body, "certificate") {
		t.Fatalf("without client certificate: %d %q", st, body)
	}
	// Without the CA bundle (system roots) the backend is not trusted.
	api["backendTls"] = map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "be-key"}
	te.write("PUT", "/apis/secure", api, http.StatusOK)
	if st, _ := getStatus(t, srv.URL+"/secure/x"); st != http.StatusBadGateway {
		t.Fatalf("without CA bundle: %d", st)
	}

	// SNI: a backend whose certificate names backend.internal only.
	sniBE := mtlsBackend(t, serverCA, clientCA, "backend.internal")
	tlsWith := func(sni string) map[string]any {
		return map[string]any{"caPem": serverCA.pem, "clientCertPem": certPEM, "clientKeyNamedValue": "be-key", "serverName": sni}
	}
	sniAPI := map[string]any{"id": "sni", "name": "sni", "pathPrefix": "/sni", "backendUrl": sniBE.URL, "subscriptionRequired": false,
		"backendTls": tlsWith("")}
	te.write("POST", "/apis", sniAPI, http.StatusCreated)
	if st, _ := getStatus(t, srv.URL+"/sni/x"); st != http.StatusBadGateway {
		t.Fatalf("certificate not naming 127.0.0.1, no serverName: %d", st)
	}
	sniAPI["backendTls"] = tlsWith("wrong.internal")
	te.write("PUT", "/apis/sni", sniAPI, http.StatusOK)
	if st, _ := getStatus(t, srv.URL+"/sni/x"); st != http.StatusBadGateway {
		t.Fatalf("wrong serverName: %d", st)
	}
	sniAPI["backendTls"] = tlsWith("backend.internal")
	te.write("PUT", "/apis/sni", sniAPI, http.StatusOK)
	if st, body := getStatus(t, srv.URL+"/sni/x"); st != 200 || body != "hello gatehouse-client" {
		t.Fatalf("right serverName: %d %q", st, body)
	}
	// TLS 1.3 minimum against a backend capped at 1.2 fails.
	sniBE.TLS.MaxVersion = tls.VersionTLS12
	sniAPI["backendTls"] = map[string]any{"caPem": serverCA.pem, "clientCertPem": certPEM, "clientKeyNamedValue": "be-key", "serverName": "backend.internal", "minVersion": "1.3"}
	te.write("PUT", "/apis/sni", sniAPI, http.StatusOK)
	if st, _ := getStatus(t, srv.URL+"/sni/x"); st != http.StatusBadGateway {
		t.Fatalf("minVersion 1.3 against a 1.2 backend: %d", st)
	}

	// The key's named value cannot be deleted or made plain while used,
	// nor replaced by a key that does not match.
	before := te.version()
	st, body := te.json("DELETE", "/named-values/be-key", nil)
	te.refused(http.StatusConflict, st, body, before, "be-key", "secure")
	st, body = te.json("PUT", "/named-values/be-key", map[string]any{"name": "be-key", "value": keyPEM, "secret": false})
	te.refused(http.StatusBadRequest, st, body, before, "must stay secret")
	_, otherKey, _ := clientCA.issue(t, "other")
	st, body = te.json("PUT", "/named-values/be-key", map[string]any{"name": "be-key", "value": otherKey, "secret": true})
	te.refused(http.StatusBadRequest, st, body, before, "does not match")
}

// Every bad transport setting gets a 400 naming its field, and nothing is
// stored.
func TestCatalogTransportBadInput(t *testing.T) {
	te := newTransportEnv(t)
	ca := newTestCA(t, "CA")
	certPEM, keyPEM, _ := ca.issue(t, "client")
	_, otherKey, _ := ca.issue(t, "other")
	te.write("POST", "/named-values", map[string]any{"name": "key", "value": keyPEM, "secret": true}, http.StatusCreated)
	te.write("POST", "/named-values", map[string]any{"name": "other-key", "value": otherKey, "secret": true}, http.StatusCreated)
	te.write("POST", "/named-values", map[string]any{"name": "plain", "value": keyPEM}, http.StatusCreated)
	te.write("POST", "/named-values", map[string]any{"name": "not-a-key", "value": "hunter2", "secret": true}, http.StatusCreated)
	te.write("POST", "/apis", map[string]any{"id": "ok", "name": "ok", "pathPrefix": "/ok", "backendUrl": "https://127.0.0.1:1"}, http.StatusCreated)

	badCA := "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
	cases := []struct {
		name    string
		backend string
		fields  map[string]any
		want    []string
	}{
		{"garbage CA", "", map[string]any{"backendTls": map[string]any{"caPem": "hello"}}, []string{"backendTls.caPem", "not PEM"}},
		{"corrupt CA block", "", map[string]any{"backendTls": map[string]any{"caPem": badCA}}, []string{"backendTls.caPem", "does not parse"}},
		{"key in CA field", "", map[string]any{"backendTls": map[string]any{"caPem": keyPEM}}, []string{"backendTls.caPem", "private key"}},
		{"key in cert field", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM + keyPEM, "clientKeyNamedValue": "key"}}, []string{"backendTls.clientCertPem", "private key"}},
		{"cert without key", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM}}, []string{"backendTls", "come together"}},
		{"unknown named value", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "nope"}}, []string{"backendTls.clientKeyNamedValue", "unknown named value", "nope"}},
		{"plain named value", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "plain"}}, []string{"backendTls.clientKeyNamedValue", "not secret"}},
		{"template syntax", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "{{key}}"}}, []string{"backendTls.clientKeyNamedValue", "without {{ }}"}},
		{"key not matching", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "other-key"}}, []string{"backendTls.clientKeyNamedValue", "does not match"}},
		{"not a key", "", map[string]any{"backendTls": map[string]any{"clientCertPem": certPEM, "clientKeyNamedValue": "not-a-key"}}, []string{"backendTls.clientKeyNamedValue", "PEM private key"}},
		{"TLS 1.1", "", map[string]any{"backendTls": map[string]any{"minVersion": "1.1"}}, []string{"backendTls.minVersion"}},
		{"insecureSkipVerify", "", map[string]any{"backendTls": map[string]any{"insecureSkipVerify": true}}, []string{"backendTls.insecureSkipVerify", "always verifies"}},
		{"SNI with port", "", map[string]any{"backendTls": map[string]any{"serverName": "a.test:443"}}, []string{"backendTls.serverName"}},
		{"TLS on http backend", "http://127.0.0.1:1", map[string]any{"backendTls": map[string]any{"minVersion": "1.3"}}, []string{"backendTls", "https backends only"}},
		{"grpc on http backend", "http://127.0.0.1:1", map[string]any{"backendProtocol": "grpc"}, []string{"backendProtocol", "h2c"}},
		{"h2c on https backend", "", map[string]any{"backendProtocol": "h2c"}, []string{"backendProtocol"}},
		{"unknown protocol", "", map[string]any{"backendProtocol": "http3"}, []string{"backendProtocol"}},
		{"websocket idle 0s", "", map[string]any{"websocket": map[string]any{"idleTimeout": "0s"}}, []string{"websocket.idleTimeout", "between"}},
		{"websocket idle 2 days", "", map[string]any{"websocket": map[string]any{"idleTimeout": "48h"}}, []string{"websocket.idleTimeout"}},
		{"websocket idle text", "", map[string]any{"websocket": map[string]any{"idleTimeout": "soon"}}, []string{"websocket.idleTimeout", "duration"}},
		{"websocket max 8 days", "", map[string]any{"websocket": map[string]any{"maxDuration": "192h"}}, []string{"websocket.maxDuration"}},
		{"websocket idle > max", "", map[string]any{"websocket": map[string]any{"idleTimeout": "2h", "maxDuration": "1h"}}, []string{"websocket.idleTimeout", "maxDuration"}},
		{"client cert rule empty", "", map[string]any{"clientCertificate": map[string]any{}}, []string{"clientCertificate", "caPem or thumbprints"}},
		{"client cert bad thumbprint", "", map[string]any{"clientCertificate": map[string]any{"thumbprints": []string{"abc"}}}, []string{"clientCertificate.thumbprints[0]"}},
		{"client cert bad CA", "", map[string]any{"clientCertificate": map[string]any{"caPem": "x"}}, []string{"clientCertificate.caPem"}},
		{"metadata backend", "https://169.254.169.254/x", map[string]any{"backendTls": map[string]any{"caPem": ca.pem, "serverName": "a.internal"}}, []string{"backendUrl"}},
		{"unknown field", "", map[string]any{"backendTls": map[string]any{"clientKeyPem": keyPEM}}, []string{"clientKeyPem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te.t = t
			backend := "https://127.0.0.1:1"
			if c.backend != "" {
				backend = c.backend
			}
			for _, method := range []string{"POST", "PUT"} {
				api := map[string]any{"id": "ok", "name": "ok", "pathPrefix": "/ok", "backendUrl": backend}
				path := "/apis/ok"
				if method == "POST" {
					api["id"], api["name"], api["pathPrefix"], path = "new", "new", "/new", "/apis"
				}
				for k, v := range c.fields {
					api[k] = v
				}
				before := te.version()
				st, body := te.json(method, path, api)
				te.refused(http.StatusBadRequest, st, body, before, c.want...)
				if strings.Contains(body, "BEGIN") || strings.Contains(body, "hunter2") {
					t.Errorf("the answer quotes the input: %s", body)
				}
			}
		})
	}
	te.t = t
	if _, body := te.json("GET", "/apis/ok", nil); strings.Contains(body, "backendTls") {
		t.Fatalf("a refused update changed the API: %s", body)
	}
}

// apply → export → apply keeps the transport fields, the export names the
// key's named value and never holds the key.
func TestCatalogTransportApplyExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	certPEM, keyPEM, _ := clientCA.issue(t, "gw")
	doc := map[string]any{
		"version":     1,
		"namedValues": []any{map[string]any{"name": "gw-key", "value": keyPEM, "secret": true}},
		"apis": []any{map[string]any{"id": "pay", "name": "pay", "pathPrefix": "/pay", "backendUrl": "https://127.0.0.1:9443",
			"backendProtocol":   "grpc",
			"backendTls":        map[string]any{"caPem": serverCA.pem, "clientCertPem": certPEM, "clientKeyNamedValue": "gw-key", "serverName": "pay.internal", "minVersion": "1.3"},
			"clientCertificate": map[string]any{"caPem": clientCA.pem, "thumbprints": []string{strings.Repeat("ab", 32)}},
			"websocket":         map[string]any{"idleTimeout": "30s", "maxDuration": "2h"}}},
	}
	// A document naming a missing, plain or non-matching key writes nothing.
	_, otherKey, _ := clientCA.issue(t, "other")
	for _, bad := range []struct {
		nv   map[string]any
		want string
	}{
		{map[string]any{"name": "other", "value": keyPEM, "secret": true}, "unknown named value"},
		{map[string]any{"name": "gw-key", "value": keyPEM}, "not secret"},
		{map[string]any{"name": "gw-key", "value": otherKey, "secret": true}, "does not match"},
	} {
		bd := map[string]any{"version": 1, "namedValues": []any{bad.nv}, "apis": doc["apis"]}
		b, _ := json.Marshal(bd)
		d, err := declarative.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := st.Version(ctx)
		_, err = declarative.Apply(ctx, st, d, false)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "apis[0].backendTls.clientKeyNamedValue") {
			t.Fatalf("apply expecting %q: %v", bad.want, err)
		}
		if after, _ := st.Version(ctx); after != before {
			t.Fatalf("a refused apply wrote (version %d → %d)", before, after)
		}
	}
	b, _ := json.Marshal(doc)
	d, err := declarative.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := declarative.Apply(ctx, st, d, false); err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAPI(ctx, "pay")
	if err != nil {
		t.Fatal(err)
	}
	if a.BackendProtocol != "grpc" || a.BackendTLS == nil || a.BackendTLS.ClientKeyNamedValue != "gw-key" || a.BackendTLS.ServerName != "pay.internal" ||
		a.ClientCertificate == nil || len(a.ClientCertificate.Thumbprints) != 1 || a.WebSocket == nil || a.WebSocket.IdleTimeout != "30s" {
		t.Fatalf("stored: %+v", a.APITransport)
	}
	exp, err := declarative.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(exp)
	if strings.Contains(string(out), "PRIVATE KEY") {
		t.Fatalf("export holds the key: %s", out)
	}
	if !strings.Contains(string(out), `"clientKeyNamedValue":"gw-key"`) || !strings.Contains(string(out), `"backendProtocol":"grpc"`) {
		t.Fatalf("export lost transport fields: %s", out)
	}
	// Re-applying the export changes nothing.
	d2, err := declarative.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := declarative.Apply(ctx, st, d2, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Kind == "api" {
			t.Errorf("re-applying the export changed the API: %+v", c)
		}
	}
	// A changed field is a planned update that names the field.
	exp.APIs[0].WebSocket.IdleTimeout = "45s"
	cs, err = declarative.Apply(ctx, st, exp, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || !strings.Contains(cs[0].Diff, "transport") {
		t.Fatalf("changes: %+v", cs)
	}
	// The gateway gets the same settings.
	cfg, _, err := catalogsource.New(st).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ga := cfg.APIs[0]
	if ga.BackendProtocol != gateway.BackendH2 || string(ga.BackendTLS.ClientKeyPEM) != keyPEM || ga.BackendTLS.MinVersion != "1.3" ||
		time.Duration(ga.WebSocket.IdleTimeout) != 45*time.Second || time.Duration(ga.WebSocket.MaxDuration) != 2*time.Hour ||
		string(ga.ClientCertificate.CAPEM) != clientCA.pem {
		t.Fatalf("gateway API: %+v", ga)
	}
}

func slogDiscard() *log.Logger { return log.New(io.Discard, "", 0) }

// rawCodec passes gRPC messages as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// echoGRPC: Unary echoes ("fail:" → NOT_FOUND); Server streams the
// message back three times.
var echoGRPC = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		if msg, ok := strings.CutPrefix(string(in), "fail:"); ok {
			return nil, status.Error(codes.NotFound, msg)
		}
		out := append([]byte("echo:"), in...)
		return &out, nil
	}}},
	Streams: []grpc.StreamDesc{{StreamName: "Server", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		var in []byte
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		for i := range 3 {
			out := []byte(string(in) + "#" + string(rune('0'+i)))
			if err := st.SendMsg(&out); err != nil {
				return err
			}
		}
		return nil
	}}},
}

// A gRPC echo backend behind TLS (a private CA) through a catalog API with
// backendProtocol grpc: unary and server streaming work, a backend status
// and a gateway-made one reach the client, and the request log records
// each call's grpc-status.
func TestCatalogGRPCBackend(t *testing.T) {
	te := newTransportEnv(t)
	ca := newTestCA(t, "grpc CA")
	_, _, cert := ca.issue(t, "127.0.0.1")
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})), grpc.ForceServerCodec(rawCodec{}))
	gs.RegisterService(&echoGRPC, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)

	te.write("POST", "/apis", map[string]any{"id": "echo", "name": "echo", "pathPrefix": "/test.Echo", "backendUrl": "https://" + ln.Addr().String() + "/test.Echo",
		"subscriptionRequired": false, "backendProtocol": "grpc", "backendTls": map[string]any{"caPem": ca.pem}}, http.StatusCreated)
	te.write("POST", "/apis", map[string]any{"id": "locked", "name": "locked", "pathPrefix": "/test.Locked", "backendUrl": "https://" + ln.Addr().String(),
		"subscriptionRequired": true, "backendProtocol": "grpc", "backendTls": map[string]any{"caPem": ca.pem}}, http.StatusCreated)

	front := httptest.NewUnstartedServer(edge.GRPCErrors(te.g, nil))
	front.EnableHTTP2 = true
	front.StartTLS()
	t.Cleanup(front.Close)
	pool := x509.NewCertPool()
	pool.AddCert(front.Certificate())
	conn, err := grpc.NewClient(strings.TrimPrefix(front.URL, "https://"), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	in, out := []byte("hi"), []byte(nil)
	if err := conn.Invoke(ctx, "/test.Echo/Unary", &in, &out); err != nil || string(out) != "echo:hi" {
		t.Fatalf("unary: %q %v", out, err)
	}
	in = []byte("fail:gone")
	if err := conn.Invoke(ctx, "/test.Echo/Unary", &in, &out); status.Code(err) != codes.NotFound || status.Convert(err).Message() != "gone" {
		t.Fatalf("backend NOT_FOUND: %v", err)
	}
	st, err := conn.NewStream(ctx, &echoGRPC.Streams[0], "/test.Echo/Server")
	if err != nil {
		t.Fatal(err)
	}
	in = []byte("s")
	if err := st.SendMsg(&in); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	var got []string
	for {
		var m []byte
		if err := st.RecvMsg(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("stream: %v", err)
		}
		got = append(got, string(m))
	}
	if strings.Join(got, ",") != "s#0,s#1,s#2" {
		t.Fatalf("stream: %v", got)
	}
	in = []byte("x")
	if err := conn.Invoke(ctx, "/test.Locked/Unary", &in, &out); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a key: %v", err)
	}

	want := map[string]int{"/test.Echo/Unary#0": 0, "/test.Echo/Unary#1": 5, "/test.Echo/Server#0": 0, "/test.Locked/Unary#0": 16}
	seen := map[string]int{}
	recs := te.rec.all()
	for _, r := range recs {
		k := r.Path + "#" + string(rune('0'+seen[r.Path]))
		seen[r.Path]++
		w, ok := want[k]
		if !ok || !r.GRPC || r.GRPCStatus != w {
			t.Errorf("record %s: grpc=%v status=%d, want %d (%v)", k, r.GRPC, r.GRPCStatus, w, ok)
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Errorf("calls without a record: %v (records %d)", want, len(recs))
	}
	// gatehouse_grpc_calls_total counts them by API and status.
	mrec := httptest.NewRecorder()
	te.met.Handler().ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range []string{`gatehouse_grpc_calls_total{api="echo",grpc_status="0"} 2`, `gatehouse_grpc_calls_total{api="echo",grpc_status="5"} 1`,
		`gatehouse_grpc_calls_total{api="locked",grpc_status="16"} 1`} {
		if !strings.Contains(mrec.Body.String(), line+"\n") {
			t.Errorf("metrics lack %s:\n%s", line, mrec.Body.String())
		}
	}
}

// A WebSocket through a catalog API with websocket.idleTimeout 1s is
// closed by the gateway once idle for that long, and recorded as one call.
func TestCatalogWebSocketIdleLimit(t *testing.T) {
	te := newTransportEnv(t)
	srv := serveGateway(t, te.g)
	be := hosttest.WebSocketEcho(t, nil)
	te.write("POST", "/apis", map[string]any{"id": "ws", "name": "ws", "pathPrefix": "/ws", "backendUrl": be.URL, "subscriptionRequired": false,
		"websocket": map[string]any{"idleTimeout": "1s", "maxDuration": "1h"}}, http.StatusCreated)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ping" {
		t.Fatalf("echo: %q %v", msg, err)
	}
	idleFrom := time.Now()
	_, _, err = c.Read(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("the idle connection was not closed by the gateway: %v", err)
	}
	if d := time.Since(idleFrom); d < time.Second {
		t.Fatalf("closed after %v idle, before the 1s limit", d)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(te.rec.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if recs := te.rec.all(); len(recs) != 1 || recs[0].Status != http.StatusSwitchingProtocols || recs[0].BytesIn == 0 {
		t.Fatalf("records: %+v", recs)
	}
}

// A catalog API's clientCertificate rule is enforced at a TLS listener
// that asks for certificates: none → 401, one from another CA → 403, one
// from the API's CA → the backend; another API is not affected.
func TestCatalogClientCertificateRule(t *testing.T) {
	te := newTransportEnv(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(be.Close)
	partnerCA, otherCA := newTestCA(t, "partner CA"), newTestCA(t, "other CA")
	te.write("POST", "/apis", map[string]any{"id": "partners", "name": "partners", "pathPrefix": "/partners", "backendUrl": be.URL,
		"subscriptionRequired": false, "clientCertificate": map[string]any{"caPem": partnerCA.pem}}, http.StatusCreated)
	te.write("POST", "/apis", map[string]any{"id": "open", "name": "open", "pathPrefix": "/open", "backendUrl": be.URL, "subscriptionRequired": false}, http.StatusCreated)
	if !te.g.NeedsClientCert() {
		t.Fatal("the gateway does not ask for client certificates")
	}
	front := httptest.NewUnstartedServer(te.g)
	front.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	front.StartTLS()
	t.Cleanup(front.Close)
	pool := x509.NewCertPool()
	pool.AddCert(front.Certificate())
	client := func(ca *testCA) *http.Client {
		cfg := &tls.Config{RootCAs: pool}
		if ca != nil {
			_, _, c := ca.issue(t, "caller")
			cfg.Certificates = []tls.Certificate{c}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	for _, c := range []struct {
		ca   *testCA
		path string
		want int
	}{{nil, "/partners/x", 401}, {otherCA, "/partners/x", 403}, {partnerCA, "/partners/x", 200}, {nil, "/open/x", 200}} {
		res, err := client(c.ca).Get(front.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s with a certificate of %v: %d, want %d", c.path, c.ca != nil, res.StatusCode, c.want)
		}
	}
}
