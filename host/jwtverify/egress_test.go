package jwtverify

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/abi"
	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/egress/egresstest"
)

// JWKS fetches go through the egress rule: a JWKS URL whose name resolves
// to a private or loopback address is never connected to; a literal form
// of an address is refused at config time; an allow-listed address works.
func TestJWKSEgress(t *testing.T) {
	keys(t)
	srv := newJWKSServer(t, jwksJSON(rsaJWK("r1", &rsaKey.PublicKey)))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := egresstest.StartDNS(t, map[string][]netip.Addr{
		"keys.test":   {netip.MustParseAddr("10.0.0.1")},
		"rebind.test": {netip.MustParseAddr("127.0.0.1")},
	})
	var logs bytes.Buffer
	g, err := egress.New(egress.Options{Resolver: dns.Resolver(), Logger: slog.New(slog.NewTextHandler(&logs, nil)), Allow: []string{"127.0.0.1:" + port}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.Scope("", rule.AllowList{})
	if err != nil {
		t.Fatal(err)
	}
	v := New(Options{HTTPClient: g.Client(s, "jwks", 5*time.Second), Now: newClock().Now})
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), map[string]any{"kid": "r1"})

	// A name resolving to a private address (https: refused before TLS).
	expect(t, v, tok, jwksCfg(t, "https://keys.test:"+port+"/jwks", "RS256"), abi.ErrJWTKeys)
	if dns.Queries("keys.test") == 0 {
		t.Error("keys.test was never resolved")
	}
	if !strings.Contains(logs.String(), "keys.test:"+port+" refused: it resolves to 10.0.0.1, 10.0.0.1 is a private address") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
	// A name resolving to loopback, on the JWKS server's own port: the
	// allow entry names the address 127.0.0.1:port, which this name
	// reaches, so it passes; another port does not.
	expect(t, v, tok, jwksCfg(t, "https://rebind.test:1/jwks", "RS256"), abi.ErrJWTKeys)
	before := srv.fetches.Load()
	expect(t, v, tok, jwksCfg(t, srv.URL, "RS256"), abi.OK)
	if srv.fetches.Load() != before+1 {
		t.Error("the allow-listed JWKS was not fetched")
	}
	// Literal forms are refused when the config is compiled.
	for _, u := range []string{"https://2852039166/jwks", "https://0x7f.1/jwks", "https://u@keys.example/jwks", "https://[fe80::1%25eth0]/jwks"} {
		if _, err := v.config(jwksCfg(t, u, "RS256")); err == nil || !strings.Contains(err.Error(), "jwks_url") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
