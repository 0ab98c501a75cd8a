package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func TestExampleConfigsParseAndValidate(t *testing.T) {
	for _, p := range []string{"examples/gateway.yaml"} {
		b, err := os.ReadFile(filepath.Join(hosttest.RepoRoot(), p))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gateway.ParseYAML(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i := range c.APIs {
			c.APIs[i].Backend = strings.ReplaceAll(c.APIs[i].Backend, "${ECHO_BACKEND}", "http://127.0.0.1:9")
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"apis: [{name: a, path: /a, backend: http://x, bogus: 1}]", "field bogus not found"},
		{"apis: [{name: a, path: /a, backend: 'file:///etc/passwd'}]", `apis[0].backend: scheme must be http or https, not "file"`},
		{"apis: [{name: a, path: /a, backend: 'http://169.254.169.254/'}]", "apis[0].backend: address 169.254.169.254 is link-local"},
		{"apis: [{name: a, path: /a, backend: 'http://u:p@x/'}]", "must not carry credentials"},
		{"apis: [{name: a, path: a, backend: http://x}]", "apis[0].path: must start with /"},
		{"apis: [{name: a, path: /a, backend: http://x}, {name: a, path: /a, backend: http://x}]", `apis[1].name: duplicate API "a"`},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [basis]}}]", "a step is `base` or a mapping"},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [{policy: p, module: nope}]}}]", `apis[0].policies.inbound[0].module: unknown module "nope"`},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [{policy: p, fail_mode: maybe}]}}]", "fail_mode: must be closed, open or fallback"},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [{policy: p, fail_mode: fallback}]}}]", "fallback.status"},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [{policy: p, timeout: 5m}]}}]", "timeout: must be between 0 and 30s"},
		{"apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [base, base]}}]", "base appears 2 times"},
		{"apis: [{name: a, path: /a, backend: http://x, operations: [{id: o, method: BREW, template: /x}]}]", `unsupported method "BREW"`},
		{"apis: [{name: a, path: /a, backend: http://x, body_limit: -1}]", "body_limit"},
		{"- just a list", "cannot unmarshal"},
	}
	for _, c := range cases {
		cfg, err := gateway.ParseYAML([]byte(c.yaml))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  got  %v\n  want %q", c.yaml, err, c.want)
		}
	}
}

func FuzzParseYAML(f *testing.F) {
	for _, p := range []string{"examples/gateway.yaml"} {
		if b, err := os.ReadFile(filepath.Join(hosttest.RepoRoot(), p)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apis: [{name: a, path: /a, backend: http://x, policies: {inbound: [base, {policy: p, config: {a: [1, 2]}}]}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := gateway.ParseYAML(b)
		if err != nil {
			return
		}
		_ = c.Validate()
	})
}
