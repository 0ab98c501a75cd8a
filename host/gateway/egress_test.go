package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/egress/egresstest"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counting is a loopback server that counts hits and answers its name.
func counting(t *testing.T, name string, h http.HandlerFunc) (*httptest.Server, *atomic.Int64, string) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return srv, &n, port
}

// Every road a policy or a backend can make the gateway take out is
// checked by the one egress rule, through the real gateway, real wazero
// (the probe guest sets the backend override) and loopback servers; a DNS
// server on 127.0.0.1 resolves test names.
func TestEgressThroughGateway(t *testing.T) {
	ctx := context.Background()
	_, adminHits, adminPort := counting(t, "admin", nil) // stands in for the admin listener
	_, otherHits, otherPort := counting(t, "other", nil)
	var be *httptest.Server
	be, _, bePort := counting(t, "own", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-self":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			io.WriteString(w, "final")
		case "/to-admin":
			http.Redirect(w, r, "http://127.0.0.1:"+adminPort+"/", http.StatusFound)
		case "/to-decimal":
			http.Redirect(w, r, "http://2130706433:"+adminPort+"/", http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, "http://rebind.test:"+adminPort+"/", http.StatusFound)
		case "/to-mapped":
			http.Redirect(w, r, "http://[::ffff:127.0.0.1]:"+adminPort+"/", http.StatusFound)
		default:
			io.WriteString(w, "own")
		}
	})
	lo := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	dns := egresstest.StartDNS(t, map[string][]netip.Addr{
		"rebind.test":  lo,
		"allowed.test": lo,
		"global.test":  lo,
		"private.test": {netip.MustParseAddr("10.0.0.1")},
	})
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	guard, err := egress.New(egress.Options{Allow: []string{"global.test"}, Resolver: dns.Resolver(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	overrides := []struct {
		url    string
		status int
		body   string // expected body on 200
	}{
		{"http://127.0.0.1:" + adminPort + "/", 500, ""},
		{"http://2130706433:" + adminPort + "/", 500, ""},
		{"http://0x7f000001:" + adminPort + "/", 500, ""},
		{"http://0177.0.0.1:" + adminPort + "/", 500, ""},
		{"http://127.1:" + adminPort + "/", 500, ""},
		{"http://[::1]:" + adminPort + "/", 500, ""},
		{"http://[::ffff:127.0.0.1]:" + adminPort + "/", 500, ""},
		{"http://[::ffff:7f00:1]:" + adminPort + "/", 500, ""},
		{"http://localhost:" + adminPort + "/", 500, ""},
		{"http://LocalHost.:" + adminPort + "/", 500, ""},
		{"http://good.example@127.0.0.1:" + adminPort + "/", 500, ""},
		{"http://%31%32%37.0.0.1:" + adminPort + "/", 500, ""},
		{"http://169.254.169.254/latest/meta-data", 500, ""},
		{"http://2852039166/", 500, ""},
		{"http://[fd00:ec2::254]/", 500, ""},
		{"http://rebind.test:" + adminPort + "/", 502, ""},  // name → loopback: refused at dial time
		{"http://private.test:" + otherPort + "/", 502, ""}, // name → 10.0.0.1
		{"http://allowed.test:" + otherPort + "/", 502, ""}, // allowed for API b only
		{"http://global.test:" + otherPort + "/", 200, "other"},
		{"http://127.0.0.1:" + bePort + "/", 200, "own"}, // the API's own backend
	}
	var opsA []gateway.Operation
	for i, o := range overrides {
		opsA = append(opsA, gateway.Operation{ID: "o" + strconv.Itoa(i), Method: "GET", Template: "/o/" + strconv.Itoa(i),
			Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:16=" + o.url)}}})
	}
	apiB := api("b", "/b", gateway.Policy{},
		gateway.Operation{ID: "lit", Method: "GET", Template: "/lit", Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:16=http://127.0.0.1:" + otherPort)}}},
		gateway.Operation{ID: "name", Method: "GET", Template: "/name", Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:16=http://allowed.test:" + otherPort)}}},
		gateway.Operation{ID: "admin", Method: "GET", Template: "/admin", Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:16=http://127.0.0.1:" + adminPort)}}},
	)
	apiB.EgressAllow = []string{"127.0.0.1:" + otherPort, "allowed.test"}
	cfg := &gateway.Config{APIs: []gateway.API{
		api("a", "/a", gateway.Policy{}, opsA...),
		apiB,
		api("r", "/r", gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:19=true")}}),
	}}
	for i := range cfg.APIs {
		cfg.APIs[i].Backend = be.URL
	}
	cfg.Modules = append(cfg.Modules, gateway.ModuleSpec{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 4})

	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Logger: log, Egress: guard})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close(); e.Close(ctx) })
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	noDetail := func(what, body string) {
		t.Helper()
		for _, leak := range []string{"refused", "127.0.0.1", "loopback", "egress", "10.0.0.1", "rebind"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the caller sees %q in %q", what, leak, body)
			}
		}
	}

	for i, o := range overrides {
		before := adminHits.Load()
		code, body, _ := get("/a/o/" + strconv.Itoa(i))
		if code != o.status || (o.status == 200 && body != o.body) {
			t.Errorf("override %s: %d %q, want %d %q", o.url, code, body, o.status, o.body)
		}
		if o.status != 200 {
			noDetail(o.url, body)
		}
		if adminHits.Load() != before {
			t.Errorf("override %s reached the admin listener", o.url)
		}
	}
	for _, want := range []string{
		`msg="policy backend URL refused"`,
		"2130706433",
		"non-canonical form of the IPv4 address 127.0.0.1",
		"egress to rebind.test:" + adminPort + ` refused: it resolves to 127.0.0.1, 127.0.0.1 is a loopback address`,
		"egress to private.test:" + otherPort + " refused: it resolves to 10.0.0.1, 10.0.0.1 is a private address",
		`msg="backend egress refused"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}

	// Per-API allow-list: exactly what it names.
	for path, want := range map[string]int{"/b/lit": 200, "/b/name": 200, "/b/admin": 500} {
		if code, body, _ := get(path); code != want {
			t.Errorf("%s: %d %q, want %d", path, code, body, want)
		}
	}

	// Redirects followed by the gateway: every hop checked.
	if code, body, _ := get("/r/to-self"); code != 200 || body != "final" {
		t.Errorf("redirect within the own backend: %d %q", code, body)
	}
	before := adminHits.Load()
	for _, p := range []string{"/r/to-admin", "/r/to-decimal", "/r/to-mapped"} {
		// refused before any dial: the redirect is passed to the caller
		if code, _, h := get(p); code != http.StatusFound || h.Get("Location") == "" {
			t.Errorf("%s: %d, want the 302 passed on", p, code)
		}
	}
	if code, body, _ := get("/r/to-name"); code != http.StatusBadGateway {
		t.Errorf("redirect to a name resolving to loopback: %d %q", code, body)
	} else {
		noDetail("/r/to-name", body)
	}
	if adminHits.Load() != before {
		t.Errorf("a redirect reached the admin listener (%d hits)", adminHits.Load()-before)
	}
	if !strings.Contains(logs.String(), `msg="backend redirect refused"`) {
		t.Error("redirect refusal not logged")
	}
	if otherHits.Load() == 0 {
		t.Error("the allowed destinations were never reached")
	}
	// Transports are kept across reloads; the own backend keeps working.
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if code, body, _ := get("/a/o/" + strconv.Itoa(len(overrides)-1)); code != 200 || body != "own" {
		t.Errorf("after reload: %d %q", code, body)
	}
}
