package edge

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestProxiesClientXFF(t *testing.T) {
	p, err := NewProxies([]string{"10.0.0.0/8", "192.0.2.10", "2001:db8:ffff::/48"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: header ignored (spoof)", "203.0.113.5:1000", []string{"1.1.1.1"}, "203.0.113.5"},
		{"untrusted v6 peer", "[2001:db8::5]:1000", []string{"1.1.1.1"}, "2001:db8::5"},
		{"trusted peer, no header: the proxy", "10.1.2.3:1000", nil, "10.1.2.3"},
		{"one hop", "10.1.2.3:1000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"right-most untrusted", "10.1.2.3:1000", []string{"6.6.6.6, 198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"client-prepended spoof is left of the real entry", "10.1.2.3:1000", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"several lines in order", "10.1.2.3:1000", []string{"6.6.6.6", "198.51.100.7, 192.0.2.10"}, "198.51.100.7"},
		{"all trusted: left-most", "10.1.2.3:1000", []string{"10.0.0.1, 192.0.2.10"}, "10.0.0.1"},
		{"malformed right of the client: nearest trusted hop", "10.1.2.3:1000", []string{"198.51.100.7, unknown"}, "10.1.2.3"},
		{"malformed after a trusted hop", "10.1.2.3:1000", []string{"garbage, 10.0.0.7"}, "10.0.0.7"},
		{"empty entry", "10.1.2.3:1000", []string{"198.51.100.7,,10.0.0.7"}, "10.0.0.7"},
		{"empty header", "10.1.2.3:1000", []string{""}, "10.1.2.3"},
		{"with ports", "10.1.2.3:1000", []string{"[2001:db8::7]:443, 10.0.0.2:80"}, "2001:db8::7"},
		{"mapped v4 unmapped", "10.1.2.3:1000", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"zone refused", "10.1.2.3:1000", []string{"fe80::1%eth0"}, "10.1.2.3"},
		{"spaces and tabs", "10.1.2.3:1000", []string{" 198.51.100.7 ,\t10.0.0.1"}, "198.51.100.7"},
		{"trusted v6 peer", "[2001:db8:ffff::1]:9", []string{"2001:db8:1:2::99"}, "2001:db8:1:2::99"},
		{"mapped trusted peer", "[::ffff:10.0.0.1]:9", []string{"198.51.100.7"}, "198.51.100.7"},
		{"unparsable peer", "unix:@", []string{"198.51.100.7"}, ""},
		{"host name entry", "10.1.2.3:1000", []string{"evil.example, 10.0.0.3"}, "10.0.0.3"},
	} {
		h := http.Header{}
		if tc.xff != nil {
			h["X-Forwarded-For"] = tc.xff
		}
		if got := p.Client(tc.peer, h); got != tc.want {
			t.Errorf("%s: Client(%q, %q) = %q; want %q", tc.name, tc.peer, tc.xff, got, tc.want)
		}
	}
}

func TestProxiesAmbiguousSpellings(t *testing.T) {
	p, _ := NewProxies([]string{"10.0.0.0/8"}, "")
	h := http.Header{"X-Forwarded-For": {"198.51.100.7"}, "X_forwarded_for": {"6.6.6.6"}}
	if got := p.Client("10.0.0.1:1", h); got != "10.0.0.1" {
		t.Fatalf("two spellings: %q; want the proxy", got)
	}
	// only the underscore spelling: still read (net/http keeps it apart)
	h = http.Header{"X_forwarded_for": {"198.51.100.7"}}
	if got := p.Client("10.0.0.1:1", h); got != "198.51.100.7" {
		t.Fatalf("underscore spelling: %q", got)
	}
}

func TestProxiesLongChainBounded(t *testing.T) {
	p, _ := NewProxies([]string{"10.0.0.0/8"}, "")
	chain := strings.Repeat("10.0.0.1,", 1000) + "10.0.0.2"
	if got := p.Client("10.0.0.9:1", http.Header{"X-Forwarded-For": {"198.51.100.1," + chain}}); got != "10.0.0.1" {
		t.Fatalf("long chain: %q; want the trusted hop at the cut", got)
	}
}

func TestProxiesClientForwarded(t *testing.T) {
	p, err := NewProxies([]string{"10.0.0.0/8"}, "Forwarded")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fwd  []string
		want string
	}{
		{"simple", []string{"for=198.51.100.7"}, "198.51.100.7"},
		{"quoted v6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"right-most untrusted", []string{"for=6.6.6.6, for=198.51.100.7;proto=https, for=10.0.0.5"}, "198.51.100.7"},
		{"lines", []string{"for=6.6.6.6", "for=198.51.100.7;by=10.0.0.1"}, "198.51.100.7"},
		{"case-insensitive name", []string{"For=198.51.100.7"}, "198.51.100.7"},
		{"unknown stops", []string{"for=198.51.100.7, for=unknown, for=10.0.0.5"}, "10.0.0.5"},
		{"obfuscated stops", []string{"for=_hidden"}, "10.0.0.1"},
		{"no for", []string{"proto=https;by=10.0.0.1"}, "10.0.0.1"},
		{"two fors in one element", []string{"for=1.1.1.1;for=198.51.100.7"}, "10.0.0.1"},
		{"unclosed quote left of a trusted hop", []string{`for="198.51.100.7, for=10.0.0.5`}, "10.0.0.5"},
		{"client's unclosed quote cannot hide the proxy's entry", []string{`for="6.6.6.6, for=198.51.100.7`}, "198.51.100.7"},
		{"quoted comma stops the walk", []string{`for=198.51.100.7;x="a,b", for=10.0.0.5`}, "10.0.0.5"},
		{"empty element", []string{`for=198.51.100.7,,for=10.0.0.5`}, "10.0.0.5"},
		{"bare v6 invalid", []string{"for=2001:db8::1"}, "10.0.0.1"},
		{"unquoted brackets invalid token", []string{"for=[2001:db8::1]"}, "10.0.0.1"},
		{"v4 in brackets invalid", []string{`for="[198.51.100.7]"`}, "10.0.0.1"},
		{"bad port", []string{`for="198.51.100.7:http"`}, "10.0.0.1"},
		{"obfuscated port ok", []string{`for="198.51.100.7:_p1"`}, "198.51.100.7"},
		{"X-Forwarded-For ignored in Forwarded mode", nil, "10.0.0.1"},
	} {
		h := http.Header{"X-Forwarded-For": {"6.6.6.6"}}
		if tc.fwd != nil {
			h["Forwarded"] = tc.fwd
		}
		if got := p.Client("10.0.0.1:1", h); got != tc.want {
			t.Errorf("%s: Client(%q) = %q; want %q", tc.name, tc.fwd, got, tc.want)
		}
	}
}

func TestNewProxiesErrors(t *testing.T) {
	for _, tc := range []struct {
		cidrs  []string
		header string
	}{
		{[]string{"10.0.0.0/33"}, ""},
		{[]string{"not-an-ip"}, ""},
		{[]string{"fe80::1%eth0"}, ""},
		{[]string{"::ffff:10.0.0.0/104"}, ""},
		{nil, "X-Real-IP"},
	} {
		if _, err := NewProxies(tc.cidrs, tc.header); err == nil {
			t.Errorf("NewProxies(%q, %q): no error", tc.cidrs, tc.header)
		}
	}
	var nilp *Proxies
	if got := nilp.Client("[::1]:5", http.Header{"X-Forwarded-For": {"1.2.3.4"}}); got != "::1" {
		t.Errorf("nil Proxies: %q", got)
	}
}

func TestHostnames(t *testing.T) {
	h, err := NewHostnames([]string{"API.Example.com", "gw.example.net.", "2001:db8::1", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, want string
		ok         bool
	}{
		{"api.example.com", "api.example.com", true},
		{"API.EXAMPLE.COM:8443", "api.example.com", true},
		{"api.example.com.", "api.example.com", true},
		{"gw.example.net", "gw.example.net", true},
		{"[2001:db8::1]:80", "2001:db8::1", true},
		{"192.0.2.1", "192.0.2.1", true},
		{"evil.example.com", "", false},
		{"api.example.com:abc", "", false},
		{"api.example.com:", "", false},
		{"2001:db8::1", "", false},
		{"", "", false},
		{"api.example.com/x", "", false},
		{"a..b", "", false},
	} {
		got, ok := h.Match(tc.host)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tc.host, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"http://x", "x:80", "a b", strings.Repeat("a", 64) + ".com", "fe80::1%eth0"} {
		if _, err := NewHostnames([]string{bad}); err == nil {
			t.Errorf("NewHostnames(%q): no error", bad)
		}
	}
	if h, err := NewHostnames(nil); h != nil || err != nil || h.Enabled() {
		t.Errorf("empty list: %v %v", h, err)
	}
}

// FuzzForwardedFor: the parser never panics, never returns more than the
// bound (plus the cut marker), and a walk on its output only ever returns
// the peer, a trusted hop or an address written in the header.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{
		"for=198.51.100.7",
		`for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.5`,
		`for=unknown, for=_hidden;by="_x"`,
		`for="a\"b,c";x=y`,
		`for=`, `;;,,`, `for="`, `=x`, "for=1.2.3.4\x00",
		"198.51.100.7, 10.0.0.1",
	} {
		f.Add(s, s)
	}
	pf, _ := NewProxies([]string{"10.0.0.0/8", "2001:db8::/32"}, "Forwarded")
	px, _ := NewProxies([]string{"10.0.0.0/8", "2001:db8::/32"}, "")
	f.Fuzz(func(t *testing.T, a, b string) {
		nodes, err := ForwardedFor([]string{a, b}, MaxHops)
		if err != nil && nodes != nil {
			t.Fatalf("error with nodes")
		}
		if len(nodes) > MaxHops {
			t.Fatalf("%d nodes over the bound", len(nodes))
		}
		h := http.Header{"Forwarded": {a, b}, "X-Forwarded-For": {a, b}}
		right := ForwardedFromRight([]string{a, b}, MaxHops)
		if len(right) > MaxHops+1 {
			t.Fatalf("%d nodes from the right over the bound", len(right))
		}
		if got := pf.Client("10.0.0.1:1", h); got != "10.0.0.1" {
			found := false
			for _, n := range right {
				if na, ok := parseNode(n); ok && na.String() == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("Forwarded client %q is none of the nodes %q", got, nodes)
			}
		}
		if got := px.Client("10.0.0.1:1", h); got != "10.0.0.1" {
			found := false
			for _, e := range strings.Split(a+","+b, ",") {
				if ea, ok := parseXFFEntry(strings.Trim(e, " \t")); ok && ea.String() == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("X-Forwarded-For client %q is none of the entries of %q %q", got, a, b)
			}
		}
	})
}

func BenchmarkProxiesClient(b *testing.B) {
	p, _ := NewProxies([]string{"192.0.2.0/24", "10.0.0.0/8"}, "")
	h := http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.7, 10.0.0.9"}}
	for _, tc := range []struct {
		name, peer string
	}{{"untrusted-peer", "198.51.100.1:1234"}, {"trusted-3-hops", "192.0.2.1:1234"}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_ = p.Client(tc.peer, h)
			}
		})
	}
	b.Run("ClientIP-before", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = ClientIP("198.51.100.1:1234")
		}
	})
}

// FuzzHostnames: Match never panics, only ever answers a configured name,
// and every configured name matches itself.
func FuzzHostnames(f *testing.F) {
	for _, s := range []string{"api.example.com", "API.EXAMPLE.COM:8443", "[2001:db8::1]:80", "api.example.com.", "a..b", "[::1", "x:99999999", ""} {
		f.Add(s)
	}
	h, _ := NewHostnames([]string{"api.example.com", "2001:db8::1", "192.0.2.1"})
	f.Fuzz(func(t *testing.T, host string) {
		name, ok := h.Match(host)
		if ok && !slices.Contains(h.List(), name) {
			t.Fatalf("Match(%q) = %q, not configured", host, name)
		}
		if h2, err := NewHostnames([]string{host}); err == nil && h2 != nil {
			for _, n := range h2.List() {
				if _, ok := h2.Match(n); !ok && !strings.Contains(n, ":") {
					t.Fatalf("configured %q does not match itself", n)
				}
			}
		}
	})
}
