package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// benchAdminToken is the admin token of the catalog-mode gateways
// (GATEHOUSE_ADMIN_TOKEN; only their loopback admin listeners see it).
const benchAdminToken = "benchload-admin-token-0123456789"

// outHeader is what the 4-policy chain's outbound set-header adds to the
// answer; checkCatalogTarget looks for it.
const outHeader = "X-Bench-Out"

// catalogDoc returns the declarative document (gatehouse apply) of the
// catalog-mode gateway with 0, 1 or 4 policies: the chain is
// subscription-key (from subscriptionRequired), rate-limit-by-key per
// subscription, set-header on the request and set-header on the response.
func catalogDoc(policies int, backendURL string) (string, error) {
	var required, policy string
	switch policies {
	case 0:
		required = "false"
	case 1:
		required = "false"
		policy = `    policy:
      inbound:
        - base: true
        - module: builtin
          policy: set-header
          config: {name: X-Bench, value: "1"}
`
	case 4:
		required = "true"
		policy = `    policy:
      inbound:
        - base: true
        - module: builtin
          policy: rate-limit-by-key
          config: {calls: 1000000000, renewal_period: 60, counter_key: subscription}
        - module: builtin
          policy: set-header
          config: {name: X-Bench, value: "1"}
      outbound:
        - base: true
        - module: builtin
          policy: set-header
          config: {name: ` + outHeader + `, value: "1", phase: response}
`
	default:
		return "", fmt.Errorf("no catalog document with %d policies", policies)
	}
	return fmt.Sprintf(`version: 1
users:
  - {id: bench, email: bench@example.com, name: Bench}
apis:
  - id: bench
    name: Bench
    pathPrefix: /bench
    backendUrl: %s
    subscriptionRequired: %s
%s`, backendURL, required, policy), nil
}

// startCatalogGateway starts `gatehouse serve` on the SQLite catalog as a
// user runs it (request log, metrics and trace context on: the defaults,
// unless logRequests is false), applies the bench API through the admin
// API, creates a subscription and returns the process, the URL wrk requests
// and the subscription's key. It waits until the gateway answers 200.
// extra are more serve flags (the tls mode's --tls-listen, --tls-cert, …).
func (s *procSet) startCatalogGateway(ctx context.Context, gatehouse, dir, name string, policies int, backendURL string, logRequests bool, extra ...string) (*proc, string, string, error) {
	doc, err := catalogDoc(policies, backendURL)
	if err != nil {
		return nil, "", "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	argv := append([]string{gatehouse, "serve",
		"--data", filepath.Join(dir, name+"-data"),
		"--listen", addr, "--admin-listen", admin, "--portal-listen=", "--log-level", "warn",
		"--log-requests=" + strconv.FormatBool(logRequests)}, extra...)
	p, err := s.startEnv(name, []string{"GATEHOUSE_ADMIN_TOKEN=" + benchAdminToken}, argv...)
	if err != nil {
		return nil, "", "", err
	}
	adminURL := "http://" + admin + "/admin/v1"
	p.metricsURL = "http://" + admin + "/metrics"
	if _, err := waitReadyFunc(ctx, p, 15*time.Second, http.StatusOK, func() (int, error) {
		st, _, err := adminCall(ctx, http.MethodGet, adminURL+"/apis", "", nil)
		return st, err
	}); err != nil {
		return nil, "", "", err
	}
	if st, body, err := adminCall(ctx, http.MethodPost, adminURL+"/apply", "application/yaml", []byte(doc)); err != nil || st != http.StatusOK {
		return nil, "", "", fmt.Errorf("%s: apply: %d %s %v", name, st, body, err)
	}
	key := ""
	if policies == 4 {
		sub := []byte(`{"id":"bench","userId":"bench","name":"bench","scope":"all","state":"active"}`)
		st, body, err := adminCall(ctx, http.MethodPost, adminURL+"/subscriptions", "application/json", sub)
		if err != nil || st != http.StatusCreated {
			return nil, "", "", fmt.Errorf("%s: create subscription: %d %s %v", name, st, body, err)
		}
		var created struct {
			PrimaryKey string `json:"primaryKey"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.PrimaryKey == "" {
			return nil, "", "", fmt.Errorf("%s: no key in %s (%v)", name, body, err)
		}
		key = created.PrimaryKey
	}
	url := "http://" + addr + "/bench/"
	if _, err := waitReadyFunc(ctx, p, 15*time.Second, http.StatusOK, func() (int, error) {
		st, _, err := get(ctx, url, key)
		return st, err
	}); err != nil {
		return nil, "", "", err
	}
	return p, url, key, nil
}

// adminCall does one admin API call with the bench token.
func adminCall(ctx context.Context, method, url, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchAdminToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// checkOutHeader verifies that the 4-policy chain's outbound step ran.
func checkOutHeader(ctx context.Context, t *target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set(keyHeader, t.key())
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.Header.Get(outHeader) != "1" {
		return fmt.Errorf("%s: the answer lacks %s: 1 (outbound set-header did not run)", t.Name, outHeader)
	}
	return nil
}

// caddyfile is the configuration of the Caddy target: reverse_proxy with
// its defaults, no admin endpoint, no automatic HTTPS, no access log.
func caddyfile(addr, backendAddr string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
}

http://%s {
	reverse_proxy %s
}
`, addr, backendAddr)
}

// startCaddy starts Caddy's reverse_proxy in front of the backend, or
// returns an error saying why it cannot (the caller skips the row loudly).
func (s *procSet) startCaddy(dir, backendURL string) (*proc, string, error) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		return nil, "", fmt.Errorf("caddy not found in PATH (scripts/bench.sh installs the Debian package caddy)")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile(addr, strings.TrimPrefix(backendURL, "http://"))), 0o644); err != nil {
		return nil, "", err
	}
	home := filepath.Join(dir, "caddy-home")
	p, err := s.startEnv(nameCaddy, []string{"HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CONFIG_HOME=" + home},
		bin, "run", "--config", cfg, "--adapter", "caddyfile")
	if err != nil {
		return nil, "", err
	}
	return p, "http://" + addr + "/", nil
}

// guestMemoryPerInstance reads a catalog gateway's metrics (the admin
// listener's /metrics): its guest instances' resident linear memory and
// how many there are. ok is false when the gateway does not report them
// (a build before engine_guest_memory_resident_bytes).
func guestMemoryPerInstance(ctx context.Context, p *proc) (residentMiB float64, instances int, ok bool) {
	if p == nil || p.metricsURL == "" {
		return 0, 0, false
	}
	st, body, err := adminCall(ctx, http.MethodGet, p.metricsURL, "", nil)
	if err != nil || st != http.StatusOK {
		return 0, 0, false
	}
	var res, live float64
	var haveRes, haveLive bool
	for _, line := range strings.Split(string(body), "\n") {
		name, val, found := strings.Cut(line, " ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "gatehouse_engine_guest_memory_resident_bytes":
			res, haveRes = v, true
		case "gatehouse_engine_live_instances":
			live, haveLive = v, true
		}
	}
	if !haveRes || !haveLive || live < 1 {
		return 0, 0, false
	}
	return res / live / (1 << 20), int(live), true
}
