package engine

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// Every URL form on the engine's road (set_field of the backend URL, a
// policy's override): refused or accepted exactly as the table says.
func TestBackendOverrideForms(t *testing.T) {
	for _, f := range egressForms(t, "../../abi/egress/testdata/forms.tsv") {
		ex := &Exchange{Phase: PhaseRequest}
		rc := SetBackendField(ex, abi.FieldBackendURL, []byte(f.url))
		if (rc == abi.OK) != (f.want == "") {
			t.Errorf("%q: set_field = %d, want accepted=%v", f.url, rc, f.want == "")
		}
		if _, err := CheckBackendOverride(ex, f.url); f.want != "" && (err == nil || !strings.Contains(err.Error(), f.want)) {
			t.Errorf("%q: %v, want %q", f.url, err, f.want)
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
