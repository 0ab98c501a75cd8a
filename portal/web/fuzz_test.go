package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a sign-in form's "next" holds, the redirect
// target stays on this site under the prefix: never scheme-relative
// (//evil), never with a backslash or a line break.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/ui/", "/ui/apis?x=1", "//evil.example/ui/", "/ui/\\evil", "https://evil.example/ui/", "/ui/\r\nSet-Cookie: x", "", "/other", "/ui"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		for _, prefix := range []string{"/", "/ui/"} {
			got := SafeNext(next, prefix)
			if !strings.HasPrefix(got, prefix) || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
				t.Fatalf("SafeNext(%q, %q) = %q", next, prefix, got)
			}
			if u, err := url.Parse(got); err == nil && (u.Host != "" || u.Scheme != "") {
				t.Fatalf("SafeNext(%q, %q) = %q leaves the site", next, prefix, got)
			}
		}
	})
}

// FuzzCSRFForm: a state-changing form passes only with the exact token
// bound to its cookie, whatever else the body holds (duplicated fields,
// broken encodings, oversized bodies), and another origin never passes.
func FuzzCSRFForm(f *testing.F) {
	c := CSRF{Secret: []byte("0123456789abcdef0123456789abcdef"), Purpose: "fuzz"}
	want := c.For("s:session-token")
	for _, s := range []string{"csrf=" + want, "csrf=" + want + "&csrf=x", "csrf=x&csrf=" + want, "csrf=%zz", "a=b", "csrf=" + want[:10], strings.Repeat("a", 70000) + "&csrf=" + want, ""} {
		f.Add(s, "")
		f.Add(s, "http://evil.example")
	}
	f.Fuzz(func(t *testing.T, body, origin string) {
		r := httptest.NewRequest("POST", "http://admin.test/ui/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		ok := SameOrigin(r) && CheckToken(Sent(r), want)
		if !ok {
			return
		}
		if u, err := url.Parse(origin); origin != "" && origin != "null" && (err != nil || u.Host != "admin.test") {
			t.Fatalf("origin %q passed", origin)
		}
		vals, _ := url.ParseQuery(body)
		if len(body) > maxFormBody || vals.Get(FormField) != want {
			t.Fatalf("body %q passed without its token first", body)
		}
	})
}
