package cachestore_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/cachestore"
	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(cachestore.Name, cachestore.New) }

func TestStoresUnderTheLookupKey(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{Vars: map[string]string{cacheentry.KeyVar: "gatehouse-response:k"}},
		sdktest.Attach(cachestore.Name, `{"duration":10}`))
	if res.Err != nil || res.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("res = %+v", res)
	}
	b, ok := h.Cache.Get("gatehouse-response:k", h.Now())
	if !ok {
		t.Fatal("not stored")
	}
	e, err := cacheentry.Decode(b)
	if err != nil || e.Status != 200 || string(e.Body) != "ok" || len(e.Headers) != 1 || e.Headers[0].Name != "Content-Type" {
		t.Errorf("entry = %+v, %v", e, err)
	}
	// The request phase is not handled.
	if res.Calls[0].Result != 0x100 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestWithoutLookupDoesNothing(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{}, sdktest.Attach(cachestore.Name, `{"duration":10}`))
	if res.Err != nil || res.Header.Get("X-Cache") != "" || h.Cache.Len() != 0 {
		t.Errorf("res = %+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "duration must be"},
		{`{"duration":86401}`, "duration must be"},
		{`{"duration":10,"max_body_bytes":-1}`, "max_body_bytes must be"},
		{`{"duration":10,"max_body_bytes":5000000}`, "max_body_bytes must be"},
		{`{"duration":"10"}`, `field "duration": expected a number`},
		{`{"duration":10,"ttl":5}`, `unknown field "ttl"`},
	} {
		if _, err := cachestore.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
