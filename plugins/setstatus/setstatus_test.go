package setstatus_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setstatus"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setstatus.Name, setstatus.New) }

func TestSetStatus(t *testing.T) {
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response { return sdktest.Response{Status: 500, Body: []byte("boom")} })
	res := sdktest.New().Do(sdktest.Request{}, back, sdktest.Attach(setstatus.Name, `{"code":503,"reason":"Service Unavailable"}`))
	if res.Err != nil || res.Status != 503 || string(res.Body) != "boom" {
		t.Errorf("err %v, status %d, body %q", res.Err, res.Status, res.Body)
	}
	if res.Upstream == nil {
		t.Error("backend skipped")
	}
	if res.Calls[0].Result&abi.FlagNoHandler == 0 {
		t.Errorf("request phase not marked unhandled: %v", res.Calls)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "code 0: want 100-599"},
		{`{"code":99}`, "code 99"},
		{`{"code":600}`, "code 600"},
		{`{"code":200,"reason":"OK\r\nX-Evil: 1"}`, "reason must not contain CR, LF or NUL"},
		{`{"code":200,"reason":"` + strings.Repeat("r", 257) + `"}`, "reason is longer"},
		{`{"code":"200"}`, `field "code": expected a number`},
		{`{"code":200,"status":1}`, `unknown field "status"`},
	} {
		_, err := setstatus.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
