package sdktest

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// Every URL form on the emulator's road: the same answer as the host's.
func TestBackendOverrideForms(t *testing.T) {
	for _, f := range egressForms(t, "../../abi/egress/testdata/forms.tsv") {
		x := newX(t, New(), phaseRequest, Request{Backend: "https://api.internal"})
		st := x.SetField(7, abi.FieldBackendURL, []byte(f.url))
		if (st == abi.OK) != (f.want == "") {
			t.Errorf("%q: set_field = %d, want accepted=%v", f.url, st, f.want == "")
		}
		if f.want != "" && len(f.url) > 0 && (len(x.logs) != 1 || !strings.Contains(x.logs[0].Message, f.want)) {
			t.Errorf("%q: logged %+v, want %q", f.url, x.logs, f.want)
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
