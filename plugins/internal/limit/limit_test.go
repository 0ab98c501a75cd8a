package limit

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	for k, want := range map[string]Key{
		"": {Kind: BySubscription}, "subscription": {Kind: BySubscription}, "ip": {Kind: ByIP},
		"header:X-A": {Kind: ByHeader, Name: "X-A"}, "var:a:b": {Kind: ByVar, Name: "a:b"}, "claim:http://x/role": {Kind: ByClaim, Name: "http://x/role"},
	} {
		got, err := ParseKey("counter_key", k, true)
		if err != nil || got != want {
			t.Errorf("ParseKey(%q) = %+v, %v", k, got, err)
		}
	}
	if _, err := ParseKey("counter_key", "claim:sub", false); err == nil || strings.Contains(err.Error(), `"claim:name"`) {
		t.Errorf("claim without claims: %v", err)
	}
	for _, k := range []string{"Subscription", "header:", "header:a b", "var:", "var:" + strings.Repeat("v", 129), "claim:", "claim:" + strings.Repeat("c", 257), "user"} {
		if _, err := ParseKey("counter_key", k, true); err == nil || !strings.Contains(err.Error(), "counter_key") {
			t.Errorf("ParseKey(%.20q) = %v", k, err)
		}
	}
}

func TestAppendClaim(t *testing.T) {
	for _, tc := range []struct{ claims, name, want string }{
		{`{"sub":"a\u0062"}`, "sub", "ab"}, {`{"n":42}`, "n", "42"}, {`{"r":["a","b"]}`, "r", `["a","b"]`},
		{`{"x":null}`, "x", ""}, {`{}`, "sub", ""}, {`not json`, "sub", ""}, {`{"Sub":"a"}`, "sub", ""},
	} {
		if got := string(AppendClaim([]byte("c:"), tc.claims, tc.name)); got != "c:"+tc.want {
			t.Errorf("AppendClaim(%s, %s) = %q", tc.claims, tc.name, got)
		}
	}
}

func TestParseStatuses(t *testing.T) {
	s, err := ParseStatuses("increment_condition", []string{"2xx", "304", "599"})
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{199: false, 200: true, 299: true, 300: false, 304: true, 599: true, 500: false} {
		if s.Match(code) != want {
			t.Errorf("Match(%d) = %v", code, !want)
		}
	}
	for _, bad := range [][]string{{"2XX"}, {"600"}, {"099"}, {"20"}, {"2x5"}, {"+20"}, {"200", "200"}, {""}} {
		if _, err := ParseStatuses("f", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"}, // the host unmaps; kept as sent
		{"", ""},
		{"garbage", "garbage"},
	} {
		b := append([]byte("x|i:"), tc.in...)
		if got := string(IPKey(b, 4)); got != "x|i:"+tc.want {
			t.Errorf("IPKey(%q) = %q; want %q", tc.in, got, "x|i:"+tc.want)
		}
	}
	b := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		b = append(b[:0], "i:2001:db8:1:2:aaaa:bbbb:cccc:dddd"...)
		b = IPKey(b, 2)
	}); n != 0 || string(b) != "i:2001:db8:1:2::/64" {
		t.Errorf("IPKey allocates %v times", n)
	}
}
