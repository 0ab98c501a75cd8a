// Package hosttest helps host tests: it builds Go guest modules from source
// (GOOS=wasip1, -buildmode=c-shared) once per test process, and assembles
// tiny hand-made Wasm binaries for load-time validation cases.
package hosttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildMu  sync.Mutex
	built    = map[string][]byte{}
	buildDir string
)

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Guest builds the Go guest package at pkg (a path relative to the repo
// root, e.g. "host/hosttest/guests/probe", or the directory of a module of
// its own such as "examples/ua-filter") and returns its bytes. Builds are
// cached for the life of the process; go's build cache makes reruns fast.
func Guest(tb testing.TB, pkg string) []byte {
	tb.Helper()
	b, err := BuildGuest(pkg)
	if err != nil {
		tb.Fatalf("build guest %s: %v", pkg, err)
	}
	return b
}

// BuildGuest is Guest without a testing.TB.
func BuildGuest(pkg string) ([]byte, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[pkg]; ok {
		return b, nil
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "gatehouse-guests-")
		if err != nil {
			return nil, err
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, filepath.Base(pkg)+fmt.Sprint(len(built))+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+pkg)
	cmd.Dir = RepoRoot()
	// A package of a nested module (examples/*, sdk/...): built from the
	// directory of the nearest go.mod below the repository root.
	for dir := filepath.Clean(pkg); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(RepoRoot(), dir, "go.mod")); err == nil {
			rel, _ := filepath.Rel(dir, filepath.Clean(pkg))
			cmd.Args[len(cmd.Args)-1] = "./" + filepath.ToSlash(rel)
			cmd.Dir = filepath.Join(RepoRoot(), dir)
			break
		}
	}
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	built[pkg] = b
	return b, nil
}

// Probe is the raw-ABI test guest.
func Probe(tb testing.TB) []byte { return Guest(tb, "host/hosttest/guests/probe") }
