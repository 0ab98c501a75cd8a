package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// TestBodyReadersDeclared checks the gateway's table of built-in policies
// that read bodies (host/gateway body.go) against the policies' sources:
// the gateway receives a body before the guest call only for the policies
// listed, and get_body answers ErrUnavail to any other, so a built-in that
// starts reading a body must be added there. A policy reads a body when its
// package calls Body() of the SDK or uses plugins/internal/body.
func TestBodyReadersDeclared(t *testing.T) {
	nameRE := regexp.MustCompile(`(?m)^const Name = "([^"]+)"`)
	dirs, err := filepath.Glob("../*")
	if err != nil {
		t.Fatal(err)
	}
	var readers []string
	for _, d := range dirs {
		switch filepath.Base(d) {
		case "builtin", "embedded", "internal":
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d, "*.go"))
		name, reads := "", false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			if m := nameRE.FindStringSubmatch(src); m != nil {
				name = m[1]
			}
			if strings.Contains(src, ".Body()") || strings.Contains(src, `"github.com/gatehouse/gatehouse/plugins/internal/body"`) {
				reads = true
			}
		}
		if name == "" {
			continue
		}
		if reads {
			readers = append(readers, name)
		}
	}
	declared := gateway.BuiltinBodyReaders()
	slices.Sort(readers)
	if len(readers) < 5 || !slices.Equal(readers, declared) {
		t.Fatalf("built-in policies reading bodies: %v; declared in host/gateway body.go: %v", readers, declared)
	}
}
