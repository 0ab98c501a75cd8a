package declarative_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// FuzzParse checks that Parse never panics, that its errors are field
// errors, and that whatever it accepts survives Marshal and Parse again.
// Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			t.Skip() // bounded time per input
		}
		d, err := declarative.Parse(b)
		if err != nil {
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *catalog.FieldError", err)
			}
			return
		}
		y, err := declarative.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := declarative.Parse(y); err != nil {
			t.Fatalf("reparse: %v\n%s", err, y)
		}
	})
}

// FuzzResolveKeyFiles checks that ResolveKeyFiles never panics, that its
// errors are field errors, and that it reads only inside the document's
// directory: a key file outside it (reachable by "..", an absolute path
// or a symbolic link) never shows up in its output. Seeds are in
// testdata/fuzz/FuzzResolveKeyFiles.
func FuzzResolveKeyFiles(f *testing.F) {
	root := f.TempDir()
	dir := filepath.Join(root, "doc")
	os.MkdirAll(filepath.Join(dir, "keys"), 0o700)
	os.WriteFile(filepath.Join(dir, "keys", "k.key"), []byte("inside key\n"), 0o600)
	os.WriteFile(filepath.Join(root, "outside.key"), []byte("OUTSIDE-MARKER\n"), 0o600)
	os.Symlink("../outside.key", filepath.Join(dir, "out.key"))
	os.Symlink(filepath.Join(root, "outside.key"), filepath.Join(dir, "abs.key"))
	os.Symlink("keys/k.key", filepath.Join(dir, "in.key"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			t.Skip()
		}
		out, changed, err := declarative.ResolveKeyFiles(b, dir)
		if err != nil {
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *catalog.FieldError", err)
			}
			if strings.Contains(err.Error(), "MARKER") || strings.Contains(err.Error(), "inside key") {
				t.Fatalf("the error quotes a file: %v", err)
			}
			return
		}
		if !changed {
			if !bytes.Equal(out, b) {
				t.Fatal("unchanged, but another document")
			}
			return
		}
		if bytes.Contains(out, []byte("MARKER")) && !bytes.Contains(b, []byte("MARKER")) {
			t.Fatalf("read a file outside the document's directory:\n%s", out)
		}
		var v any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, out)
		}
	})
}
