package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/plugins/embedded"
)

func TestPluginValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ua-filter.wasm")
	os.WriteFile(good, hosttest.Guest(t, "examples/ua-filter"), 0o644)
	bad := filepath.Join(dir, "bad.wasm")
	os.WriteFile(bad, []byte("MZ\x90\x00 not wasm"), 0o644)
	v2 := filepath.Join(dir, "v2.wasm")
	os.WriteFile(v2, hosttest.Guest(t, "host/hosttest/guests/abiv2"), 0o644)

	cases := []struct {
		args []string
		code int
		out  []string
	}{
		{[]string{"plugin", "validate", good}, exitOK, []string{"abi:           v1.0", "entry points:  on_request, on_response", "capabilities:  config, http, log", "ok"}},
		{[]string{"plugin", "validate", "-o", "json", good}, exitOK, []string{`"abi_major": 1`, `"on_request": true`}},
		{[]string{"plugin", "validate", bad}, exitFailure, []string{"not a WebAssembly module"}},
		{[]string{"plugin", "validate", v2}, exitFailure, []string{"built for ABI v2"}},
		{[]string{"plugin", "validate", filepath.Join(dir, "missing.wasm")}, exitFailure, []string{"no such file"}},
		{[]string{"plugin", "validate"}, exitUsage, []string{"want one FILE.wasm"}},
		{[]string{"serve", "--no-such-flag"}, exitUsage, []string{"flag provided but not defined"}},
		{[]string{"serve", "--data", dir, "--config", "/nonexistent.yaml"}, exitFailure, []string{"no config at /nonexistent.yaml"}},
		{[]string{"serve", "--data", dir, "--demo", "--listen", "127.0.0.1:0", "--pprof-listen", "0.0.0.0:6060"}, exitUsage, []string{"--pprof-listen must be a loopback address"}},
		{[]string{"serve", "--data", dir, "--log-format", "xml"}, exitUsage, []string{"--log-format must be auto, json or text"}},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(append([]string{"gatehouse"}, c.args...), &out, &errb)
		all := out.String() + errb.String()
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, all)
		}
		for _, w := range c.out {
			if !strings.Contains(all, w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, all)
			}
		}
	}
}

// TestServeDemo runs the real binary as a newcomer would: `serve --demo`,
// the README's curl calls, a live config edit, then SIGTERM.
func TestServeDemo(t *testing.T) {
	if embedded.Builtin() == nil {
		t.Fatal("the built-in module is not built: run `make test` (or `make wasm` first)")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(work, "bin", "examples"), 0o755)
	os.WriteFile(filepath.Join(work, "bin", "examples", "ua-filter.wasm"), hosttest.Guest(t, "examples/ua-filter"), 0o644)

	start := func() (*exec.Cmd, string, *bytes.Buffer) {
		cmd := exec.Command(bin, "serve", "--data", "data", "--demo", "--listen", "127.0.0.1:0", "--log-format", "json")
		cmd.Dir = work
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		urlRe := regexp.MustCompile(`gateway:\s+(http://\S+)`)
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[1]
				}
			}
		}()
		select {
		case u := <-found:
			return cmd, u, &stderr
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("serve did not become ready:\n%s", stderr.String())
		}
		return nil, "", nil
	}
	cmd, base, stderr := start()
	defer cmd.Process.Kill()
	key, err := os.ReadFile(filepath.Join(work, "data", "demo-key"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(work, "data", "demo-key")); st.Mode().Perm() != 0o600 {
		t.Errorf("demo-key mode %v", st.Mode().Perm())
	}
	call := func(ua string, withKey bool) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+"/echo/items/42", nil)
		if withKey {
			req.Header.Set("Ocp-Apim-Subscription-Key", strings.TrimSpace(string(key)))
		}
		req.Header.Set("User-Agent", ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, body := call("curl/8", true)
	if resp.StatusCode != 200 || !strings.Contains(body, `"X-Hello": "set by a Wasm policy"`) || !strings.Contains(body, `"X-Ua-Class": "tool"`) || resp.Header.Get("X-Powered-By") != "Gatehouse" {
		t.Fatalf("demo call: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if strings.Contains(body, strings.TrimSpace(string(key))) {
		t.Error("the subscription key reached the backend")
	}
	if resp, _ := call("curl/8", false); resp.StatusCode != 401 {
		t.Errorf("without key: %d", resp.StatusCode)
	}
	if resp, _ := call("BadBot/1.0", true); resp.StatusCode != 403 {
		t.Errorf("BadBot: %d", resp.StatusCode)
	}
	got429 := false
	for i := 0; i < 6; i++ {
		if resp, _ := call("curl/8", true); resp.StatusCode == 429 {
			got429 = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !got429 {
		t.Error("no 429 with Retry-After after more than 5 calls in 10s")
	}

	// Change a policy in the live config; it applies without a restart.
	cfgPath := filepath.Join(work, "data", "demo.yaml")
	b, _ := os.ReadFile(cfgPath)
	b = bytes.Replace(b, []byte("calls: 5,"), []byte("calls: 1000,"), 1)
	b = bytes.Replace(b, []byte(`"set by a Wasm policy"`), []byte(`"edited live"`), 1)
	os.WriteFile(cfgPath, b, 0o600)
	ok := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, body := call("curl/8", true); resp.StatusCode == 200 && strings.Contains(body, "edited live") {
			ok = true
			break
		}
	}
	if !ok {
		t.Errorf("the edited config did not take effect within 3s\n%s", stderr.String())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Error("no exit within 20s of SIGTERM")
	}
	// Restart with a warm compilation cache: ready fast.
	cmd2, _, stderr2 := start()
	cmd2.Process.Signal(syscall.SIGTERM)
	cmd2.Wait()
	m := regexp.MustCompile(`"ready_ms":(\d+)`).FindStringSubmatch(stderr2.String())
	if m == nil {
		t.Fatalf("no ready_ms in log:\n%s", stderr2.String())
	}
	t.Logf("warm-cache start to ready: %s ms", m[1])
}

func TestJWKSClientRefusesMetadataAddresses(t *testing.T) {
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"keys":[]}`) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c := jwksClient()
	if resp, err := c.Get("http://" + ln.Addr().String() + "/jwks"); err != nil {
		t.Errorf("loopback JWKS: %v", err)
	} else {
		resp.Body.Close()
	}
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/", "http://0.0.0.0:80/"} {
		start := time.Now()
		_, err := c.Get(u)
		if err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: err = %v; want a refusal", u, err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s: refusal took %v", u, time.Since(start))
		}
	}
}
