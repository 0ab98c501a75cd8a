package cacheremovevalue_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/cacheremovevalue"
	"github.com/gatehouse/gatehouse/plugins/internal/valuecache"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(cacheremovevalue.Name, cacheremovevalue.New) }

func TestRemoves(t *testing.T) {
	for _, phase := range []string{"", "request", "response"} {
		h := sdktest.New()
		h.Cache.Set(valuecache.KeyPrefix+"p-u1", []byte("v"), time.Minute, h.Now())
		h.Cache.Set(valuecache.KeyPrefix+"p-u2", []byte("v"), time.Minute, h.Now())
		res := h.Do(sdktest.Request{Header: http.Header{"X-U": {"u1"}}},
			sdktest.Attach(cacheremovevalue.Name, `{"key":"p-{header.X-U}","phase":"`+phase+`"}`))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if _, ok := h.Cache.Get(valuecache.KeyPrefix+"p-u1", h.Now()); ok {
			t.Errorf("phase %q: not removed", phase)
		}
		if _, ok := h.Cache.Get(valuecache.KeyPrefix+"p-u2", h.Now()); !ok {
			t.Errorf("phase %q: another key removed", phase)
		}
		// Removing a missing key is fine.
		if res := h.Do(sdktest.Request{Header: http.Header{"X-U": {"u1"}}},
			sdktest.Attach(cacheremovevalue.Name, `{"key":"p-{header.X-U}","phase":"`+phase+`"}`)); res.Err != nil || len(res.Logs) != 0 {
			t.Errorf("phase %q: missing key: %v %v", phase, res.Err, res.Logs)
		}
	}
}

func TestNoCache(t *testing.T) {
	h := sdktest.New()
	h.Cache = nil
	res := h.Do(sdktest.Request{}, sdktest.Attach(cacheremovevalue.Name, `{"key":"k"}`))
	if res.Err != nil || res.Status != 200 || len(res.Logs) != 1 {
		t.Errorf("res = %+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "key is required"},
		{`{"key":"{nope}"}`, "key"},
		{`{"key":"k","phase":"later"}`, "phase"},
		{`{"key":"k","duration":5}`, `unknown field "duration"`},
	} {
		if _, err := cacheremovevalue.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
