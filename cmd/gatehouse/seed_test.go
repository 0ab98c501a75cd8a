package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/plugins/embedded"
)

// TestServeSeededStart: the binary carries the built-in module precompiled
// (make's cmd/builtinseed step), and the first start of a fresh data dir
// writes it into the compilation cache under wazero's own name before the
// module is loaded; a restart finds it there and writes nothing. Either
// way the built-in policies run. (That the compile then reads the entry
// instead of compiling: host/engine TestSeedIsReadNotCompiled.)
func TestServeSeededStart(t *testing.T) {
	seed := embedded.BuiltinSeed()
	if seed == nil {
		t.Skip("SKIPPED: no precompiled built-in module in this build (make wasm writes plugins/embedded/wasm/builtin.seed)")
	}
	entry, size, err := engine.SeedEntry(seed)
	if err != nil {
		t.Fatalf("the embedded seed: %v", err)
	}
	work := t.TempDir()
	cfg := filepath.Join(work, "gw.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`apis:
  - name: seeded
    path: /seeded
    backend: %s
    policies:
      outbound:
        - policy: set-header
          config: {name: X-Seeded, value: "yes", phase: response}
`, newEchoServer(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	const seededLine = "compilation cache seeded from the binary"
	for round, wantSeeded := range []bool{true, false} {
		s := startServe(t, work, "--config", cfg, "--log-level", "debug")
		resp, body := callGateway(t, s.gateway, "/seeded/x", "")
		if resp.StatusCode != 200 || resp.Header.Get("X-Seeded") != "yes" {
			t.Fatalf("start %d: %d, X-Seeded %q: %s", round+1, resp.StatusCode, resp.Header.Get("X-Seeded"), body)
		}
		s.stop(t)
		logs := s.stderr.String()
		if got := strings.Contains(logs, seededLine); got != wantSeeded {
			t.Fatalf("start %d: seeded log line %v, want %v:\n%s", round+1, got, wantSeeded, logs)
		}
		if strings.Contains(logs, "not used") || strings.Contains(logs, "refused") {
			t.Fatalf("start %d: the seed was not used:\n%s", round+1, logs)
		}
		found, _ := filepath.Glob(filepath.Join(work, "data", "cache", "wazero", "wazero-*", entry))
		if len(found) != 1 {
			t.Fatalf("start %d: entry %s not in the compilation cache (%v)", round+1, entry, found)
		}
		if st, err := os.Stat(found[0]); err != nil || st.Size() != size {
			t.Fatalf("start %d: entry %v, want %d bytes", round+1, err, size)
		}
	}
}
