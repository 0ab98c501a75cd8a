package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/hosttest"
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
		{[]string{"plugin", "validate", good}, exitOK, []string{"abi:           v1.2", "entry points:  on_request, on_response", "capabilities:  config, http, log", "ok"}},
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

func TestJWKSClientEgress(t *testing.T) {
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"keys":[]}`) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, _, err := newEgress([]string{"10.0.0.1/8"}, quiet); err == nil || !strings.Contains(err.Error(), "--egress-allow") {
		t.Errorf("bad --egress-allow: %v", err)
	}
	_, strict, err := newEgress(nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, allowed, err := newEgress([]string{ln.Addr().String()}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Get("http://" + ln.Addr().String() + "/jwks"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("loopback JWKS without --egress-allow: %v", err)
	}
	if resp, err := allowed.Get("http://" + ln.Addr().String() + "/jwks"); err != nil {
		t.Errorf("loopback JWKS allowed by --egress-allow: %v", err)
	} else {
		resp.Body.Close()
	}
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/", "http://0.0.0.0:80/", "http://[::ffff:169.254.169.254]/"} {
		start := time.Now()
		_, err := allowed.Get(u)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: err = %v; want a refusal", u, err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s: refusal took %v", u, time.Since(start))
		}
	}
}
