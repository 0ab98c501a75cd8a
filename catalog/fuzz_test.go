package catalog_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// Validation functions take untrusted input: they must never panic and must
// fail only with ErrInvalid.
func FuzzValidatePathPrefix(f *testing.F) {
	for _, s := range []string{"/", "/echo", "/a/b", "", "echo", "/a//b", "/a/../b", "/%2e%2e", "/a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := catalog.ValidatePathPrefix("p", p)
		if err != nil && !errors.Is(err, catalog.ErrInvalid) {
			t.Fatalf("%q: %v", p, err)
		}
		if err == nil && (p == "" || p[0] != '/' || strings.Contains(p, "//") || strings.Contains(p, "..") && strings.Contains("/"+p+"/", "/../")) {
			t.Fatalf("accepted %q", p)
		}
	})
}

func FuzzValidateBackendURL(f *testing.F) {
	for _, s := range []string{"http://example.com", "https://10.0.0.1:8443/x", "file:///etc/passwd", "http://169.254.169.254/",
		"http://[fe80::1%25eth0]/", "http://2852039166/", "http://[::ffff:169.254.1.1]/", "http://a@b/", "http://x:0/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := catalog.ValidateBackendURL("u", raw)
		if err != nil {
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q", raw)
		}
	})
}

func FuzzValidateURLTemplate(f *testing.F) {
	for _, s := range []string{"/", "/users/{id}", "/a/{x}/{y}", "/{", "/}", "/{a}{a}", "/{a}/b?c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := catalog.ValidateURLTemplate("t", s); err != nil && !errors.Is(err, catalog.ErrInvalid) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
