package egress

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckURL: no input panics; what a module-set scope accepts is an
// http(s) URL whose normalized host is either a public IP literal in
// canonical form or a name no resolver reads as an address and that is not
// a reserved loopback/metadata name; normalizing is idempotent.
func FuzzCheckURL(f *testing.F) {
	for _, c := range forms {
		f.Add(c.url)
	}
	for _, s := range []string{"http://[::ffff:127.0.0.1]:80/", "http://0x7f.1/", "http://1.2.3.4.5/", "https://a.b/c/../d",
		"http://[::1]:65535/", "http://a:b@c/", "http://xn--bcher-kva.example/", "HTTP://EXAMPLE.COM/"} {
		f.Add(s)
	}
	s, err := NewScope("", AllowList{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := s.CheckURL(raw)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("%q accepted as %#v", raw, u)
		}
		if strings.ContainsAny(u.Host, "@%\\ ") {
			t.Fatalf("%q: host %q", raw, u.Host)
		}
		host, port, err := SplitHost(u.Host)
		if err != nil {
			t.Fatalf("%q: normalized host %q does not split: %v", raw, u.Host, err)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if ip.String() != host || ip.Zone() != "" {
				t.Fatalf("%q: non-canonical literal %q", raw, host)
			}
			if c := Classify(ip); c != Public {
				t.Fatalf("%q: %s address %s accepted", raw, c, ip)
			}
		} else {
			if _, ok := ParseInetAton(strings.TrimSuffix(host, ".")); ok {
				t.Fatalf("%q: name %q reads as an IPv4 address", raw, host)
			}
			if NameClass(host) != Public || host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
				t.Fatalf("%q: name %q accepted", raw, host)
			}
		}
		// Idempotent: the normalized URL parses to itself.
		u2, err := s.CheckURL(u.String())
		if err != nil {
			t.Fatalf("%q normalized to %q, which is refused: %v", raw, u.String(), err)
		}
		if u2.Host != u.Host {
			t.Fatalf("%q: host %q then %q", raw, u.Host, u2.Host)
		}
		// Go's own URL parser agrees on the host and port.
		g, err := url.Parse(u.String())
		if err != nil || strings.Trim(g.Hostname(), "[]") != host || g.Port() != port {
			t.Fatalf("%q: net/url reads %q as %v / %v", raw, u.String(), g, err)
		}
	})
}

// FuzzParseAllowList: no entry panics the parser or the matchers.
func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::ffff:10.0.0.0/104", "*.corp.example", "billing.internal:8443", "169.254.169.254", "[::1]", "*.", "a@b"} {
		f.Add(s, "10.1.2.3", "billing.internal")
	}
	f.Fuzz(func(t *testing.T, entry, addr, host string) {
		a, err := ParseAllowList([]string{entry})
		if err != nil {
			return
		}
		if ip, err := netip.ParseAddr(addr); err == nil {
			a.AllowsAddr(ip)
			s, _ := NewScope("", a)
			_ = s.CheckAddr(host, "80", ip)
		}
		a.AllowsHost(host, "80")
	})
}
