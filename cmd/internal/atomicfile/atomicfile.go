// Package atomicfile writes a file whole or not at all: through a synced
// temporary file beside it, then renamed over it, so that a reader — the
// next make step, the binary, an admin reading DATA/admin.url — never sees
// it half written, and an interrupted write leaves the old file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path with mode, through a temporary file in the
// same directory (".NAME.*.tmp", removed on failure).
func Write(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
