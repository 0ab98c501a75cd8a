package checkheader_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/checkheader"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(checkheader.Name, checkheader.New) }

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		config string
		header http.Header
		status int
		body   string
	}{
		{`{"name":"X-Version","values":["1","2"]}`, http.Header{"X-Version": {"2"}}, 200, "ok"},
		{`{"name":"X-Version","values":["1","2"]}`, http.Header{"X-Version": {"3"}}, 401, `{"statusCode":401,"message":"Unauthorized"}`},
		{`{"name":"X-Version","values":["1","2"]}`, nil, 401, `{"statusCode":401,"message":"Unauthorized"}`},
		{`{"name":"x-version"}`, http.Header{"X-Version": {""}}, 200, "ok"},
		{`{"name":"X-Version"}`, nil, 401, `{"statusCode":401,"message":"Unauthorized"}`},
		{`{"name":"X-Key","values":["Secret"]}`, http.Header{"X-Key": {"secret"}}, 401, `{"statusCode":401,"message":"Unauthorized"}`},
		{`{"name":"X-Key","values":["Secret"],"ignore_case":true}`, http.Header{"X-Key": {"sECRET"}}, 200, "ok"},
		{`{"name":"X-Key","values":["a"],"failed_check_httpcode":403,"failed_check_error_message":"Go \"away\""}`,
			http.Header{"X-Key": {"b"}}, 403, `{"statusCode":403,"message":"Go \"away\""}`},
		{`{"name":"X-Key","values":["a"],"failed_check_error_message":""}`, nil, 401, `{"statusCode":401,"message":""}`},
		// The first value is checked.
		{`{"name":"X-Key","values":["a"]}`, http.Header{"X-Key": {"b", "a"}}, 401, `{"statusCode":401,"message":"Unauthorized"}`},
	} {
		res := sdktest.New().Do(sdktest.Request{Header: tc.header}, sdktest.Attach(checkheader.Name, tc.config))
		if res.Err != nil {
			t.Fatalf("%s: %v", tc.config, res.Err)
		}
		if res.Status != tc.status || string(res.Body) != tc.body {
			t.Errorf("%s %v: %d %s, want %d %s", tc.config, tc.header, res.Status, res.Body, tc.status, tc.body)
		}
		if tc.status != 200 && (res.Upstream != nil || res.Header.Get("Content-Type") != "application/json") {
			t.Errorf("%s: not answered as JSON: %+v", tc.config, res)
		}
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "name is required"},
		{`{"name":"X A"}`, "not a valid header name"},
		{`{"name":"X-A","failed_check_httpcode":200}`, "failed_check_httpcode must be 400 to 599"},
		{`{"name":"X-A","failed_check_httpcode":600}`, "failed_check_httpcode"},
		{`{"name":"X-A","values":["a\r\nb"]}`, "values[0] must not contain CR, LF or NUL"},
		{`{"name":"X-A","values":"a"}`, `field "values": expected a list`},
		{`{"name":"X-A","ignore_case":"yes"}`, `field "ignore_case"`},
		{`{"name":"X-A","value":["a"]}`, `unknown field "value"`},
	} {
		_, err := checkheader.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(checkheader.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran: %+v", tc.config, res)
		}
	}
}
