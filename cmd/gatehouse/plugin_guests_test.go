package main

// The second guest language: examples/header-guard-rust, the policy
// `gatehouse plugin new` makes in Go, written in Rust on the raw ABI. Its
// fixtures run on the module in the real host; the benchmark sets its call
// cost and instance size next to the Go guest's.

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// rustGuest builds examples/header-guard-rust with Debian's rustc (RUSTC,
// default /usr/bin/rustc; `make rust-example` installs it) and skips,
// loudly, where that toolchain is missing.
func rustGuest(tb testing.TB) []byte {
	tb.Helper()
	rustc := os.Getenv("RUSTC")
	if rustc == "" {
		rustc = "/usr/bin/rustc"
	}
	out := filepath.Join(tb.TempDir(), "header-guard.wasm")
	cmd := exec.Command(rustc, "--edition", "2021", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib",
		"-C", "opt-level=s", "-C", "panic=abort", "-C", "strip=symbols", "-C", "link-arg=-zstack-size=65536", "-o", out,
		filepath.Join(hosttest.RepoRoot(), "examples", "header-guard-rust", "lib.rs"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		if _, serr := os.Stat(rustc); serr != nil || bytes.Contains(b, []byte("can't find crate for `core`")) || bytes.Contains(b, []byte("linker `rust-lld` not found")) {
			tb.Skipf("*** SKIPPED: no Rust toolchain for wasm32 (%s: %v %s): run `make rust-example` (apt-get install rustc libstd-rust-dev-wasm32 lld-14) ***", rustc, err, bytes.TrimSpace(b))
		}
		tb.Fatalf("rustc: %v\n%s", err, b)
	}
	w, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func TestRustGuestFixtures(t *testing.T) {
	w := rustGuest(t)
	path := filepath.Join(t.TempDir(), "header-guard.wasm")
	os.WriteFile(path, w, 0o644)
	var out bytes.Buffer
	code := run([]string{"gatehouse", "plugin", "test", "--wasm", path, "-v", filepath.Join(hosttest.RepoRoot(), "examples", "header-guard-rust")}, &out, &out)
	if code != exitOK || !strings.Contains(out.String(), "ok   6 cases passed (header-guard@0.1.0 in the real host)") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	var val bytes.Buffer
	if code := run([]string{"gatehouse", "plugin", "validate", path}, &val, &val); code != exitOK {
		t.Fatalf("validate: %s", val.String())
	}
	for _, want := range []string{"capabilities:  config, http, vars", "wasi imports:  (none)"} {
		if !strings.Contains(val.String(), want) {
			t.Errorf("validate lacks %q:\n%s", want, val.String())
		}
	}
}

// goGuest builds the project `gatehouse plugin new` makes.
func goGuest(tb testing.TB) []byte {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "header-guard")
	if err := writePluginProject(dir, "header-guard"); err != nil {
		tb.Fatal(err)
	}
	p, err := loadPluginProject(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	w, err := buildPlugin(context.Background(), p, &out, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	// The module is written packed (tens of thousands of data segments from
	// Go's linker, a dozen after), and what build returns is what it wrote.
	if !regexp.MustCompile(`data: +\d{4,} data segments packed into \d{1,2} `).Match(out.Bytes()) {
		tb.Errorf("plugin build does not say it packed the data:\n%s", out.String())
	}
	onDisk, err := os.ReadFile(p.wasmPath())
	if err != nil || !bytes.Equal(onDisk, w) {
		tb.Errorf("the module on disk (%d bytes, %v) is not the one build returned (%d bytes)", len(onDisk), err, len(w))
	}
	if _, again, err := wasmcheck.PackData(w, wasmcheck.PackGap); err != nil || again.Before > 100 {
		tb.Errorf("the built module is not packed: %s, %v", again, err)
	}
	return w
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkGuestLanguages: the same policy in Go (the SDK) and in Rust (the
// raw ABI). call: one request through the module with the header present
// (on_request: get_plan, get_attachment, get_header, set_var; on_response:
// set_header), in the guarded runtime. MiB/instance: resident memory per
// instance, from 16 more instances made at load (each ran _initialize,
// none a request: an upper bound is the linear memory, see validate).
func BenchmarkGuestLanguages(b *testing.B) {
	for _, lang := range []struct {
		name  string
		build func(testing.TB) []byte
	}{{"go", goGuest}, {"rust", rustGuest}} {
		b.Run(lang.name, func(b *testing.B) {
			w := lang.build(b)
			ctx := context.Background()
			h, err := newPluginHost(ctx, "header-guard", "1.0.0", w)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			req := fixtureRequest{Path: "/pets", Headers: map[string]string{"X-Client": "mobile-app"}}
			if res := h.do(ctx, "header-guard", nil, nil, req, nil); res.Err != nil || res.Vars["client"] != "mobile-app" {
				b.Fatalf("%+v", res)
			}
			plan, err := h.mod.NewPlan(h.mod.Attach("header-guard", nil))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.runPlan(ctx, plan, nil, req, nil)
			}
			b.StopTimer()
			// Instances made at load are made off the caller's path: wait
			// for all n, then for each one call.
			const n = 16
			runtime.GC()
			before := rss()
			m, err := h.e.Load(ctx, "rss", "1.0.0", w, engine.LoadOptions{Min: n, Max: n})
			if err != nil {
				b.Fatal(err)
			}
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if _, total := m.PoolStats(); total >= n {
					break
				}
			}
			runtime.GC()
			_, total := m.PoolStats()
			b.ReportMetric(float64(rss()-before)/float64(total)/(1<<20), "MiB/instance")
			m.Close(ctx)
			b.ReportMetric(float64(len(w)), "module-bytes")
		})
	}
}
