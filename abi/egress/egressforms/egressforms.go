// Package egressforms reads the shared table of destination URL forms
// (abi/egress/testdata/forms.tsv) that every road out is tested against:
// the catalog, the YAML config, the engine's set_field, the emulator,
// redirects and the dial-time guard. It is for tests.
package egressforms

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Form is one row: URL is a destination a module or an admin might set;
// Want is "" when a module-set destination is accepted, else a substring
// of the refusal.
type Form struct{ URL, Want string }

// Load reads the table, failing tb when it is missing or short.
func Load(tb testing.TB) []Form {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "testdata", "forms.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []Form
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, w, _ := strings.Cut(line, "\t")
		uq, err := strconv.Unquote(`"` + u + `"`)
		if err != nil {
			tb.Fatalf("%q: %v", line, err)
		}
		out = append(out, Form{uq, w})
	}
	if len(out) < 50 {
		tb.Fatalf("only %d forms", len(out))
	}
	return out
}
