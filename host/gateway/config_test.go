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
		{"apis: [{name: a, path: /a, backend: 'file:///etc/passwd'}]", `apis[0].backend: invalid URL: scheme must be http or https, not "file"`},
		{"apis: [{name: a, path: /a, backend: 'http://169.254.169.254/'}]", "apis[0].backend: egress to 169.254.169.254:80 refused: 169.254.169.254 is a cloud metadata address"},
		{"apis: [{name: a, path: /a, backend: 'http://2852039166/'}]", "apis[0].backend: invalid URL: host \"2852039166\" is a non-canonical form of the IPv4 address 169.254.169.254"},
		{"apis: [{name: a, path: /a, backend: 'http://[fe80::1]/', egress_allow: ['fe80::/64', '10.0.0.1/8']}]", "apis[0].egress_allow: egress allow entry 1 (\"10.0.0.1/8\"): host bits set; write 10.0.0.0/8"},
		{"egress_allow: [nope@x]\napis: [{name: a, path: /a, backend: 'http://x'}]", "egress_allow: egress allow entry 0"},
		{"apis: [{name: a, path: /a, backend: 'http://u:p@x/'}]", "apis[0].backend: invalid URL: must not contain user info"},
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

// An API's own backend on loopback or a private network is the admin's
// choice and valid; link-local and metadata backends need an allow entry
// (per API, global, or allow_private_backend for all but metadata).
func TestConfigBackendEgress(t *testing.T) {
	for yaml, ok := range map[string]bool{
		"apis: [{name: a, path: /a, backend: 'http://127.0.0.1:8081'}]":                                        true,
		"apis: [{name: a, path: /a, backend: 'http://10.1.2.3/v1'}]":                                           true,
		"apis: [{name: a, path: /a, backend: 'http://LOCALHOST.:8081'}]":                                       true,
		"apis: [{name: a, path: /a, backend: 'http://[fe80::1]/'}]":                                            false,
		"apis: [{name: a, path: /a, backend: 'http://[fe80::1]/', egress_allow: ['fe80::/64']}]":               true,
		"egress_allow: ['fe80::/10']\napis: [{name: a, path: /a, backend: 'http://[fe80::1]/'}]":               true,
		"apis: [{name: a, path: /a, backend: 'http://169.254.1.1/', allow_private_backend: true}]":             true,
		"apis: [{name: a, path: /a, backend: 'http://169.254.169.254/', allow_private_backend: true}]":         false,
		"apis: [{name: a, path: /a, backend: 'http://169.254.169.254/', egress_allow: ['169.254.169.254']}]":   true,
		"apis: [{name: a, path: /a, backend: 'http://0xa9fea9fe/', egress_allow: ['169.254.169.254']}]":        false,
		"apis: [{name: a, path: /a, backend: 'http://0.0.0.0:8080/', egress_allow: ['0.0.0.0/0']}]":            false,
		"apis: [{name: a, path: /a, backend: 'http://127.1:8080/'}]":                                           false,
		"apis: [{name: a, path: /a, backend: 'http://x.example/', egress_allow: ['*.corp', '10.0.0.5:8443']}]": true,
	} {
		cfg, err := gateway.ParseYAML([]byte(yaml))
		if err == nil {
			err = cfg.Validate()
		}
		if (err == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", yaml, err, ok)
		}
	}
}
