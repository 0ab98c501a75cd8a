package setmethod_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setmethod"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setmethod.Name, setmethod.New) }

func TestSetMethod(t *testing.T) {
	for cfg, want := range map[string]string{`{"method":"POST"}`: "POST", `{"method":"patch"}`: "PATCH", `{"method":"PURGE"}`: "PURGE"} {
		res := sdktest.New().Do(sdktest.Request{Method: "GET"}, sdktest.Attach(setmethod.Name, cfg))
		if res.Err != nil || res.Upstream.Method != want {
			t.Errorf("%s: err %v, upstream %+v", cfg, res.Err, res.Upstream)
		}
		if res.Calls[1].Result&abi.FlagNoHandler == 0 {
			t.Errorf("%s: response phase not marked unhandled", cfg)
		}
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "method is required"},
		{`{"method":"GE T"}`, "not a valid HTTP method"},
		{`{"method":"GET\r\nX: y"}`, "not a valid HTTP method"},
		{`{"method":"` + strings.Repeat("A", 33) + `"}`, "not a valid HTTP method"},
		{`{"method":1}`, `field "method": expected a string`},
		{`{"verb":"GET"}`, `unknown field "verb"`},
	} {
		_, err := setmethod.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(setmethod.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran", tc.config)
		}
	}
}
