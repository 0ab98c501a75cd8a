package declarative_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// TestDocsExample keeps the example of docs/declarative.md valid.
func TestDocsExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/declarative.md")
	if err != nil {
		t.Skip(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("no yaml block")
	}
	doc, _, _ := strings.Cut(rest, "```")
	if _, err := declarative.Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}
