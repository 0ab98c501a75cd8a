package setbody_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/setbody"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setbody.Name, setbody.New) }

func TestRequestBody(t *testing.T) {
	req := sdktest.Request{Method: "POST", Path: "/orders/7", Body: []byte("old"), Header: http.Header{"X-User": {"alice"}, "Content-Type": {"text/plain"}},
		Params: map[string]string{"id": "7"}}
	res := sdktest.New().Do(req, sdktest.Attach(setbody.Name,
		`{"template":"{{\"user\":\"{header.X-User}\",\"order\":{path.id}}}","content_type":"application/json"}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := string(res.Upstream.Body); got != `{"user":"alice","order":7}` {
		t.Errorf("body = %s", got)
	}
	if ct := res.Upstream.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestResponseBody(t *testing.T) {
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"secret":1}`)}
	})
	res := sdktest.New().Do(sdktest.Request{Path: "/p"}, back,
		sdktest.Attach(setbody.Name, `{"template":"hidden {request.method} {request.path}","phase":"response"}`))
	if res.Err != nil || string(res.Body) != "hidden GET /p" {
		t.Errorf("err %v body %q", res.Err, res.Body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Error("Content-Type changed without content_type")
	}
	if string(res.Upstream.Body) != "" {
		t.Error("request body changed")
	}
}

func TestEmptyBody(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte("x")}, sdktest.Attach(setbody.Name, `{"template":""}`))
	if res.Err != nil || len(res.Upstream.Body) != 0 {
		t.Errorf("err %v body %q", res.Err, res.Upstream.Body)
	}
}

func TestTooLarge(t *testing.T) {
	h := sdktest.New()
	h.OutputLimit = 10
	res := h.Do(sdktest.Request{Vars: map[string]string{"v": strings.Repeat("x", 11)}}, sdktest.Attach(setbody.Name, `{"template":"{var.v}"}`))
	var f *sdktest.Failure
	if !errors.As(res.Err, &f) || res.Upstream != nil || res.Status != 500 {
		t.Errorf("err %v upstream %v status %d", res.Err, res.Upstream, res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "template is required"},
		{`{"template":"{body}"}`, "template: unknown reference {body}"},
		{`{"template":"{"}`, "template: unclosed {"},
		{`{"template":"x","content_type":"text/plain\r\nX: 1"}`, "content_type must not contain CR, LF or NUL"},
		{`{"template":"x","phase":"inbound"}`, `phase "inbound"`},
		{`{"template":1}`, `field "template": expected a string`},
		{`{"template":"x","body":"y"}`, `unknown field "body"`},
	} {
		_, err := setbody.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
