package setbackendservice_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setbackendservice"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setbackendservice.Name, setbackendservice.New) }

func TestSetBackend(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{Method: "GET", Path: "/pets/1?x=1", PathPrefix: "/pets", Backend: "https://api.example.com"},
		sdktest.Attach(setbackendservice.Name, `{"base_url":"http://eu.backend.example.com:8080/v2"}`))
	if res.Err != nil || res.Upstream == nil {
		t.Fatalf("err %v", res.Err)
	}
	if u := res.Upstream; u.BackendURL != "http://eu.backend.example.com:8080/v2" || u.Path != "/1" || u.Query != "x=1" {
		t.Errorf("upstream %+v", u)
	}
	if res.Calls[1].Result&abi.FlagNoHandler == 0 {
		t.Errorf("response phase not marked unhandled")
	}
	// without the policy: the API's backend
	res = h.Do(sdktest.Request{Backend: "https://api.example.com"})
	if res.Upstream.BackendURL != "https://api.example.com" {
		t.Errorf("default backend %q", res.Upstream.BackendURL)
	}
}

// The host refuses metadata, link-local and private addresses unless the
// API's egress allow-list names them: the policy then fails closed.
func TestHostRefusesPrivate(t *testing.T) {
	cfg := `{"base_url":"http://169.254.169.254/latest"}`
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(setbackendservice.Name, cfg))
	if res.Err == nil || res.Upstream != nil || res.Status != 500 {
		t.Errorf("metadata backend accepted: %+v", res)
	}
	// allow_private_backend opens private networks, not the metadata
	// address: only an allow entry naming it does.
	res = sdktest.New().Do(sdktest.Request{AllowPrivateBackend: true}, sdktest.Attach(setbackendservice.Name, cfg))
	if res.Err == nil {
		t.Errorf("metadata backend accepted with allow_private_backend: %+v", res)
	}
	res = sdktest.New().Do(sdktest.Request{AllowPrivateBackend: true}, sdktest.Attach(setbackendservice.Name, `{"base_url":"http://10.1.2.3/v1"}`))
	if res.Err != nil || res.Upstream.BackendURL != "http://10.1.2.3/v1" {
		t.Errorf("private backend with allow_private_backend: %v", res.Err)
	}
	res = sdktest.New().Do(sdktest.Request{EgressAllow: []string{"169.254.169.254"}}, sdktest.Attach(setbackendservice.Name, cfg))
	if res.Err != nil || res.Upstream.BackendURL != "http://169.254.169.254/latest" {
		t.Errorf("allow-listed metadata backend refused: %v", res.Err)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "base_url is required"},
		{`{"base_url":"ftp://x"}`, "scheme must be http or https"},
		{`{"base_url":"https://u:p@x"}`, "user info"},
		{`{"base_url":"https://x/?a=1"}`, "query"},
		{`{"base_url":"https://x/#a"}`, "fragment"},
		{`{"base_url":"https://"}`, "absolute URL with a host"},
		{`{"base_url":"http://2852039166/"}`, "non-canonical form of the IPv4 address 169.254.169.254"},
		{`{"base_url":"http://good@evil/"}`, "user info"},
		{`{"base_url":"https://x/\r\n"}`, "control character"},
		{`{"base_url":"https://x/` + strings.Repeat("a", 2048) + `"}`, "longer than"},
		{`{"url":"https://x"}`, `unknown field "url"`},
	} {
		_, err := setbackendservice.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
