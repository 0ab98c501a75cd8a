package ipfilter_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/ipfilter"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(ipfilter.Name, ipfilter.New) }

const list = `"addresses":["203.0.113.7","2001:db8::1"],
	"address_ranges":[{"from":"10.0.0.1","to":"10.0.0.99"},{"from":"2001:db8:2::10","to":"2001:db8:2::20"}],
	"cidrs":["192.168.0.0/16","2001:db8:1::/48","198.51.100.128/25"]`

func TestFilter(t *testing.T) {
	listed := []string{"203.0.113.7", "2001:db8::1", "10.0.0.1", "10.0.0.50", "10.0.0.99", "2001:db8:2::10",
		"2001:db8:2::1a", "192.168.255.255", "192.168.0.0", "2001:db8:1:ffff::1", "198.51.100.255", "::ffff:203.0.113.7",
		"2001:db8::1%eth0"}
	unlisted := []string{"203.0.113.8", "2001:db8::2", "10.0.0.0", "10.0.0.100", "2001:db8:2::21", "192.169.0.0",
		"2001:db8:2::", "198.51.100.127", "::203.0.113.7", "127.0.0.1", "::1"}
	for _, action := range []string{"allow", "forbid"} {
		h := sdktest.New()
		att := sdktest.Attach(ipfilter.Name, `{"action":"`+action+`",`+list+`}`)
		for _, ips := range [][]string{listed, unlisted} {
			pass := (action == "allow") == (len(ips) == len(listed))
			for _, ip := range ips {
				res := h.Do(sdktest.Request{ClientIP: ip}, att)
				if res.Err != nil {
					t.Fatalf("%s %s: %v", action, ip, res.Err)
				}
				if pass && (res.Status != 200 || res.Upstream == nil) {
					t.Errorf("%s %s: refused: %d %s", action, ip, res.Status, res.Body)
				}
				if !pass && (res.Status != 403 || res.Upstream != nil || string(res.Body) != `{"statusCode":403,"message":"Forbidden"}` ||
					res.Header.Get("Content-Type") != "application/json") {
					t.Errorf("%s %s: passed: %d %s", action, ip, res.Status, res.Body)
				}
			}
		}
	}
}

func TestBadPeerNeverPasses(t *testing.T) {
	p, err := ipfilter.New([]byte(`{"action":"forbid","addresses":["192.0.2.1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"", "nonsense", "1.2.3", "192.0.2.1\r\n"} {
		if p.(*ipfilter.Policy).Allowed([]byte(ip)) {
			t.Errorf("%q passed", ip)
		}
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	p, _ := ipfilter.New([]byte(`{"action":"allow",` + list + `}`))
	f := p.(*ipfilter.Policy)
	v4, v6 := []byte("192.168.3.4"), []byte("2001:db8:1::5")
	if n := testing.AllocsPerRun(100, func() {
		if !f.Allowed(v4) || !f.Allowed(v6) {
			t.Fatal("not allowed")
		}
	}); n != 0 {
		t.Errorf("%v allocations per check", n)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"addresses":["1.2.3.4"]}`, "action is required"},
		{`{"action":"deny","addresses":["1.2.3.4"]}`, `action "deny"`},
		{`{"action":"allow"}`, "at least one of addresses, address_ranges and cidrs"},
		{`{"action":"allow","addresses":["1.2.3.400"]}`, `addresses[0]: "1.2.3.400" is not an IP address`},
		{`{"action":"allow","addresses":["fe80::1%eth0"]}`, `addresses[0]: "fe80::1%eth0": zones`},
		{`{"action":"allow","address_ranges":[{"from":"10.0.0.9","to":"10.0.0.1"}]}`, "address_ranges[0]: from 10.0.0.9 is after to 10.0.0.1"},
		{`{"action":"allow","address_ranges":[{"from":"10.0.0.1","to":"::1"}]}`, "address_ranges[0]: from 10.0.0.1 and to ::1 are not of the same IP family"},
		{`{"action":"allow","address_ranges":[{"from":"10.0.0.1"}]}`, "address_ranges[0].to"},
		{`{"action":"allow","address_ranges":[{"from":"x","to":"10.0.0.1"}]}`, "address_ranges[0].from"},
		{`{"action":"allow","address_ranges":[{"from":"10.0.0.1","to":"10.0.0.2","x":1}]}`, `unknown field "x"`},
		{`{"action":"allow","cidrs":["10.0.0.0/33"]}`, `cidrs[0]: "10.0.0.0/33" is not a CIDR prefix`},
		{`{"action":"allow","cidrs":["10.0.0.1"]}`, `cidrs[0]`},
		{`{"action":"allow","cidrs":["::ffff:10.0.0.0/104"]}`, `cidrs[0]`},
		{`{"action":"allow","addresses":"1.2.3.4"}`, `field "addresses": expected a list`},
		{`{"action":"allow","address":["1.2.3.4"]}`, `unknown field "address"`},
		{`{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["10.0.0.0/33"]}`, `trusted_proxies[0]: "10.0.0.0/33" is not a CIDR prefix`},
		{`{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["proxy.example"]}`, `trusted_proxies[0]: "proxy.example" is not an IP address`},
		{`{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["10.0.0.1","fe80::1%eth0"]}`, `trusted_proxies[1]: "fe80::1%eth0": zones`},
		{`{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["::ffff:10.0.0.0/104"]}`, `trusted_proxies[0]`},
		{`{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":"10.0.0.1"}`, `field "trusted_proxies": expected a list`},
		{`{"action":"allow","addresses":["1.2.3.4"],"forwarded_header":""}`, `forwarded_header "" is not a valid header name`},
		{`{"action":"allow","addresses":["1.2.3.4"],"forwarded_header":"X Forwarded"}`, `forwarded_header "X Forwarded"`},
	} {
		_, err := ipfilter.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(ipfilter.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran: %+v", tc.config, res)
		}
	}
}

// behind is an allow-list behind trusted proxies 10.0.0.0/8 and 192.0.2.10.
const behind = `{"action":"allow","addresses":["203.0.113.7","2001:db8::7"],"cidrs":["10.99.0.0/16"],
	"trusted_proxies":["10.0.0.0/8","192.0.2.10","2001:db8:ff::/48"]}`

func TestTrustedProxies(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(ipfilter.Name, behind)
	for _, tc := range []struct {
		name string
		peer string
		xff  []string // X-Forwarded-For lines; nil: absent
		pass bool
	}{
		// An untrusted peer is judged by its own address; its header is ignored.
		{"direct listed client", "203.0.113.7", nil, true},
		{"direct listed client, junk header", "203.0.113.7", []string{"nonsense"}, true},
		{"spoof: untrusted peer claims a listed address", "198.51.100.9", []string{"203.0.113.7"}, false},
		{"spoof: untrusted peer claims to be a proxy's client", "198.51.100.9", []string{"203.0.113.7, 10.0.0.1"}, false},
		// A trusted proxy: the right-most untrusted entry is the client.
		{"proxy forwards a listed client", "10.0.0.2", []string{"203.0.113.7"}, true},
		{"proxy forwards an unlisted client", "10.0.0.2", []string{"198.51.100.9"}, false},
		{"proxy chain", "192.0.2.10", []string{"203.0.113.7, 10.1.1.1, 10.2.2.2"}, true},
		{"proxy chain over several lines", "192.0.2.10", []string{"203.0.113.7", "10.1.1.1,10.2.2.2"}, true},
		{"spoof: client prepends a listed address", "10.0.0.2", []string{"203.0.113.7, 198.51.100.9"}, false},
		{"spoof: client sends its own line first", "10.0.0.2", []string{"203.0.113.7", "198.51.100.9"}, false},
		{"spoof: client claims a listed address behind a chain", "10.0.0.2", []string{"203.0.113.7, 198.51.100.9, 10.3.3.3"}, false},
		{"entries with ports", "10.0.0.2", []string{"[2001:db8::7]:443, 10.0.0.9:8080"}, true},
		{"IPv4 with port", "10.0.0.2", []string{"203.0.113.7:5100"}, true},
		{"IPv6 proxy and IPv4-mapped client", "2001:db8:ff::1", []string{"::ffff:203.0.113.7"}, true},
		{"IPv4-mapped proxy peer", "::ffff:10.0.0.2", []string{"203.0.113.7"}, true},
		{"spaces and tabs", "10.0.0.2", []string{" 203.0.113.7\t,\t10.0.0.3 "}, true},
		{"all entries trusted: the left-most is the client", "10.0.0.2", []string{"10.99.1.1, 10.0.0.3"}, true},
		{"all entries trusted, left-most not listed", "10.0.0.2", []string{"10.1.1.1, 10.0.0.3"}, false},
		// Fail closed.
		{"proxy without the header", "10.0.0.2", nil, false},
		{"proxy with an empty header", "10.0.0.2", []string{""}, false},
		{"malformed right-most entry", "10.0.0.2", []string{"203.0.113.7, unknown"}, false},
		{"malformed entry between proxies", "10.0.0.2", []string{"203.0.113.7, garbage, 10.0.0.3"}, false},
		{"empty entry", "10.0.0.2", []string{"203.0.113.7,,10.0.0.3"}, false},
		{"trailing comma", "10.0.0.2", []string{"203.0.113.7,"}, false},
		{"host name", "10.0.0.2", []string{"client.example"}, false},
		{"RFC 7239 syntax is not X-Forwarded-For", "10.0.0.2", []string{"for=203.0.113.7"}, false},
		// A malformed entry left of the client does not matter.
		{"junk left of the client", "10.0.0.2", []string{"junk, 203.0.113.7"}, true},
	} {
		req := sdktest.Request{ClientIP: tc.peer, Header: http.Header{}}
		if tc.xff != nil {
			req.Header["X-Forwarded-For"] = tc.xff
		}
		res := h.Do(req, att)
		if res.Err != nil {
			t.Fatalf("%s: %v", tc.name, res.Err)
		}
		if passed := res.Status == 200 && res.Upstream != nil; passed != tc.pass {
			t.Errorf("%s: passed %v, want %v (%d %s)", tc.name, passed, tc.pass, res.Status, res.Body)
		}
		if !tc.pass && (res.Status != 403 || string(res.Body) != `{"statusCode":403,"message":"Forbidden"}`) {
			t.Errorf("%s: %d %s", tc.name, res.Status, res.Body)
		}
		if tc.pass && res.Upstream.Header.Get("X-Forwarded-For") != strings.Join(tc.xff, ", ") && len(tc.xff) == 1 {
			t.Errorf("%s: header changed: %q", tc.name, res.Upstream.Header.Get("X-Forwarded-For"))
		}
	}
}

func TestTrustedProxiesForbid(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(ipfilter.Name, `{"action":"forbid","addresses":["198.51.100.9"],"trusted_proxies":["10.0.0.0/8"]}`)
	for _, tc := range []struct {
		peer, xff string
		pass      bool
	}{
		{"10.0.0.2", "198.51.100.9", false},
		{"10.0.0.2", "203.0.113.7", true},
		{"10.0.0.2", "198.51.100.9, 10.0.0.5", false},
		// The forbidden client cannot hide behind a prepended address.
		{"10.0.0.2", "203.0.113.7, 198.51.100.9", false},
		// Nor behind a malformed entry: refused whatever the action.
		{"10.0.0.2", "198.51.100.9, x", false},
		{"10.0.0.2", "", false},
		// The forbidden client connecting directly, claiming another address.
		{"198.51.100.9", "203.0.113.7", false},
		{"203.0.113.7", "198.51.100.9", true},
	} {
		req := sdktest.Request{ClientIP: tc.peer, Header: http.Header{}}
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		res := h.Do(req, att)
		if passed := res.Err == nil && res.Status == 200 && res.Upstream != nil; passed != tc.pass {
			t.Errorf("peer %s, X-Forwarded-For %q: passed %v, want %v (%d %s %v)", tc.peer, tc.xff, passed, tc.pass, res.Status, res.Body, res.Err)
		}
	}
}

func TestForwardedHeader(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(ipfilter.Name, `{"action":"allow","addresses":["203.0.113.7"],"trusted_proxies":["10.0.0.2"],"forwarded_header":"x-azure-clientip"}`)
	for _, tc := range []struct {
		header http.Header
		pass   bool
	}{
		{http.Header{"X-Azure-Clientip": {"203.0.113.7"}}, true},
		{http.Header{"X-Azure-Clientip": {"198.51.100.9"}}, false},
		// X-Forwarded-For is not read when another header is configured.
		{http.Header{"X-Forwarded-For": {"203.0.113.7"}}, false},
		{http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Azure-Clientip": {"198.51.100.9"}}, false},
	} {
		res := h.Do(sdktest.Request{ClientIP: "10.0.0.2", Header: tc.header}, att)
		if passed := res.Err == nil && res.Status == 200; passed != tc.pass {
			t.Errorf("%v: passed %v, want %v", tc.header, passed, tc.pass)
		}
	}
}

func TestClient(t *testing.T) {
	p, err := ipfilter.New([]byte(behind))
	if err != nil {
		t.Fatal(err)
	}
	f := p.(*ipfilter.Policy)
	for _, tc := range []struct {
		peer string
		xff  []string
		want string // "" : none (refused)
	}{
		{"198.51.100.9", []string{"203.0.113.7"}, "198.51.100.9"},
		{"10.0.0.2", []string{"203.0.113.7, 198.51.100.9"}, "198.51.100.9"},
		{"10.0.0.2", []string{"203.0.113.7", "10.0.0.4"}, "203.0.113.7"},
		{"10.0.0.2", []string{"10.0.0.5, 10.0.0.4"}, "10.0.0.5"},
		{"10.0.0.2", []string{"[fe80::1%eth0]:80"}, "fe80::1"},
		{"10.0.0.2", nil, ""},
		{"10.0.0.2", []string{"203.0.113.7, bad"}, ""},
		{"bad", []string{"203.0.113.7"}, ""},
	} {
		got, ok := f.Client(tc.peer, tc.xff)
		if s := got.String(); !ok && tc.want != "" || ok && s != tc.want {
			t.Errorf("Client(%s, %q) = %v, %v; want %q", tc.peer, tc.xff, got, ok, tc.want)
		}
	}
	// Without trusted proxies the header is never read.
	p2, _ := ipfilter.New([]byte(`{"action":"allow","addresses":["203.0.113.7"]}`))
	if got, ok := p2.(*ipfilter.Policy).Client("10.0.0.2", []string{"203.0.113.7"}); !ok || got.String() != "10.0.0.2" {
		t.Errorf("no trusted proxies: %v %v", got, ok)
	}
}

func TestTrustedPeerCheckDoesNotAllocate(t *testing.T) {
	p, _ := ipfilter.New([]byte(behind))
	f := p.(*ipfilter.Policy)
	direct, proxy, mapped := []byte("203.0.113.7"), []byte("10.1.2.3"), []byte("::ffff:192.0.2.10")
	if n := testing.AllocsPerRun(100, func() {
		if f.FromTrustedProxy(direct) || !f.FromTrustedProxy(proxy) || !f.FromTrustedProxy(mapped) || !f.Allowed(direct) {
			t.Fatal("wrong answer")
		}
	}); n != 0 {
		t.Errorf("%v allocations per check", n)
	}
}
