package cachestore_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/plugins/cachestore"
	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(cachestore.Name, cachestore.New) }

func TestStoresUnderTheLookupKey(t *testing.T) {
	h := sdktest.New()
	pend := cacheentry.Pending{RequestTime: h.Now().UnixMilli(), URL: "api.example.com/x", API: "a", Base: []byte("q=")}
	kv := string(cacheentry.AppendPending(nil, &pend))
	up := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"max-age=5"}}, Body: []byte("ok")}
	})
	res := h.Do(sdktest.Request{Vars: map[string]string{cacheentry.KeyVar: kv}}, sdktest.Attach(cachestore.Name, `{"duration":10}`), up)
	if res.Err != nil || res.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("res = %+v", res)
	}
	key := string(respcache.AppendVariantKey(nil, "api.example.com/x", "a", []byte("q=")))
	b, ok := h.Cache.Get(key, h.Now())
	if !ok {
		t.Fatalf("not stored under %q: %q", key, h.Cache.Keys())
	}
	e, err := cacheentry.Decode(b)
	if err != nil || e.Status != 200 || string(e.Body) != "ok" || len(e.Headers) != 2 || e.Lifetime != 5000 || e.StoreSeconds != 10 {
		t.Errorf("entry = %+v, %v", e, err)
	}
	if _, ok := h.Cache.Get(string(respcache.AppendURLKey(nil, "api.example.com/x")), h.Now()); !ok {
		t.Error("no URL record")
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
		{`{"duration":10,"mode":"apim"}`, `mode must be http or fixed`},
	} {
		if _, err := cachestore.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
