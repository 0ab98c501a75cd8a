package console

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

var fuzzBase = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}

// checkBuilt asserts what BuildURL promises for any accepted input.
func checkBuilt(t *testing.T, prefix, tmpl string, params map[string]string, u *url.URL) {
	t.Helper()
	if u.Scheme != "http" || u.Host != "127.0.0.1:8080" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		t.Fatalf("URL %q leaves the gateway", u)
	}
	s := u.String()
	back, err := url.Parse(s)
	if err != nil || back.Host != "127.0.0.1:8080" || back.Scheme != "http" {
		t.Fatalf("URL %q reparses to host %v (%v)", s, back, err)
	}
	ep := back.EscapedPath()
	want := strings.TrimSuffix(prefix, "/")
	if !strings.HasPrefix(back.Path, want+"/") {
		t.Fatalf("path %q is not under the prefix %q", back.Path, want)
	}
	for _, seg := range strings.Split(back.Path, "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("path %q has a dot segment", back.Path)
		}
	}
	if strings.Count(ep, "/") != strings.Count(want, "/")+strings.Count(tmpl, "/") {
		t.Fatalf("path %q has a different number of segments than %q+%q", ep, want, tmpl)
	}
	if strings.ContainsAny(s, "\r\n\x00\\ ") {
		t.Fatalf("URL %q has a control character, a backslash or a space", s)
	}
	_ = params
}

func TestBuildURL(t *testing.T) {
	u, err := BuildURL(fuzzBase, "/orders/", "/items/{id}/v{ver}.json", map[string]string{"id": "a b?c#d", "ver": "2"}, map[string][]string{"x": {"1", "2"}, "subscription-key": {"k"}}, "subscription-key")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "http://127.0.0.1:8080/orders/items/a%20b%3Fc%23d/v2.json?x=1&x=2" {
		t.Errorf("got %s", got)
	}
	checkBuilt(t, "/orders/", "/items/{id}/v{ver}.json", nil, u)
	for _, v := range []string{"..", ".", "%2e%2e", "%2E.", ".%2e", "%252e%252e", "a/b", "a%2Fb", "a%252fb", `a\b`, "a%5cb", "a\nb", "\x00", "a\x7f"} {
		if _, err := BuildURL(fuzzBase, "/o", "/{id}", map[string]string{"id": v}, nil); !errors.Is(err, ErrBadInput) {
			t.Errorf("param %q: %v", v, err)
		}
	}
	if _, err := BuildURL(fuzzBase, "/o", "/{id}", map[string]string{"id": "1", "x": "2"}, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("unknown param: %v", err)
	}
	if _, err := BuildURL(fuzzBase, "/o", "/{id}", nil, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("missing param: %v", err)
	}
}

func FuzzBuildURL(f *testing.F) {
	f.Add("/orders", "/items/{id}", "42", "q", "1")
	f.Add("/orders", "/items/{id}", "../../admin", "q", "1")
	f.Add("/", "/{id}", "%2e%2e", "next", "http://evil.example/")
	f.Add("/a", "/x/{id}/y", "user@evil.example:80", "@", "@")
	f.Add("/a", "/x/{id}", "http://evil.example/", "a b", "c\r\nd")
	f.Add("", "/{id}.json", "%252f", "k", "v")
	f.Add("/a", "/{id}", "a\r\nHost: evil", "", "")
	f.Add("/a", "/{id}", "//evil.example", "x", "y")
	f.Fuzz(func(t *testing.T, prefix, tmpl, id, qk, qv string) {
		// Prefixes and templates come from the admin, validated by the
		// catalog; only the developer's values are arbitrary here.
		if catalog.ValidatePathPrefix("p", prefix) != nil || catalog.ValidateURLTemplate("t", tmpl) != nil || !strings.Contains(tmpl, "{id}") {
			return
		}
		u, err := BuildURL(fuzzBase, prefix, tmpl, map[string]string{"id": id}, map[string][]string{qk: {qv}})
		if err != nil {
			return
		}
		checkBuilt(t, prefix, tmpl, nil, u)
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || (qk != "" && q.Get(qk) != qv) {
			t.Fatalf("query %q does not carry %q=%q (%v)", u.RawQuery, qk, qv, err)
		}
	})
}
