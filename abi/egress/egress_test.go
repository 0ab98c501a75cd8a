package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Forms is a table of destination URLs and what a module-set destination
// gets (no own backend, no allow-list): "" = accepted, otherwise a
// substring of the refusal. Exported to other packages' tests through
// Cases so that every road runs the same table.
var forms = []struct {
	url  string
	want string // "" accepted; substring of the error otherwise
}{
	{"http://api.example.com/v1", ""},
	{"https://API.Example.COM./v1", ""},
	{"http://93.184.216.34:8080/", ""},
	{"http://[2606:4700::1111]/", ""},
	// loopback in every spelling
	{"http://127.0.0.1/", "loopback"},
	{"http://127.0.0.1:9090/", "loopback"},
	{"http://127.1/", "non-canonical form of the IPv4 address 127.0.0.1"},
	{"http://2130706433/", "non-canonical form of the IPv4 address 127.0.0.1"},
	{"http://0x7f000001/", "non-canonical form of the IPv4 address 127.0.0.1"},
	{"http://0177.0.0.1/", "non-canonical form of the IPv4 address 127.0.0.1"},
	{"http://127.0.0.1./", "non-canonical"},
	{"http://[::1]/", "loopback"},
	{"http://[::ffff:127.0.0.1]/", "loopback"},
	{"http://[::ffff:7f00:1]/", "loopback"},
	{"http://[::127.0.0.1]/", "loopback"},
	{"http://[64:ff9b::127.0.0.1]/", "loopback"},
	{"http://[2002:7f00:1::]/", "loopback"},
	{"http://localhost/", "loopback name"},
	{"http://LOCALHOST./", "loopback name"},
	{"http://evil.localhost/", "loopback name"},
	// metadata and link-local
	{"http://169.254.169.254/latest/meta-data", "cloud metadata"},
	{"http://2852039166/", "non-canonical form of the IPv4 address 169.254.169.254"},
	{"http://0xa9fea9fe/", "non-canonical form of the IPv4 address 169.254.169.254"},
	{"http://0251.0376.0251.0376/", "non-canonical form of the IPv4 address 169.254.169.254"},
	{"http://0xa9.0xfe.0xa9.0xfe/", "non-canonical form of the IPv4 address 169.254.169.254"},
	{"http://169.254.43518/", "non-canonical form of the IPv4 address 169.254.169.254"},
	{"http://[::ffff:169.254.169.254]/", "cloud metadata"},
	{"http://[::ffff:a9fe:a9fe]/", "cloud metadata"},
	{"http://[fd00:ec2::254]/", "cloud metadata"},
	{"http://metadata.google.internal/", "cloud metadata name"},
	{"http://169.254.1.1/", "link-local"},
	{"http://[fe80::1]/", "link-local"},
	{"http://[fe80::1%25eth0]/", "percent-encoded"},
	{"http://100.100.100.200/", "cloud metadata"},
	// private, CGNAT, unique-local
	{"http://10.0.0.1/", "private"},
	{"http://172.16.5.4/", "private"},
	{"http://192.168.1.1/", "private"},
	{"http://[::ffff:10.0.0.1]/", "private"},
	{"http://100.64.0.1/", "carrier-grade NAT"},
	{"http://[fc00::1]/", "unique-local"},
	{"http://[fd12:3456::1]/", "unique-local"},
	// never
	{"http://0.0.0.0/", "unspecified"},
	{"http://0/", "non-canonical form of the IPv4 address 0.0.0.0"},
	{"http://[::]/", "unspecified"},
	{"http://224.0.0.1/", "multicast"},
	{"http://[ff02::1]/", "multicast"},
	{"http://255.255.255.255/", "broadcast"},
	{"http://240.0.0.1/", "reserved"},
	// syntax tricks
	{"http://good.example@127.0.0.1/", "user info"},
	{"http://user:pw@api.example.com/", "user info"},
	{"http://%31%32%37.0.0.1/", "percent-encoded"},
	{"http://api.example.com%2f@evil/", "user info"},
	{"http://api.example.com\\@evil/", "user info"},
	{"http://127.0.0.1\\.api.example.com/", "backslash"},
	{"http://[127.0.0.1]/", "not an IPv6 address"},
	{"http://::1/", "not a URL"},
	{"http://api.example.com:0/", "invalid port"},
	{"http://api.example.com:65536/", "invalid port"},
	{"http://api.example.com:080/", "invalid port"},
	{"http://api.example.com:/", "empty port"},
	{"http://api.example.com/?a=1", "query"},
	{"http://api.example.com/#x", "fragment"},
	{"ftp://api.example.com/", "scheme"},
	{"file:///etc/passwd", "scheme"},
	{"gopher://api.example.com/", "scheme"},
	{"//api.example.com/", "scheme"},
	{"http:api.example.com", "absolute URL"},
	{"http://bücher.example/", "not ASCII"},
	{"http://api .example.com/", "space"},
	{"http://api.example.123/", "numeric label"},
	{"http://-bad.example/", "starting or ending with '-'"},
	{"", "empty"},
	{"https://backend.example.com/a%20b", ""},
	{"http:///path", "absolute URL with a host"},
	{"http://api.example.com/\x00", "control character"},
	{"http://api.example.com/?", "query"},
}

func TestFormsModuleSet(t *testing.T) {
	s, err := NewScope("", AllowList{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range forms {
		_, err := s.CheckURL(c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: refused: %v", c.url, err)
		case c.want != "" && err == nil:
			t.Errorf("%q: accepted, want an error with %q", c.url, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%q: error %q lacks %q", c.url, err, c.want)
		}
		if err != nil && !errors.Is(err, ErrRefused) && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("%q: error %v is neither ErrRefused nor ErrInvalidURL", c.url, err)
		}
	}
}

func TestNormalizedHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.Example.COM./v1":     "api.example.com",
		"http://[::FFFF:7F00:1]:81/":      "[::ffff:127.0.0.1]:81",
		"http://[2606:4700:0::1111]/":     "[2606:4700::1111]",
		"http://Api.Example.com:8443/x/y": "api.example.com:8443",
	} {
		u, err := ParseBackend(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if u.Host != want {
			t.Errorf("%q: host %q, want %q", in, u.Host, want)
		}
	}
}

func TestOwnBackend(t *testing.T) {
	for _, c := range []struct {
		backend, target string
		ok              bool
	}{
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081/x", true},
		{"http://127.0.0.1:8081", "http://127.0.0.1:9090/", false}, // the admin listener: another port
		{"http://127.0.0.1:8081", "http://[::ffff:127.0.0.1]:8081/", false},
		{"http://localhost:8081", "http://localhost:8081/", true},
		{"http://localhost:8081", "http://localhost:8082/", false},
		{"http://10.0.0.5", "http://10.0.0.5:80/", true},
		{"http://10.0.0.5", "https://10.0.0.5/", false}, // 443 is another port
		{"http://169.254.169.254", "http://169.254.169.254/", false},
	} {
		s, err := NewScope(c.backend, AllowList{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CheckURL(c.target)
		if (err == nil) != c.ok {
			t.Errorf("own %s, target %s: err %v, want ok=%v", c.backend, c.target, err, c.ok)
		}
	}
	if _, err := CheckBackend("http://127.0.0.1:8081", AllowList{}); err != nil {
		t.Errorf("an API's loopback backend: %v", err)
	}
	if _, err := CheckBackend("http://10.1.2.3/api", AllowList{}); err != nil {
		t.Errorf("an API's private backend: %v", err)
	}
	if _, err := CheckBackend("http://169.254.169.254/", AllowList{}); err == nil {
		t.Error("an API's metadata backend accepted without an allow entry")
	}
	if _, err := CheckBackend("http://2852039166/", AllowList{}); err == nil {
		t.Error("an API's decimal backend accepted")
	}
	al, _ := ParseAllowList([]string{"169.254.169.254"})
	if _, err := CheckBackend("http://169.254.169.254/", al); err != nil {
		t.Errorf("an allow-listed metadata backend: %v", err)
	}
}

func TestAllowList(t *testing.T) {
	a, err := ParseAllowList([]string{"10.1.0.0/16", "fd00:1::/32", "192.168.7.7", "127.0.0.1:8081", "[::1]:8082", "billing.internal", "reports.internal:8443", "*.corp.example", "169.254.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewScope("", a)
	for target, ok := range map[string]bool{
		"http://10.1.2.3/":                   true,
		"http://[::ffff:10.1.2.3]/":          true,
		"http://10.2.0.1/":                   false,
		"http://192.168.7.7:81/":             true,
		"http://192.168.7.8/":                false,
		"http://[fd00:1::5]/":                true,
		"http://[fd00:2::5]/":                false,
		"http://169.254.1.1/":                true,
		"http://169.254.169.254/":            false, // a range never opens a metadata address
		"http://127.0.0.1/":                  false,
		"http://127.0.0.1:8081/":             true,
		"http://[::ffff:127.0.0.1]:8081/":    true,
		"http://127.0.0.1:9090/":             false,
		"http://[::1]:8082/":                 true,
		"http://[::1]:8081/":                 false,
		"http://localhost/":                  false,
		"http://localhost.corp.example/":     true,
		"http://corp.example/":               true, // a name: checked at dial time
		"http://[::ffff:169.254.169.254]/":   false,
		"http://metadata.google.internal/":   false,
		"http://metadata.google.internal:80": false,
	} {
		_, err := s.CheckURL(target)
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", target, err, ok)
		}
	}
	ip := netip.MustParseAddr("10.9.9.9")
	for _, c := range []struct {
		host, port string
		ok         bool
	}{
		{"billing.internal", "80", true},
		{"billing.internal", "443", true},
		{"reports.internal", "8443", true},
		{"reports.internal", "443", false},
		{"a.corp.example", "80", true},
		{"a.b.corp.example", "80", true},
		{"corp.example", "80", false},
		{"xcorp.example", "80", false},
		{"other.internal", "80", false},
	} {
		err := s.CheckAddr(c.host, c.port, ip)
		if (err == nil) != c.ok {
			t.Errorf("%s:%s → %s: err %v, want ok=%v", c.host, c.port, ip, err, c.ok)
		}
	}
	// Unspecified, multicast and broadcast are never allowed.
	all, _ := ParseAllowList([]string{"0.0.0.0/0", "::/0"})
	s2, _ := NewScope("", all)
	for _, ip := range []string{"0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1"} {
		if err := s2.CheckAddr(ip, "80", netip.MustParseAddr(ip)); err == nil {
			t.Errorf("%s allowed by 0.0.0.0/0", ip)
		}
	}
	for _, ip := range []string{"127.0.0.1", "10.0.0.1", "::1", "169.254.1.1"} {
		if err := s2.CheckAddr(ip, "80", netip.MustParseAddr(ip)); err != nil {
			t.Errorf("%s refused under 0.0.0.0/0: %v", ip, err)
		}
	}
	for _, bad := range []string{"", "10.0.0.1/33", "10.0.0.1/8", "*.", "*.10.0.0.1", "10.0.0.1:0", "http://x", "fe80::1%eth0", "a@b", "bücher.example", "*"} {
		if _, err := ParseAllowList([]string{bad}); err == nil {
			t.Errorf("allow entry %q accepted", bad)
		}
	}
	if _, err := ParseAllowList(make([]string, MaxAllowEntries+1)); err == nil {
		t.Error("too many entries accepted")
	}
}

func TestInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"2852039166": "169.254.169.254", "0xa9fea9fe": "169.254.169.254", "0251.0376.0251.0376": "169.254.169.254",
		"127.1": "127.0.0.1", "10.1.1": "10.1.0.1", "0": "0.0.0.0", "0x7f.1": "127.0.0.1",
	} {
		ip, ok := ParseInetAton(in)
		if !ok || ip.String() != want {
			t.Errorf("%q: %v %v, want %s", in, ip, ok, want)
		}
	}
	for _, in := range []string{"256.1.1.1", "1.2.3.4.5", "4294967296", "08", "1..2", "0xg"} {
		if ip, ok := ParseInetAton(in); ok {
			t.Errorf("%q: read as %v", in, ip)
		}
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]Class{
		"8.8.8.8": Public, "127.0.0.2": Loopback, "10.255.0.1": Private, "100.127.255.255": CGNAT, "100.128.0.0": Public,
		"169.254.169.254": Metadata, "169.254.3.3": LinkLocal, "0.1.2.3": Unspecified, "239.1.1.1": Multicast,
		"::1": Loopback, "fe80::": LinkLocal, "fec0::1": Private, "fd00::1": UniqueLocal, "fd00:ec2::254": Metadata,
		"2001:0:4136:e378:8000:63bf:80ff:fffe": Loopback, // Teredo: client ^80ff:fffe = 127.0.0.1
		"2002:a9fe:a9fe::1":                    Metadata, "64:ff9b::a00:1": Private, "64:ff9b::808:808": Public, "2606:4700::1111": Public,
		"::ffff:0:7f00:1": Loopback, "fe80::1%eth0": LinkLocal,
	} {
		if got := Classify(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
