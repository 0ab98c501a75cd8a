package embedded_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCatalogDependency: the built-in module's manifest is the module
// contract's type (abi/manifest), so this package links no catalog (nor
// host) package.
func TestNoCatalogDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "gatehouse/catalog") || strings.Contains(dep, "gatehouse/host/") || strings.Contains(dep, "sqlite") {
			t.Errorf("plugins/embedded depends on %s", dep)
		}
	}
}
