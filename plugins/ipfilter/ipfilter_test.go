package ipfilter_test

import (
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
