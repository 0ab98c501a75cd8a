package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// gh runs the gatehouse binary (the one a user has) in dir with a bound on
// its time, and returns its exit code and output.
func gh(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatehouseBinary(t), args...)
	cmd.Dir = dir
	// No module proxy: the SDK a project builds with comes from the binary.
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=", "GATEHOUSE_ADMIN_URL=", "GOPROXY=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("gatehouse %s: no exit within 4 minutes\n%s", strings.Join(args, " "), out.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String()
}

func wantRun(t *testing.T, code int, out string, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d:\n%s", code, wantCode, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestPluginNewcomer is the newcomer's path of docs/plugin-guide.md, from
// an empty directory outside the checkout to a custom policy enforced by a
// running gateway, command by command, with the gatehouse binary and go.
// The module is built by `go build` with no module proxy (GOPROXY=off): the
// SDK comes from the binary.
func TestPluginNewcomer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module and runs a gateway")
	}
	home := t.TempDir()
	start := time.Now()
	commands := 0

	// 1. gatehouse plugin new
	commands++
	code, out := gh(t, home, "plugin", "new", "hello")
	wantRun(t, code, out, exitOK, "made hello in hello")
	proj := filepath.Join(home, "hello")

	// 2. gatehouse plugin test (builds, then the fixtures in the real host)
	commands++
	code, out = gh(t, proj, "plugin", "test")
	wantRun(t, code, out, exitOK, "ok   4 cases passed (hello@0.1.0 in the real host)")
	if t.Failed() {
		t.FailNow()
	}

	// Not one of the five: the project's own Go tests, on the SDK's
	// emulator, with the SDK source plugin new wrote and no module proxy.
	gt := exec.Command("go", "test", "-count=1", "./...")
	gt.Dir = proj
	gt.Env = append(os.Environ(), "GOPROXY=off")
	if b, err := gt.CombinedOutput(); err != nil {
		t.Errorf("go test in the project: %v\n%s", err, b)
	}

	// 3. gatehouse serve --demo (in the background)
	commands++
	s := startServe(t, home, "--demo")
	defer s.stop(t)
	var key []string
	for deadline := time.Now().Add(30 * time.Second); key == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// The banner follows the ready log line.
		key = regexp.MustCompile(`Ocp-Apim-Subscription-Key: (gh_[A-Za-z0-9_-]+)`).FindStringSubmatch(s.stdout.String())
	}
	if key == nil {
		t.Fatalf("no demo key in serve's output:\n%s", s.stdout.String())
	}

	// 4. gatehouse plugin publish
	commands++
	code, out = gh(t, proj, "plugin", "publish", "--data", "../data", "--no-build", "--grant", "all", "--attach", "api/echo")
	wantRun(t, code, out, exitOK, "published hello@0.1.0", "api/echo: inbound: attached hello@0.1.0 (policy hello)")

	// 5. curl: the policy is enforced (the catalog reload is asynchronous).
	commands++
	// The demo product allows 5 calls in 10 s: a 429 is waited out.
	get := func(client string) (int, http.Header, string) {
		for {
			req, _ := http.NewRequest("GET", s.gateway+"/echo/items/42", nil)
			req.Header.Set("Ocp-Apim-Subscription-Key", key[1])
			if client != "" {
				req.Header.Set("X-Client", client)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests {
				return resp.StatusCode, resp.Header, string(b)
			}
			time.Sleep(time.Second)
		}
	}
	var status int
	var hdr http.Header
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if status, hdr, body = get(""); status == http.StatusUnauthorized {
			break
		}
	}
	if status != http.StatusUnauthorized || body != `{"message":"missing header X-Client","statusCode":401}` || hdr.Get("X-Checked-By") != "hello" {
		t.Fatalf("without X-Client: %d %v %s", status, hdr, body)
	}
	elapsed := time.Since(start)
	if status, hdr, _ = get("mobile-app"); status != http.StatusOK || hdr.Get("X-Checked-By") != "hello" {
		t.Errorf("with X-Client: %d %v", status, hdr)
	}
	t.Logf("newcomer: %d commands, %v from an empty directory to the policy enforced", commands, elapsed.Round(100*time.Millisecond))

	// Version 0.2.0, then back to 0.1.0.
	mainGo := filepath.Join(proj, "main.go")
	src, _ := os.ReadFile(mainGo)
	os.WriteFile(mainGo, bytes.Replace(src, []byte(`"missing header "`), []byte(`"header required: "`), 1), 0o644)
	code, out = gh(t, proj, "plugin", "publish", "--data", "../data", "--grant", "all")
	wantRun(t, code, out, exitFailure, "hello@0.1.0 is already published with other bytes")
	man := filepath.Join(proj, "plugin.json")
	mb, _ := os.ReadFile(man)
	os.WriteFile(man, bytes.Replace(mb, []byte(`"version": "0.1.0"`), []byte(`"version": "0.2.0"`), 1), 0o644)
	code, out = gh(t, proj, "plugin", "publish", "--data", "../data", "--grant", "all", "--attach", "api/echo")
	wantRun(t, code, out, exitOK, "published hello@0.2.0", "api/echo: inbound[1] hello@0.1.0 → hello@0.2.0")
	waitBody := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if _, _, body = get(""); body == want {
				return
			}
		}
		t.Errorf("body %s, want %s", body, want)
	}
	waitBody(`{"message":"header required: X-Client","statusCode":401}`)
	code, out = gh(t, proj, "plugin", "rollback", "--data", "../data", "hello", "0.1.0")
	wantRun(t, code, out, exitOK, "api/echo: inbound[1] hello@0.2.0 → hello@0.1.0")
	waitBody(`{"message":"missing header X-Client","statusCode":401}`)
	code, out = gh(t, proj, "plugin", "rollback", "--data", "../data", "hello", "9.9.9")
	wantRun(t, code, out, exitFailure, "hello@9.9.9", "not found")
}

// TestPluginToolkitBadInputs: every bad input gets a clear message and a
// non-zero exit, and a fixture that fails says what differs.
func TestPluginToolkitBadInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Wasm modules")
	}
	home := t.TempDir()
	code, out := gh(t, home, "plugin", "new", "Bad_Name")
	wantRun(t, code, out, exitUsage, "want lower-case letters")
	code, out = gh(t, home, "plugin", "build")
	wantRun(t, code, out, exitFailure, "has no go.mod and no plugin.json: not a plugin project")
	code, out = gh(t, home, "plugin", "new", "p")
	wantRun(t, code, out, exitOK)
	code, out = gh(t, home, "plugin", "new", "p")
	wantRun(t, code, out, exitFailure, "p exists and is not empty")
	proj := filepath.Join(home, "p")

	// The module is written with its data packed (Go's linker leaves tens
	// of thousands of segments; cmd/wasmpack).
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitOK, "built:         p.wasm", "data segments packed into")
	if w, err := os.ReadFile(filepath.Join(proj, "p.wasm")); err != nil {
		t.Error(err)
	} else if _, p, err := wasmcheck.PackData(w, wasmcheck.PackGap); err != nil || p.Before > 100 {
		t.Errorf("p.wasm on disk is not packed: %s, %v", p, err)
	}

	// A fixture that fails: every difference is named.
	fx := filepath.Join(proj, "fixtures", "wrong.yaml")
	os.WriteFile(fx, []byte(`cases:
  - name: wrong expectations
    request: {path: /x, headers: {X-Client: a}}
    expect: {status: 418, answered: true, headers: {X-Checked-By: other}, variables: {client: b}}
`), 0o644)
	code, out = gh(t, proj, "plugin", "test")
	wantRun(t, code, out, exitFailure, "FAIL wrong.yaml: wrong expectations", "status 200, want 418",
		"the request went to the backend; want the policy to answer", `response header X-Checked-By: "p", want "other"`,
		`variable client = "a", want "b"`, "plugin test: 1 of 5 cases failed")

	// Malformed fixtures.
	for body, want := range map[string]string{
		"cases:\n  - name: x\n    requets: {path: /}\n": "field requets not found",
		"cases: []\n":                                        "malformed fixture: no cases",
		"cases:\n  - request: {path: nope}\n":                `request.path "nope" must start with /`,
		"cases:\n  - expect: {status: 1000}\n":               "expect.status 1000 is not an HTTP status",
		"cases:\n  - config: '{not json'\n    request: {}\n": "is a string but not JSON",
		"[1, 2": "malformed fixture",
	} {
		os.WriteFile(fx, []byte(body), 0o644)
		code, out = gh(t, proj, "plugin", "test", "--no-build")
		wantRun(t, code, out, exitFailure, want)
	}
	os.Remove(fx)
	code, out = gh(t, proj, "plugin", "test", "--no-build", "--run", "no such case")
	wantRun(t, code, out, exitFailure, `no case matched --run "no such case"`)

	// A capability the module uses but plugin.json does not request.
	man := filepath.Join(proj, "plugin.json")
	mb, _ := os.ReadFile(man)
	os.WriteFile(man, bytes.Replace(mb, []byte(`"config", "http", "log", "vars"`), []byte(`"config", "http", "log", "clock"`), 1), 0o644)
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitFailure, `plugin.json requests capability "clock", which the module does not use`,
		"the module uses capabilities vars that plugin.json does not request")
	os.WriteFile(man, []byte(`{"name": "p", "version": "1.0"}`), 0o644)
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitFailure, "plugin.json", "version")
	os.WriteFile(man, []byte(`{"name": "p", "version": "1.0.0", "capabilities": ["teleport"]}`), 0o644)
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitFailure, `unknown capability "teleport"`)
	os.WriteFile(man, mb, 0o644)

	// A build error, then a module without the entry points.
	mainGo := filepath.Join(proj, "main.go")
	os.WriteFile(mainGo, []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitFailure, "does not build", "undefined: undefinedThing")
	os.Remove(filepath.Join(proj, "main_test.go"))
	os.WriteFile(mainGo, []byte("package main\n\nfunc main() {}\n"), 0o644)
	code, out = gh(t, proj, "plugin", "build")
	wantRun(t, code, out, exitFailure, "p.wasm")
	if !strings.Contains(out, "export") {
		t.Errorf("a module without exports: %s", out)
	}

	// publish and run refuse bad flags before building anything.
	code, out = gh(t, proj, "plugin", "publish", "--attach", "planet/x")
	wantRun(t, code, out, exitUsage, `"planet/x": want global, api/ID, product/ID or operation/ID`)
	code, out = gh(t, proj, "plugin", "run", "--header", "novalue", "/")
	wantRun(t, code, out, exitUsage, `--header "novalue": want Name:value`)
	code, out = gh(t, proj, "plugin", "run", "relative")
	wantRun(t, code, out, exitUsage, `PATH "relative" must start with /`)
}
