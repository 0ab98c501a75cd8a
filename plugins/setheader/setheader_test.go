package setheader_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setheader"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setheader.Name, setheader.New) }

func TestRequestHeader(t *testing.T) {
	in := http.Header{"X-Foo": {"old1", "old2"}}
	for _, tc := range []struct {
		config string
		want   []string
	}{
		{`{"name":"X-Foo","value":"bar"}`, []string{"bar"}},
		{`{"name":"x-foo","value":"bar","exists_action":"override","phase":"request"}`, []string{"bar"}},
		{`{"name":"X-Foo","value":"bar","exists_action":"skip"}`, []string{"old1", "old2"}},
		{`{"name":"X-Foo","value":"bar","exists_action":"append"}`, []string{"old1", "old2", "bar"}},
		{`{"name":"X-Foo","exists_action":"delete"}`, nil},
		{`{"name":"X-Foo","value":""}`, []string{""}},
	} {
		res := sdktest.New().Do(sdktest.Request{Header: in.Clone()}, sdktest.Attach(setheader.Name, tc.config))
		if res.Err != nil {
			t.Fatalf("%s: %v", tc.config, res.Err)
		}
		if got := res.Upstream.Header["X-Foo"]; !slices.Equal(got, tc.want) {
			t.Errorf("%s: upstream X-Foo = %q, want %q", tc.config, got, tc.want)
		}
		if res.Header.Get("X-Foo") != "" {
			t.Errorf("%s: changed the response", tc.config)
		}
	}
}

func TestSkipSetsAbsentHeader(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(setheader.Name, `{"name":"X-Foo","value":"bar","exists_action":"skip"}`))
	if res.Err != nil || res.Upstream.Header.Get("X-Foo") != "bar" {
		t.Errorf("err %v, X-Foo %q", res.Err, res.Upstream.Header.Get("X-Foo"))
	}
}

func TestResponseHeader(t *testing.T) {
	h := sdktest.New()
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Server": {"backend/1.0"}, "X-Foo": {"a"}}}
	})
	res := h.Do(sdktest.Request{}, back,
		sdktest.Attach(setheader.Name, `{"name":"X-Foo","value":"bar","phase":"response","exists_action":"append"}`),
		sdktest.Attach(setheader.Name, `{"name":"Server","phase":"response","exists_action":"delete"}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Header["X-Foo"]; !slices.Equal(got, []string{"a", "bar"}) || res.Header.Get("Server") != "" {
		t.Errorf("response header = %v", res.Header)
	}
	if res.Upstream.Header.Get("X-Foo") != "" {
		t.Error("changed the request")
	}
	// Neither attachment handles the request phase: the host is told so.
	if res.Calls[0].Result&abi.FlagNoHandler == 0 || res.Calls[1].Result&abi.FlagNoHandler != 0 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "name is required"},
		{`{"name":"X-A"}`, "value is required"},
		{`{"name":"X A","value":"v"}`, "not a valid header name"},
		{`{"name":"Content-Length","value":"1"}`, "hop-by-hop"},
		{`{"name":"Connection","value":"close"}`, "hop-by-hop"},
		{`{"name":"X-A","value":"a\r\nX-B: b"}`, "must not contain CR, LF or NUL"},
		{`{"name":"X-A","value":"v","exists_action":"replace"}`, `exists_action "replace"`},
		{`{"name":"X-A","value":"v","exists_action":"delete"}`, "must not be set"},
		{`{"name":"X-A","value":"v","phase":"outbound"}`, `phase "outbound"`},
		{`{"name":"X-A","value":"v","extra":1}`, `unknown field "extra"`},
		{`{"name":"X-A","value":1}`, `field "value": expected a string`},
		{`{"name":"X-A","value":"v"}x`, "unexpected data"},
	} {
		_, err := setheader.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(setheader.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran: %+v", tc.config, res)
		}
	}
}
