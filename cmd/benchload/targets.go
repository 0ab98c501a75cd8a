package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPUs used when pinning: the servers share one core, wrk gets the other.
const (
	serverCPU    = "1"
	generatorCPU = "0"
)

// Names of the processes; the targets are what wrk measures.
const (
	nameBackend = "backend"
	nameBare    = "bare"
	nameGW0     = "gw-0"
	nameGW1     = "gw-1"
	nameGW4     = "gw-4"
	// nameGW4Log was the 4-policy gateway with the request log on when the
	// other gateways ran without it; every run-mode gateway now runs as
	// users run it (log on), and nameGW4NoLog is the extra row without it.
	nameGW4Log = "gw-4-log"
	// nameGW4NoLog is the catalog-mode 4-policy gateway with
	// --log-requests=false; nameGW4YAML the same chain from a YAML config
	// (--config) with the request log on.
	nameGW4NoLog = "gw-4-nolog"
	nameGW4YAML  = "gw-4-yaml"
	// nameCaddy is Caddy's reverse_proxy (the Debian package).
	nameCaddy = "caddy"
)

// benchKey is the subscription key of the gateways' configs.
const benchKey = "bench-key-0123456789abcdef0123456789abcdef"

// keyHeader carries benchKey; wrk sends it to every target.
const keyHeader = "Ocp-Apim-Subscription-Key"

// target is one process that wrk measures.
type target struct {
	Name     string `json:"name"`
	Policies int    `json:"policies"` // -1 for the bare proxy
	URL      string `json:"url"`      // what wrk requests
	Log      bool   `json:"request_log"`
	Mode     string `json:"mode,omitempty"` // catalog, yaml, go (bare), caddy
	Key      string `json:"-"`              // subscription key wrk sends; "" means benchKey
	proc     *proc
}

// key is the subscription key wrk sends to t.
func (t *target) key() string {
	if t.Key != "" {
		return t.Key
	}
	return benchKey
}

// proc is a child process in its own process group.
type proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time // just before exec
	logPath string
	// metricsURL is a catalog gateway's /metrics (admin listener), "" else.
	metricsURL string
	done       chan struct{} // closed when the process has exited
	waitErr    error
}

// Pid is the process id; with taskset the pinned program keeps taskset's pid
// (taskset execs it), so this is the process whose CPU is measured.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// exited reports whether the process is gone, and why.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// logTail returns the last lines of the process's output, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "--- " + p.logPath + " ---\n" + strings.Join(lines, "\n")
}

// stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if done, _ := p.exited(); done {
		return
	}
	pgid := p.cmd.Process.Pid // Setpgid: the group id is the leader's pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// procSet starts children and guarantees they are all stopped.
type procSet struct {
	pin   bool
	dir   string // logs go here
	mu    sync.Mutex
	procs []*proc
}

// start runs argv as a child in a new process group, pinned to serverCPU
// when pinning is on. Its output goes to DIR/NAME.log. The child is also
// sent SIGKILL by the kernel if the harness dies (Pdeathsig).
func (s *procSet) start(name string, argv ...string) (*proc, error) {
	return s.startEnv(name, nil, argv...)
}

// startEnv is start with extra environment variables (NAME=value).
func (s *procSet) startEnv(name string, env []string, argv ...string) (*proc, error) {
	if s.pin {
		argv = append([]string{"taskset", "-c", serverCPU}, argv...)
	}
	logPath := filepath.Join(s.dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s.procs = append(s.procs, p)
	go func() { p.waitErr = cmd.Wait(); close(p.done) }()
	return p, nil
}

// printLogs writes, for each child whose output has more than the harness's
// own header and the "listening on" line, the last lines of that output:
// warnings and errors the gateways logged during the run. It reports
// whether there were any.
func (s *procSet) printLogs(w io.Writer) bool {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	seen, any := map[string]bool{}, false
	for _, p := range procs {
		if seen[p.logPath] {
			continue // a restarted process appends to the same log
		}
		seen[p.logPath] = true
		b, _ := os.ReadFile(p.logPath)
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, "=== ") && !strings.Contains(l, ": listening on ") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(w, "\n--- %s logged %d line(s); the last ones:\n", p.name, len(lines))
		for _, l := range lines[max(0, len(lines)-8):] {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			fmt.Fprintln(w, l)
		}
	}
	return any
}

// copyLogs copies every child's output file into dir.
func (s *procSet) copyLogs(dir string) error {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range procs {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p.logPath)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// stopAll stops every child still running, in parallel.
func (s *procSet) stopAll() {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(3 * time.Second) }()
	}
	wg.Wait()
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago (the kernel picks it; the child binds it right after).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// gatewayConfig returns the YAML config of a gateway with 0, 1 or 4
// inbound policies in front of backendURL.
func gatewayConfig(policies int, backendURL string) (string, error) {
	var chain string
	switch policies {
	case 0:
	case 1:
		chain = `    policies:
      inbound:
        - policy: set-header
          config: {name: X-Bench, value: "1"}
`
	case 4:
		// The chain, as catalogDoc's 4-policy document.
		chain = `    policies:
      inbound:
        - policy: subscription-key
        - policy: rate-limit-by-key
          config: {calls: 1000000000, renewal_period: 60, counter_key: subscription}
        - policy: set-header
          config: {name: X-Bench, value: "1"}
      outbound:
        - policy: set-header
          config: {name: ` + outHeader + `, value: "1", phase: response}
`
	default:
		return "", fmt.Errorf("no config with %d policies", policies)
	}
	return fmt.Sprintf(`# written by benchload: %d-policy gateway
apis:
  - name: bench
    path: /bench
    backend: %s
%ssubscriptions:
  - {id: bench, key: %s}
`, policies, backendURL, chain, benchKey), nil
}

// startGateway writes the config of a gateway with the given number of
// policies and starts it on a free port with its data dir under dir.
func (s *procSet) startGateway(gatehouse, dir, name string, policies int, backendURL string, logRequests bool) (*proc, string, error) {
	cfg, err := gatewayConfig(policies, backendURL)
	if err != nil {
		return nil, "", err
	}
	p, addr, err := s.startGatewayConfig(gatehouse, dir, name, cfg, logRequests)
	if err != nil {
		return nil, "", err
	}
	return p, "http://" + addr + "/bench/", nil
}

// startGatewayConfig writes cfg to DIR/NAME.yaml and starts a gateway
// serving it on a free port (returned as host:port), with its data dir
// under dir.
func (s *procSet) startGatewayConfig(gatehouse, dir, name, cfg string, logRequests bool) (*proc, string, error) {
	cfgPath := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := s.start(name, gatehouse, "serve",
		"--data", filepath.Join(dir, name+"-data"),
		"--listen", addr, "--config", cfgPath, "--log-level", "warn",
		"--log-requests="+strconv.FormatBool(logRequests), "--ops-listen=")
	if err != nil {
		return nil, "", err
	}
	return p, addr, nil
}

// probeClient is used outside the measured runs only.
var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// get does one GET with the subscription key (unless key is empty) and
// returns the status and body.
func get(ctx context.Context, url, key string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if key != "" {
		req.Header.Set(keyHeader, key)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// waitReady polls url (with the key) until it answers 200 OK, the process
// exits, ctx ends or timeout passes. It returns the time from the process's
// exec to that first 200.
func waitReady(ctx context.Context, p *proc, url string, timeout time.Duration) (time.Duration, error) {
	return waitReadyFunc(ctx, p, timeout, http.StatusOK, func() (int, error) {
		status, _, err := get(ctx, url, benchKey)
		return status, err
	})
}

// giveUp, returned by a waitReadyFunc probe, ends the wait at once.
type giveUp struct{ msg string }

func (g giveUp) Error() string { return g.msg }

// waitReadyFunc polls probe until it returns the status want; see waitReady.
func waitReadyFunc(ctx context.Context, p *proc, timeout time.Duration, want int, probe func() (int, error)) (time.Duration, error) {
	deadline := p.started.Add(timeout)
	var last string
	for {
		if done, err := p.exited(); done {
			return 0, fmt.Errorf("%s exited before it was ready (%v)\n%s", p.name, err, p.logTail())
		}
		status, err := probe()
		var stop giveUp
		if errors.As(err, &stop) {
			return 0, fmt.Errorf("%s: %v\n%s", p.name, err, p.logTail())
		}
		if err == nil && status == want {
			return time.Since(p.started), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "HTTP " + strconv.Itoa(status)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not ready after %v (last: %s)\n%s", p.name, timeout, last, p.logTail())
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// checkTarget makes sure a target proxies correctly before it is measured,
// so that a fast wrong answer (401, 404, 502) cannot pass for throughput.
// It returns notes on what it verified, and an error if the target is unfit.
func checkTarget(ctx context.Context, t *target) ([]string, error) {
	status, body, err := get(ctx, t.URL, t.key())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", t.Name, err)
	}
	if status != http.StatusOK || body != backendBody {
		return nil, fmt.Errorf("%s: GET %s = %d %q, want 200 and the backend's body", t.Name, t.URL, status, body)
	}
	notes := []string{"200 + backend body"}
	echoURL := strings.TrimSuffix(t.URL, "/") + echoPath
	_, echo, err := get(ctx, echoURL, t.key())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", t.Name, err)
	}
	if !strings.HasPrefix(echo, "GET "+echoPath+"\n") {
		return nil, fmt.Errorf("%s: backend saw %q, want GET %s (prefix not stripped?)", t.Name, firstLine(echo), echoPath)
	}
	if t.Policies >= 1 {
		if !strings.Contains(echo, "\nX-Bench: 1\n") {
			return nil, fmt.Errorf("%s: set-header policy did not reach the backend:\n%s", t.Name, echo)
		}
		notes = append(notes, "X-Bench set")
	}
	if t.Policies >= 4 {
		status, _, err := get(ctx, t.URL, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.Name, err)
		}
		if status != http.StatusUnauthorized {
			return nil, fmt.Errorf("%s: without a key got %d, want 401 (subscription-key not enforced?)", t.Name, status)
		}
		notes = append(notes, "401 without key")
		if err := checkOutHeader(ctx, t); err != nil {
			return nil, err
		}
		notes = append(notes, outHeader+" in the answer")
	}
	return notes, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
