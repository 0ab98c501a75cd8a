package mockresponse_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/mockresponse"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(mockresponse.Name, mockresponse.New) }

func TestMock(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{}, sdktest.Attach(mockresponse.Name, `{"example":"{\"id\":1}"}`))
	if res.Err != nil || !res.Answered || res.Upstream != nil || res.Status != 200 || string(res.Body) != `{"id":1}` ||
		res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%+v", res)
	}
	res = h.Do(sdktest.Request{}, sdktest.Attach(mockresponse.Name, `{"status_code":404,"content_type":""}`))
	if !res.Answered || res.Status != 404 || len(res.Body) != 0 || res.Header.Get("Content-Type") != "" {
		t.Errorf("%+v", res)
	}
	res = h.Do(sdktest.Request{}, sdktest.Attach(mockresponse.Name, `{"status_code":201,"content_type":"application/xml","example":"<a/>"}`))
	if res.Status != 201 || string(res.Body) != "<a/>" || res.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("%+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"status_code":99}`, "status_code 99"},
		{`{"status_code":600}`, "status_code 600"},
		{`{"content_type":"text/plain\r\nX-A: 1"}`, "content_type must not contain CR, LF or NUL"},
		{`{"content_type":"a\u0000"}`, "content_type must not contain"},
		{`{"example":"` + strings.Repeat("x", mockresponse.MaxExample+1) + `"}`, "example is"},
		{`{"status":200}`, `unknown field "status"`},
	} {
		if _, err := mockresponse.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%.60s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
