package egress_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/egress/egresstest"
)

var lo = netip.MustParseAddr("127.0.0.1")

func guard(t *testing.T, dns *egresstest.DNS, global ...string) (*egress.Guard, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	g, err := egress.New(egress.Options{Allow: global, Resolver: dns.Resolver(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return g, &logs
}

func allow(t *testing.T, entries ...string) rule.AllowList {
	t.Helper()
	a, err := rule.ParseAllowList(entries)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func scope(t *testing.T, g *egress.Guard, backend string, a rule.AllowList) *rule.Scope {
	t.Helper()
	s, err := g.Scope(backend, a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

// A name that resolves to loopback is refused for a module-set destination
// however it is spelled, and reached when the API's own backend is that
// name and port or an allow-list names it.
func TestDialNameResolvingToLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := egresstest.StartDNS(t, map[string][]netip.Addr{
		"rebind.test": {lo},
		"mixed.test":  {netip.MustParseAddr("93.184.216.34"), lo},
		"meta.test":   {netip.MustParseAddr("169.254.169.254")},
		"v6.test":     {netip.MustParseAddr("::1")},
		"ok.test":     {lo},
	})
	g, logs := guard(t, dns, "ok.test")
	client := func(s *rule.Scope) *http.Client { return g.Client(s, "test", 5*time.Second) }

	strict := scope(t, g, "", rule.AllowList{})
	for _, name := range []string{"rebind.test", "REBIND.test.", "mixed.test", "meta.test", "v6.test", "localhost"} {
		_, err := get(client(strict), "http://"+name+":"+port+"/")
		if !errors.Is(err, rule.ErrRefused) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	if !strings.Contains(logs.String(), "rebind.test:"+port+" refused: it resolves to 127.0.0.1, 127.0.0.1 is a loopback address") {
		t.Errorf("refusal not logged with its reason:\n%s", logs)
	}
	if body, err := get(client(strict), "http://ok.test:"+port+"/"); err != nil || body != "reached" {
		t.Errorf("globally allowed name: %q %v", body, err)
	}
	own := scope(t, g, "http://rebind.test:"+port, rule.AllowList{})
	if body, err := get(client(own), "http://rebind.test:"+port+"/x"); err != nil || body != "reached" {
		t.Errorf("the API's own backend: %q %v", body, err)
	}
	if _, err := get(client(own), "http://127.0.0.1:"+port+"/"); !errors.Is(err, rule.ErrRefused) {
		t.Errorf("own backend's address under another name: %v", err)
	}
	perAPI := scope(t, g, "", allow(t, "rebind.test:"+port))
	if body, err := get(client(perAPI), "http://rebind.test:"+port+"/"); err != nil || body != "reached" {
		t.Errorf("per-API allowed name: %q %v", body, err)
	}
	cidr := scope(t, g, "", allow(t, "127.0.0.0/8"))
	if body, err := get(client(cidr), "http://v6.test:"+port+"/"); !errors.Is(err, rule.ErrRefused) {
		t.Errorf("::1 under an IPv4 allow entry: %q %v", body, err)
	}
	if _, err := get(client(cidr), "http://meta.test:"+port+"/"); !errors.Is(err, rule.ErrRefused) {
		t.Errorf("metadata behind a name, 127.0.0.0/8 allowed: %v", err)
	}
}

// The dial resolves once and connects to the address it checked: a DNS
// answer that changes between check and connect cannot be used.
func TestDialResolvesOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := egresstest.StartDNS(t, map[string][]netip.Addr{"once.test": {lo}})
	g, _ := guard(t, dns)
	s := scope(t, g, "", allow(t, "127.0.0.1"))
	dial := g.DialContext(s, "test")
	conn, err := dial(context.Background(), "tcp", "once.test:"+port)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if n := dns.Queries("once.test"); n < 1 || n > 2 { // one A and at most one AAAA question
		t.Errorf("%d DNS questions for one dial", n)
	}
	dns.Set("once.test", netip.MustParseAddr("127.0.0.2"))
	if _, err := dial(context.Background(), "tcp", "once.test:"+port); !errors.Is(err, rule.ErrRefused) {
		t.Errorf("rebound to 127.0.0.2 (not allowed): %v", err)
	}
	if _, err := dial(context.Background(), "udp", "once.test:"+port); err == nil {
		t.Error("udp dialled")
	}
}

// Redirects: each hop is checked, https → http is refused.
func TestClientRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "target") }))
	defer target.Close()
	_, tport, _ := net.SplitHostPort(target.Listener.Addr().String())
	var to string
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }))
	defer redir.Close()
	_, rport, _ := net.SplitHostPort(redir.Listener.Addr().String())
	dns := egresstest.StartDNS(t, map[string][]netip.Addr{"jwks.test": {lo}, "other.test": {lo}})
	g, _ := guard(t, dns)
	s := scope(t, g, "", allow(t, "jwks.test"))
	c := g.Client(s, "jwks", 5*time.Second)
	for _, hop := range []string{
		"http://127.0.0.1:" + tport + "/",
		"http://2130706433:" + tport + "/",
		"http://[::ffff:127.0.0.1]:" + tport + "/",
		"http://other.test:" + tport + "/",
		"http://localhost:" + tport + "/",
	} {
		to = hop
		if body, err := get(c, "http://jwks.test:"+rport+"/keys"); err == nil || !errors.Is(err, rule.ErrRefused) {
			t.Errorf("redirect to %s: %q %v", hop, body, err)
		}
	}
	to = "http://jwks.test:" + tport + "/ok?x=1"
	if body, err := get(c, "http://jwks.test:"+rport+"/keys"); err != nil || body != "target" {
		t.Errorf("redirect to an allowed name: %q %v", body, err)
	}

	// https → http
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }))
	defer tls.Close()
	_, sport, _ := net.SplitHostPort(tls.Listener.Addr().String())
	c.Transport.(*http.Transport).TLSClientConfig = tls.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c.Transport.(*http.Transport).TLSClientConfig.ServerName = "example.com"
	to = "http://jwks.test:" + tport + "/"
	_, err := get(c, "https://jwks.test:"+sport+"/keys")
	if !errors.Is(err, rule.ErrRefused) || !strings.Contains(err.Error(), "https to http") {
		t.Errorf("https → http: %v", err)
	}
}

func TestCheckRedirectNormalizes(t *testing.T) {
	g, _ := guard(t, egresstest.StartDNS(t, nil))
	s := scope(t, g, "", rule.AllowList{})
	prev, _ := url.Parse("http://api.example.com/")
	next, _ := url.Parse("http://API.Example.com./x?y=1")
	if err := egress.CheckRedirect(s, prev, next); err != nil || next.Host != "api.example.com" || next.RawQuery != "y=1" {
		t.Errorf("%v %v", next, err)
	}
	if _, err := egress.New(egress.Options{Allow: []string{"10.0.0.1/8"}}); err == nil || !strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("bad global entry: %v", err)
	}
}
