package gateway_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// Every URL form on the YAML config's road (an API's backend): the same
// answer as the egress rule's CheckBackend (and so as the catalog's).
func TestConfigBackendForms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hosttest.RepoRoot(), "abi/egress/testdata/forms.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, _, _ := strings.Cut(line, "\t")
		raw, err := strconv.Unquote(`"` + u + `"`)
		if err != nil {
			t.Fatal(err)
		}
		n++
		cfg := &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: raw}}}
		got := cfg.Validate()
		_, want := egress.CheckBackend(raw, egress.AllowList{})
		if (got == nil) != (want == nil) {
			t.Errorf("%q: config %v, egress rule %v", raw, got, want)
		}
	}
	if n < 50 {
		t.Fatalf("only %d forms", n)
	}
}
