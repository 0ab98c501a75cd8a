// Package atomicfile writes a build output whole or not at all: beside
// its destination, then renamed over it, so that an interrupted make
// leaves no half file for the next step (or the binary) to pick up.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path with mode 0644 (as the files make writes
// beside it), through a temporary file in the same directory.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
