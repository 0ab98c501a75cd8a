package egress_test

import (
	"net/url"
	"strings"
	"testing"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/egress/egressforms"
	"github.com/gatehouse/gatehouse/host/egress"
)

// Every URL form as a redirect hop (the gateway's and the JWKS client's
// road): refused or accepted exactly as the table says. Forms net/url
// cannot parse never become a hop; forms with a query or fragment are
// checked without them (a Location may carry both).
func TestRedirectForms(t *testing.T) {
	s, _ := rule.NewScope("", rule.AllowList{})
	prev, _ := url.Parse("http://api.example.com/")
	for _, f := range egressforms.Load(t) {
		next, err := url.Parse(f.URL)
		if err != nil || strings.ContainsAny(f.URL, "?#") {
			continue
		}
		err = egress.CheckRedirect(s, prev, next)
		// (a non-ASCII host comes back from net/url percent-encoded: still
		// refused, for that reason)
		ascii := strings.IndexFunc(f.URL, func(r rune) bool { return r > 0x7f }) < 0
		if (err == nil) != (f.Want == "") || err != nil && ascii && !strings.Contains(err.Error(), f.Want) {
			t.Errorf("redirect to %q: %v, want %q", f.URL, err, f.Want)
		}
	}
}
