package egress_test

import (
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/egress"
)

// Every URL form as a redirect hop (the gateway's and the JWKS client's
// road): refused or accepted exactly as the table says. Forms net/url
// cannot parse never become a hop; forms with a query or fragment are
// checked without them (a Location may carry both).
func TestRedirectForms(t *testing.T) {
	s, _ := rule.NewScope("", rule.AllowList{})
	prev, _ := url.Parse("http://api.example.com/")
	for _, f := range egressForms(t, "../../abi/egress/testdata/forms.tsv") {
		next, err := url.Parse(f.url)
		if err != nil || strings.ContainsAny(f.url, "?#") {
			continue
		}
		err = egress.CheckRedirect(s, prev, next)
		// (a non-ASCII host comes back from net/url percent-encoded: still
		// refused, for that reason)
		ascii := strings.IndexFunc(f.url, func(r rune) bool { return r > 0x7f }) < 0
		if (err == nil) != (f.want == "") || err != nil && ascii && !strings.Contains(err.Error(), f.want) {
			t.Errorf("redirect to %q: %v, want %q", f.url, err, f.want)
		}
	}
}

// egressForms reads the shared table of destination URL forms
// (abi/egress/testdata/forms.tsv): want is "" when a module-set
// destination is accepted, else a substring of the refusal.
func egressForms(t testing.TB, path string) []struct{ url, want string } {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []struct{ url, want string }
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, w, _ := strings.Cut(line, "\t")
		uq, err := strconv.Unquote(`"` + u + `"`)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, struct{ url, want string }{uq, w})
	}
	if len(out) < 50 {
		t.Fatalf("only %d forms", len(out))
	}
	return out
}
