package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// demoState is the --demo setup: an echo backend on loopback and a config
// file in the data dir that points at it.
type demoState struct {
	log     *slog.Logger
	cfgPath string
	key     string
	echo    *http.Server
	echoURL string
}

func startDemo(data string, log *slog.Logger) (*demoState, error) {
	d := &demoState{log: log, cfgPath: filepath.Join(data, "demo.yaml")}
	keyPath := filepath.Join(data, "demo-key")
	if b, err := os.ReadFile(keyPath); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		d.key = strings.TrimSpace(string(b))
	} else {
		d.key = randomKey("gh_demo_")
		if err := os.WriteFile(keyPath, []byte(d.key+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(d.cfgPath); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(d.cfgPath, demoConfig, 0o600); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.echoURL = "http://" + ln.Addr().String()
	d.echo = &http.Server{Handler: http.HandlerFunc(echoHandler), ReadHeaderTimeout: 5 * time.Second}
	go d.echo.Serve(ln)
	return d, nil
}

func (d *demoState) close() { d.echo.Close() }

func (d *demoState) source() gateway.Source {
	return &gateway.FileSource{Path: d.cfgPath, Mutate: d.mutate}
}

func (d *demoState) mutate(c *gateway.Config) {
	for i := range c.APIs {
		c.APIs[i].Backend = strings.ReplaceAll(c.APIs[i].Backend, "${ECHO_BACKEND}", d.echoURL)
	}
	for i := range c.Subscriptions {
		c.Subscriptions[i].Key = strings.ReplaceAll(c.Subscriptions[i].Key, "${DEMO_KEY}", d.key)
	}
	// Example modules are built into bin/ of the checkout; resolve them
	// from the working directory, and leave out any that is not built.
	missing := map[string]bool{}
	kept := c.Modules[:0]
	for _, m := range c.Modules {
		if strings.HasPrefix(m.Path, "bin/") {
			if abs, err := filepath.Abs(m.Path); err == nil {
				m.Path = abs
			}
		}
		if _, err := os.Stat(m.Path); err != nil && m.Wasm == nil && filepath.IsAbs(m.Path) {
			d.log.Warn("demo: module not built; leaving it out (run make build)", "module", m.Name, "path", m.Path)
			missing[m.Name] = true
			continue
		}
		kept = append(kept, m)
	}
	c.Modules = kept
	if len(missing) > 0 {
		drop := func(p *gateway.Policy) {
			for _, sec := range []*[]gateway.Step{&p.Inbound, &p.Backend, &p.Outbound, &p.OnError} {
				out := (*sec)[:0]
				for _, s := range *sec {
					if !missing[s.Module] {
						out = append(out, s)
					}
				}
				*sec = out
			}
		}
		drop(&c.Policies)
		for i := range c.APIs {
			drop(&c.APIs[i].Policies)
			for j := range c.APIs[i].Operations {
				drop(&c.APIs[i].Operations[j].Policies)
			}
		}
	}
}

func (d *demoState) printWelcome(w io.Writer, gatewayURL string) {
	fmt.Fprintf(w, `
Gatehouse demo is running.
  gateway:      %s
  echo backend: %s (loopback only)
  config:       %s (edit it; changes apply within a second)

Call the echo API with the demo subscription key:

  curl -i -H 'Ocp-Apim-Subscription-Key: %s' %s/echo/items/42

Without the key you get 401; more than 5 calls in 10 s get 429;
a User-Agent containing BadBot gets 403 from the example policy.

`, gatewayURL, d.echoURL, d.cfgPath, d.key, gatewayURL)
}

// echoHandler answers with what it received, as JSON.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	hdr := map[string]string{}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hdr[k] = strings.Join(r.Header[k], ", ")
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{
		"method":  r.Method,
		"path":    r.URL.Path,
		"query":   r.URL.RawQuery,
		"headers": hdr,
		"body":    string(body),
	})
}
