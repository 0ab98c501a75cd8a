package findandreplace_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/findandreplace"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(findandreplace.Name, findandreplace.New) }

func TestRequestBody(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte("aXbXXc")},
		sdktest.Attach(findandreplace.Name, `{"from":"X","to":"--"}`))
	if res.Err != nil || string(res.Upstream.Body) != "a--b----c" {
		t.Fatalf("err %v body %q", res.Err, res.Upstream.Body)
	}
}

func TestResponseBody(t *testing.T) {
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Body: []byte(`{"self":"http://in:8080/a","next":"http://in:8080/b"}`)}
	})
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte("http://in:8080")}, back,
		sdktest.Attach(findandreplace.Name, `{"from":"http://in:8080","to":"https://api","phase":"response"}`))
	if res.Err != nil || string(res.Body) != `{"self":"https://api/a","next":"https://api/b"}` {
		t.Fatalf("err %v body %q", res.Err, res.Body)
	}
	if string(res.Upstream.Body) != "http://in:8080" {
		t.Errorf("request body changed: %q", res.Upstream.Body)
	}
}

func TestNoMatchDeleteOverlap(t *testing.T) {
	h := sdktest.New()
	for _, tc := range []struct{ cfg, in, want string }{
		{`{"from":"zz","to":"y"}`, "abc", "abc"},
		{`{"from":"ab","to":""}`, "abcab", "c"},
		{`{"from":"aa","to":"a"}`, "aaaaa", "aaa"}, // no overlap, no rescan
		{`{"from":"é","to":"e"}`, "café", "cafe"},
		{`{"from":"x","to":"y"}`, "", ""},
	} {
		res := h.Do(sdktest.Request{Method: "POST", Body: []byte(tc.in)}, sdktest.Attach(findandreplace.Name, tc.cfg))
		if res.Err != nil || string(res.Upstream.Body) != tc.want {
			t.Errorf("%s on %q: err %v body %q, want %q", tc.cfg, tc.in, res.Err, res.Upstream.Body, tc.want)
		}
	}
}

func TestBounds(t *testing.T) {
	h := sdktest.New()
	// The input is over the bound.
	res := h.Do(sdktest.Request{Method: "POST", Body: []byte(strings.Repeat("a", 11))},
		sdktest.Attach(findandreplace.Name, `{"from":"a","to":"b","max_body_bytes":10}`))
	if res.Err == nil || res.Status != 500 || res.Upstream != nil {
		t.Errorf("input over the bound: %v %d", res.Err, res.Status)
	}
	// The output would grow past the bound: refused before building it.
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte("aaaa")},
		sdktest.Attach(findandreplace.Name, `{"from":"a","to":"`+strings.Repeat("x", 1000)+`","max_body_bytes":3000}`))
	if res.Err == nil || !strings.Contains(res.Err.Error(), "after replacing") {
		t.Errorf("growth past the bound: %v", res.Err)
	}
	// Over the host's body limit: 413.
	h.BodyLimit = 5
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte("aaaaaa")}, sdktest.Attach(findandreplace.Name, `{"from":"a","to":"b"}`))
	if res.Status != 413 {
		t.Errorf("over the host limit: %d %v", res.Status, res.Err)
	}
}

func TestEncodedBodyUntouched(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte("\x1f\x8bab"), Header: http.Header{"Content-Encoding": {"gzip"}}},
		sdktest.Attach(findandreplace.Name, `{"from":"a","to":"b"}`))
	if res.Err != nil || string(res.Upstream.Body) != "\x1f\x8bab" || len(res.Logs) == 0 {
		t.Errorf("err %v body %q logs %v", res.Err, res.Upstream.Body, res.Logs)
	}
}

func TestPhaseNotHandled(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(findandreplace.Name, `{"from":"a","to":"b"}`))
	if len(res.Calls) != 2 || res.Calls[1].Result != 0x100 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "from is required"},
		{`{"from":"","to":"x"}`, "from is required"},
		{`{"from":"a"}`, "to is required"},
		{`{"from":"a","to":"b","phase":"outbound"}`, `phase "outbound"`},
		{`{"from":"a","to":"b","max_body_bytes":0}`, "max_body_bytes"},
		{`{"from":"a","to":"b","max_body_bytes":16777217}`, "max_body_bytes"},
		{`{"from":1,"to":"b"}`, `field "from"`},
		{`{"from":"a","to":"b","x":1}`, `unknown field "x"`},
	} {
		if _, err := findandreplace.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

func BenchmarkReplace(b *testing.B) {
	h := sdktest.New()
	body := []byte(strings.Repeat(`{"self":"http://in:8080/a"},`, 100))
	att := sdktest.Attach(findandreplace.Name, `{"from":"http://in:8080","to":"https://api.example.com"}`)
	for b.Loop() {
		h.Do(sdktest.Request{Method: "POST", Body: body}, att)
	}
}
