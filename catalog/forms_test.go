package catalog_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/catalog"
)

// Every URL form on the catalog's road (an API's own backend): the same
// answer as the egress rule's CheckBackend, and every form a module-set
// destination refuses for its syntax is refused here too.
func TestBackendURLForms(t *testing.T) {
	for _, f := range egressForms(t, "../abi/egress/testdata/forms.tsv") {
		err := catalog.ValidateBackendURL("backendUrl", f.url)
		_, want := egress.CheckBackend(f.url, egress.AllowList{})
		if (err == nil) != (want == nil) {
			t.Errorf("%q: catalog %v, egress rule %v", f.url, err, want)
		}
		if _, perr := egress.ParseBackend(f.url); perr != nil && err == nil {
			t.Errorf("%q: syntax refused by the rule (%v), accepted by the catalog", f.url, perr)
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
