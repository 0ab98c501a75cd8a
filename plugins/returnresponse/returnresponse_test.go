package returnresponse_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/returnresponse"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(returnresponse.Name, returnresponse.New) }

func TestAnswer(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Path: "/maintenance", Header: http.Header{"X-Id": {"abc"}}},
		sdktest.Attach(returnresponse.Name, `{"status":503,"headers":{"Retry-After":"120","x-reason":"maintenance"},
			"body":"{{\"id\":\"{header.X-Id}\",\"path\":\"{request.path}\"}}","content_type":"application/json"}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !res.Answered || res.Upstream != nil || res.Status != 503 {
		t.Errorf("answered %v upstream %v status %d", res.Answered, res.Upstream, res.Status)
	}
	if string(res.Body) != `{"id":"abc","path":"/maintenance"}` {
		t.Errorf("body = %s", res.Body)
	}
	for k, v := range map[string]string{"Retry-After": "120", "X-Reason": "maintenance", "Content-Type": "application/json"} {
		if res.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, res.Header.Get(k), v)
		}
	}
}

func TestDefaults(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(returnresponse.Name, `{}`))
	if res.Err != nil || !res.Answered || res.Status != 200 || len(res.Body) != 0 {
		t.Errorf("%+v", res)
	}
}

func TestTooLarge(t *testing.T) {
	h := sdktest.New()
	h.OutputLimit = 4
	res := h.Do(sdktest.Request{}, sdktest.Attach(returnresponse.Name, `{"body":"hello"}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("err %v status %d", res.Err, res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"status":99}`, "status 99"},
		{`{"status":600}`, "status 600"},
		{`{"headers":{"Bad Name":"v"}}`, "not a valid header name"},
		{`{"headers":{"Content-Length":"1"}}`, "hop-by-hop"},
		{`{"headers":{"X-A":"a\r\nX-B: b"}}`, "headers[X-A] must not contain CR, LF or NUL"},
		{`{"headers":{"X-A":1}}`, `expected a string`},
		{`{"content_type":"a\nb"}`, "content_type must not contain"},
		{`{"body":"{header.}"}`, "body: unknown reference"},
		{`{"status":"200"}`, `field "status": expected a number`},
		{`{"code":200}`, `unknown field "code"`},
	} {
		_, err := returnresponse.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(returnresponse.Name, tc.config))
		if res.Err == nil || res.Status != 500 {
			t.Errorf("%s: chain ran", tc.config)
		}
	}
}
