package egress

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
)

// forms is the table of destination URLs every road is tested with
// (testdata/forms.tsv): what a module-set destination gets, "" accepted,
// otherwise a substring of the refusal.
var forms = loadForms()

func loadForms() []struct{ url, want string } {
	b, err := os.ReadFile("testdata/forms.tsv")
	if err != nil {
		panic(err)
	}
	var out []struct{ url, want string }
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, w, _ := strings.Cut(line, "\t")
		uq, err := strconv.Unquote(`"` + u + `"`)
		if err != nil {
			panic(line)
		}
		out = append(out, struct{ url, want string }{uq, w})
	}
	return out
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
