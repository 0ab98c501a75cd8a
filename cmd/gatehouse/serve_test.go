package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/plugins/embedded"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// gatehouseBinary builds the command once per test run.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if embedded.Builtin() == nil {
		t.Fatal("the built-in module is not built: run `make test` (or `make wasm` first)")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-test-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// served is a `gatehouse serve` subprocess.
type served struct {
	cmd      *exec.Cmd
	gateway  string
	admin    string
	ops      string // /metrics, /healthz, /readyz (the admin URL in catalog mode)
	token    string
	stdout   *syncBuffer
	stderr   *syncBuffer
	readyLog map[string]any
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs serve in dir with data dir "data" on loopback ports and
// waits for its "gateway ready" log line.
func startServe(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	bin := gatehouseBinary(t)
	cmd := exec.Command(bin, append([]string{"serve", "--data", "data", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--portal-listen", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=", "GATEHOUSE_MASTER_KEY=")
	s := &served{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout = s.stdout
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(s.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "gateway ready" {
				ready <- m
			}
		}
	}()
	go func() { cmd.Wait(); pw.Close() }()
	select {
	case m := <-ready:
		s.readyLog = m
		s.gateway, _ = m["url"].(string)
		s.admin, _ = m["admin_url"].(string)
		s.ops, _ = m["ops_url"].(string)
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not become ready:\n%s", s.stderr.String())
	}
	if s.admin == "" {
		return s // --config: no admin API, no token
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", adminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for s.cmd.ProcessState == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		t.Fatalf("no exit within 20s of SIGTERM\n%s", s.stderr.String())
	}
	if !s.cmd.ProcessState.Success() {
		t.Errorf("exit after SIGTERM: %v\n%s", s.cmd.ProcessState, s.stderr.String())
	}
}

// adminDo calls the admin API and decodes a JSON answer into out (if any).
func (s *served) adminDo(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.admin+"/admin/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// callGateway GETs path through the gateway with an optional key.
func callGateway(t *testing.T, base, path, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if key != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestServeDemo runs the real binary as a newcomer would: `serve --demo`,
// the README's calls, a policy change through the admin API taking effect,
// a revocation refused within a second, SIGTERM, and a warm restart.
func TestServeDemo(t *testing.T) {
	work := t.TempDir()
	s := startServe(t, work, "--demo")
	defer s.cmd.Process.Kill()

	curlRe := regexp.MustCompile(`Ocp-Apim-Subscription-Key: (gh_[A-Za-z0-9_-]+)' (http://\S+)/echo/items/42`)
	var m []string
	eventually(2*time.Second, func() bool { m = curlRe.FindStringSubmatch(s.stdout.String()); return m != nil })
	if m == nil {
		t.Fatalf("no curl line in the welcome text:\n%s", s.stdout.String())
	}
	key := m[1]
	if m[2] != s.gateway || !strings.Contains(s.stdout.String(), s.admin+"/admin/v1") {
		t.Errorf("welcome text does not name the gateway %s and admin %s:\n%s", s.gateway, s.admin, s.stdout.String())
	}
	for _, f := range []string{adminTokenFile, adminURLFile, "master.key", countersFile, requestLogFile} {
		if _, err := os.Stat(filepath.Join(work, "data", f)); err != nil {
			t.Errorf("data/%s: %v", f, err)
		}
	}
	for _, f := range []string{adminTokenFile, adminURLFile, "master.key"} {
		if st, err := os.Stat(filepath.Join(work, "data", f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("data/%s: %v mode %v", f, err, st)
		}
	}

	resp, body := callGateway(t, s.gateway, "/echo/items/42", key)
	if resp.StatusCode != 200 || !strings.Contains(body, `"X-Hello": "set by a Wasm policy"`) || resp.Header.Get("X-Powered-By") != "Gatehouse" {
		t.Fatalf("demo call: %d %v\n%s\n%s", resp.StatusCode, resp.Header, body, s.stderr.String())
	}
	if strings.Contains(body, key) {
		t.Error("the subscription key reached the backend")
	}
	if resp, _ := callGateway(t, s.gateway, "/echo/items/42", ""); resp.StatusCode != 401 {
		t.Errorf("without key: %d", resp.StatusCode)
	}
	got429 := false
	for i := 0; i < 6; i++ {
		if resp, _ := callGateway(t, s.gateway, "/echo/items/42", key); resp.StatusCode == 429 {
			got429 = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !got429 {
		t.Error("no 429 with Retry-After after more than 5 calls in 10s")
	}

	// Change the product's policy through the admin API: more calls, a new
	// header value. It applies without a restart.
	newDoc := map[string]any{"scope": "product", "scopeId": "starter", "inbound": []any{
		map[string]any{"base": true},
		map[string]any{"module": "builtin", "policy": "rate-limit", "config": map[string]any{"calls": 1000, "renewal_period": 10}},
		map[string]any{"module": "builtin", "policy": "set-header", "config": map[string]any{"name": "X-Hello", "value": "changed by the admin"}},
	}}
	if code := s.adminDo(t, "PUT", "/policies/product/starter", newDoc, &map[string]any{}); code != 200 {
		t.Fatalf("PUT product policy: %d", code)
	}
	if !eventually(2*time.Second, func() bool {
		resp, body := callGateway(t, s.gateway, "/echo/items/42", key)
		return resp.StatusCode == 200 && strings.Contains(body, "changed by the admin")
	}) {
		t.Errorf("the policy change did not take effect within 2s\n%s", s.stderr.String())
	}

	// A suspended subscription's key is refused within a second.
	if code := s.adminDo(t, "POST", "/subscriptions/demo-subscription/suspend", nil, &map[string]any{}); code != 200 {
		t.Fatalf("suspend: %d", code)
	}
	t0 := time.Now()
	if !eventually(time.Second, func() bool {
		resp, _ := callGateway(t, s.gateway, "/echo/items/42", key)
		return resp.StatusCode == 401
	}) {
		t.Error("a suspended key still worked 1s after the admin write")
	}
	t.Logf("suspended key refused after %v", time.Since(t0))
	s.adminDo(t, "POST", "/subscriptions/demo-subscription/activate", nil, &map[string]any{})

	// Neither the catalog database nor its WAL holds the key in plaintext.
	// Nor does the request log (the key is redacted, headers not kept).
	logged := false
	for _, f := range []string{catalogFile, catalogFile + "-wal", requestLogFile, requestLogFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(work, "data", f))
		if err != nil && (f == catalogFile || f == requestLogFile) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(strings.TrimPrefix(key, "gh_"))) {
			t.Errorf("data/%s contains the plaintext key", f)
		}
		if strings.HasPrefix(f, requestLogFile) && bytes.Contains(b, []byte("/echo/items/42")) {
			logged = true
		}
	}
	if !logged {
		t.Error("the request log holds none of the calls (nothing to check the redaction on)")
	}

	s.stop(t)
	// A warm restart keeps the catalog (no second seeding) and is fast.
	s2 := startServe(t, work, "--demo")
	defer s2.cmd.Process.Kill()
	if !eventually(2*time.Second, func() bool { return strings.Contains(s2.stdout.String(), key) }) {
		t.Errorf("the demo key changed across a restart:\n%s", s2.stdout.String())
	}
	if !eventually(2*time.Second, func() bool {
		resp, body := callGateway(t, s2.gateway, "/echo/items/42", key)
		return resp.StatusCode == 200 && strings.Contains(body, "changed by the admin")
	}) {
		t.Errorf("after restart the admin's policy is not served\n%s", s2.stderr.String())
	}
	t.Logf("warm-cache start to ready: %v ms", s2.readyLog["ready_ms"])
	s2.stop(t)
}

func eventually(d time.Duration, f func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestKillDurability kills `serve` with SIGKILL at random moments while
// subscriptions are created through the admin API, 20 rounds: every
// acknowledged subscription exists after the restart and its key works
// through the gateway, and SQLite's integrity_check is ok each time.
func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("20 process restarts")
	}
	work := t.TempDir()
	backend := newEchoServer(t)
	type acked struct{ id, key string }
	var all []acked
	rounds := 20
	for round := 0; round < rounds; round++ {
		s := startServe(t, work)
		if round == 0 {
			for _, c := range []struct {
				path string
				body any
			}{
				{"/apis", map[string]any{"id": "durable", "name": "Durable", "pathPrefix": "/d", "backendUrl": backend, "subscriptionRequired": true}},
				{"/users", map[string]any{"id": "u1", "email": "u1@example.com", "name": "U1"}},
			} {
				if code := s.adminDo(t, "POST", c.path, c.body, &map[string]any{}); code != 201 {
					t.Fatalf("POST %s: %d", c.path, code)
				}
			}
		} else {
			// Everything acknowledged before the previous kill is there.
			for _, a := range all {
				var sub map[string]any
				if code := s.adminDo(t, "GET", "/subscriptions/"+a.id, nil, &sub); code != 200 {
					t.Fatalf("round %d: acknowledged subscription %s: %d", round, a.id, code)
				}
			}
			// Every key works (the newest ones always; all in the last round).
			check := all
			if round < rounds-1 && len(check) > 10 {
				check = check[len(check)-10:]
			}
			for _, a := range check {
				if !eventually(2*time.Second, func() bool {
					resp, _ := callGateway(t, s.gateway, "/d/x", a.key)
					return resp.StatusCode == 200
				}) {
					t.Fatalf("round %d: key of acknowledged subscription %s refused", round, a.id)
				}
			}
		}
		// Create subscriptions until a random moment, then SIGKILL.
		killAt := time.Now().Add(time.Duration(50+rand.IntN(300)) * time.Millisecond)
		stopCreate := make(chan struct{})
		done := make(chan []acked)
		go func() {
			var mine []acked
			for i := 0; ; i++ {
				select {
				case <-stopCreate:
					done <- mine
					return
				default:
				}
				var out struct {
					Subscription struct{ ID string } `json:"subscription"`
					PrimaryKey   string              `json:"primaryKey"`
				}
				b, _ := json.Marshal(map[string]any{"userId": "u1", "scope": "api", "scopeId": "durable", "name": fmt.Sprintf("r%d-%d", round, i)})
				req, _ := http.NewRequest("POST", s.admin+"/admin/v1/subscriptions", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+s.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue // killed mid-request: not acknowledged
				}
				rb, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 201 || json.Unmarshal(rb, &out) != nil || out.Subscription.ID == "" {
					continue
				}
				mine = append(mine, acked{out.Subscription.ID, out.PrimaryKey})
			}
		}()
		time.Sleep(time.Until(killAt))
		s.cmd.Process.Signal(syscall.SIGKILL)
		for s.cmd.ProcessState == nil {
			time.Sleep(5 * time.Millisecond)
		}
		close(stopCreate)
		mine := <-done
		all = append(all, mine...)
		checkIntegrity(t, filepath.Join(work, "data", catalogFile))
	}
	if len(all) < rounds {
		t.Fatalf("only %d subscriptions acknowledged in %d rounds", len(all), rounds)
	}
	t.Logf("%d rounds, %d acknowledged subscriptions, all present after SIGKILL", rounds, len(all))
	// A final start checks the last round's subscriptions too.
	s := startServe(t, work)
	defer s.stop(t)
	for _, a := range all {
		if code := s.adminDo(t, "GET", "/subscriptions/"+a.id, nil, &map[string]any{}); code != 200 {
			t.Fatalf("final: acknowledged subscription %s: %d", a.id, code)
		}
	}
	for _, a := range all[max(0, len(all)-20):] {
		if !eventually(2*time.Second, func() bool {
			resp, _ := callGateway(t, s.gateway, "/d/x", a.key)
			return resp.StatusCode == 200
		}) {
			t.Fatalf("final: key of %s refused", a.id)
		}
	}
}

func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
}

func newEchoServer(t *testing.T) string {
	t.Helper()
	d, err := startEcho()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d.echoURL
}
