package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// An API whose transport settings change is compiled again (the build
// reuses an unchanged API's part): protocol, backend TLS (also changed in
// place in the source's config, which a part must not alias), client
// certificate rule and WebSocket limits; an unchanged API is reused.
func TestIncrementalBuildTransportChanges(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	cfg := &Config{APIs: []API{
		{Name: "t", PathPrefix: "/t", Backend: "https://127.0.0.1:1", AllowPrivateBackend: true},
		{Name: "other", PathPrefix: "/o", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true},
	}}
	src := NewStaticSource(cfg, "")
	g, err := New(Options{Engine: e, Source: src, Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func(a *API)
	}{
		{"protocol", func(a *API) { a.BackendProtocol = BackendH2 }},
		{"backend TLS", func(a *API) { a.BackendTLS = &BackendTLS{CAPEM: caPEM, MinVersion: "1.2"} }},
		{"backend TLS in place", func(a *API) { a.BackendTLS.MinVersion = "1.3" }},
		{"server name in place", func(a *API) { a.BackendTLS.ServerName = "b.internal" }},
		{"client certificate", func(a *API) { a.ClientCertificate = &ClientCertificate{CAPEM: caPEM} }},
		{"client certificate in place", func(a *API) { a.ClientCertificate.Thumbprints = []string{strings.Repeat("ab", 32)} }},
		{"websocket idle", func(a *API) { a.WebSocket.IdleTimeout = Duration(time.Second) }},
		{"websocket max", func(a *API) { a.WebSocket.MaxDuration = Duration(time.Minute) }},
	}
	for _, s := range steps {
		before := g.cur.Load()
		oldT, oldO := before.byName["t"], before.byName["other"]
		s.change(&cfg.APIs[0]) // in place: the source's config itself
		src.Set(cfg)
		if err := g.Reload(ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		cur := g.cur.Load()
		if cur.byName["t"] == oldT {
			t.Errorf("%s: the changed API's compiled part was reused", s.name)
		}
		if cur.byName["other"] != oldO {
			t.Errorf("%s: the unchanged API was compiled again", s.name)
		}
		if got := *cur.byName["t"].state.cfg; !reflect.DeepEqual(got, cfg.APIs[0]) {
			t.Errorf("%s: served settings %+v, want %+v", s.name, got, cfg.APIs[0])
		}
	}
}
