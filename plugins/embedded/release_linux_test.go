//go:build linux

package embedded

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// mappingRss is the Rss (KiB) of the mapping of this process that holds
// addr, from /proc/self/smaps.
func mappingRss(t *testing.T, addr uintptr) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(strings.Fields(line)[0], "%x-%x", &lo, &hi); n == 2 && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			var kb int64
			fmt.Sscanf(strings.TrimPrefix(line, "Rss:"), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return 0
}

// TestReleasePages: after ReleasePages the built-in module's pages are no
// longer resident in this process, and reading the bytes again gives the
// same bytes (read back from the binary).
func TestReleasePages(t *testing.T) {
	b := inPlace(builtinPath)
	if b == nil {
		t.Skip("built-in module not built (make wasm) or not in place")
	}
	want := sha256.Sum256(b) // touches every page
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	before := mappingRss(t, addr)
	ReleasePages()
	after := mappingRss(t, addr)
	if drop := (before - after) * 1024; drop < int64(len(b))*9/10 {
		t.Fatalf("Rss of the binary's read-only data %d → %d KiB: dropped %d bytes, want ≈ %d", before, after, drop, len(b))
	}
	if sha256.Sum256(b) != want {
		t.Fatal("the module's bytes changed after their pages were released")
	}
	if again := mappingRss(t, addr); again < after+int64(len(b))*9/10/1024 {
		t.Fatalf("reading the bytes again: Rss %d KiB, want them back (≥ %d)", again, after+int64(len(b))*9/10/1024)
	}
}
