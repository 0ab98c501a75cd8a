// Package webtest drives the portals in a real browser against a real
// server: it builds cmd/gatehouse, runs `serve --demo` on loopback ports
// and starts headless Debian Chromium through chromedp. The developer
// portal's and the admin portal's browser tests share it. `make test`
// installs chromium when it is missing (make chromium); where it cannot
// be, the tests skip loudly.
package webtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// chromiumPath finds the browser or skips the test, loudly.
func ChromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("\n\n*** SKIPPED: no chromium on PATH: the portal's browser tests did not run. Install it with `make chromium` (apt-get install -y chromium). ***\n")
	return ""
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds cmd/gatehouse once per test run (the tests of any
// package under portal/ may call it: it finds the module root).
func Binary(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "plugins/embedded/wasm/builtin.wasm")); err != nil {
		t.Fatal("the built-in module is not built: run `make test` (or `make wasm` first)")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-portal-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		if out, err := exec.Command("go", "build", "-o", binPath, filepath.Join(root, "cmd/gatehouse")).CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// Server is a running `gatehouse serve --demo`: its URLs, break-glass
// token and working directory (the data directory is Dir/data).
type Server struct {
	Gateway, Admin, Portal, Token, Dir string
	stderr                             *bytes.Buffer
}

// StartDemo runs `gatehouse serve --demo` on loopback ports and waits
// until it is ready; it is stopped when the test ends.
func StartDemo(t *testing.T) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", "data", "--demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--portal-listen", "127.0.0.1:0", "--log-format", "json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=", "GATEHOUSE_MASTER_KEY=")
	s := &Server{Dir: dir, stderr: &bytes.Buffer{}}
	var mu sync.Mutex
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			s.stderr.Write(append(sc.Bytes(), '\n'))
			mu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "gateway ready" {
				ready <- m
			}
		}
	}()
	go func() { cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	select {
	case m := <-ready:
		s.Gateway, _ = m["url"].(string)
		s.Admin, _ = m["admin_url"].(string)
		s.Portal, _ = m["portal_url"].(string)
	case <-time.After(120 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("serve did not become ready:\n%s", s.stderr.String())
	}
	if s.Portal == "" {
		t.Fatal("no portal_url in the ready log line")
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s.Token = strings.TrimSpace(string(tok))
	return s
}

// AdminDo calls the admin API with the break-glass token; out may be nil.
func (s *Server) AdminDo(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.Admin+"/admin/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("admin %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
	}
}

// NewBrowser starts headless Chromium with the flags the brief fixes and
// a throw-away profile. Dialogs (alert, confirm) are recorded in dialogs
// and accepted.
func NewBrowser(t *testing.T) (context.Context, *[]string) {
	t.Helper()
	path := ChromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 8*time.Minute) // slow under load: every step has its own bound
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var mu sync.Mutex
	dialogs := &[]string{}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			*dialogs = append(*dialogs, ev.Message)
			mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx, dialogs
}

// Shots writes full-page PNGs when Dir is set (make screenshots sets
// GATEHOUSE_SCREENSHOTS).
type Shots struct {
	T   *testing.T
	Dir string
}

// Take writes DIR/name.png.
func (s Shots) Take(ctx context.Context, name string) {
	s.T.Helper()
	if s.Dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.T.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, name+".png"), buf, 0o644); err != nil {
		s.T.Fatal(err)
	}
}

// Run runs actions or fails the test naming what.
func Run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Text returns the visible text of the first element matching sel.
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Poll waits until a JavaScript expression is true.
func Poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))(ctx, tg)
		return chromedp.Void{}, err
	}
}
