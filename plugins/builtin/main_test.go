package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func TestRegistered(t *testing.T) {
	want := []string{"cache-lookup", "cache-lookup-value", "cache-remove-value", "cache-store", "cache-store-value", "check-header", "cors",
		"find-and-replace", "forward-request", "ip-filter", "json-to-xml", "limit-concurrency", "mock-response", "quota", "quota-by-key", "rate-limit", "rate-limit-by-key",
		"retry", "return-response", "rewrite-uri", "set-backend-service", "set-body", "set-header", "set-method", "set-query-parameter", "set-status",
		"set-variable", "subscription-key", "validate-jwt", "xml-to-json"}
	if got := sdk.Registered(); !slices.Equal(got, want) {
		t.Errorf("Registered() = %v, want %v", got, want)
	}
}

// TestChain runs a realistic chain of the built-ins as one plan, the way
// the gateway runs consecutive attachments of one module: key check, rate
// limit, cache, header.
func TestChain(t *testing.T) {
	h := sdktest.New()
	h.Subscriptions["key-1"] = sdktest.Subscription{ID: "sub1", State: "active", Scope: "product", Product: "starter", APIAllowed: true}
	calls := 0
	opts := []sdktest.Option{
		sdktest.Attach("subscription-key", `{}`),
		sdktest.Attach("rate-limit", `{"calls":3,"renewal_period":60,"remaining_calls_header":"X-RateLimit-Remaining"}`),
		sdktest.Attach("cache-lookup", `{"vary_by_subscription":true}`),
		sdktest.Attach("set-header", `{"name":"X-Subscription-Checked","value":"yes"}`),
		sdktest.Attach("set-header", `{"name":"X-Served-By","value":"gatehouse","phase":"response"}`),
		sdktest.Attach("cache-store", `{"duration":60}`),
		sdktest.Backend(func(u *sdktest.Upstream) sdktest.Response {
			calls++
			if u.Header.Get("Ocp-Apim-Subscription-Key") != "" || u.Header.Get("X-Subscription-Checked") != "yes" {
				t.Errorf("upstream headers = %v", u.Header)
			}
			return sdktest.Response{Header: http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"max-age=60"}}, Body: []byte("pets")}
		}),
	}
	req := sdktest.Request{Path: "/pets", API: "pets", Header: http.Header{"Ocp-Apim-Subscription-Key": {"key-1"}}}
	for i, want := range []struct {
		status             int
		cache, remaining   string
		backendCallsBefore int
	}{
		{200, "MISS", "2", 1},
		{200, "HIT", "1", 1},
		{200, "HIT", "0", 1},
		{429, "", "0", 1},
	} {
		res := h.Do(sdktest.Request{Path: req.Path, API: req.API, Header: req.Header.Clone()}, opts...)
		if res.Err != nil {
			t.Fatalf("request %d: %v", i, res.Err)
		}
		if res.Status != want.status || res.Header.Get("X-Cache") != want.cache ||
			res.Header.Get("X-RateLimit-Remaining") != want.remaining || calls != want.backendCallsBefore ||
			res.Header.Get("X-Served-By") != "gatehouse" {
			t.Errorf("request %d: %d X-Cache=%q remaining=%q served-by=%q backend calls %d",
				i, res.Status, res.Header.Get("X-Cache"), res.Header.Get("X-RateLimit-Remaining"),
				res.Header.Get("X-Served-By"), calls)
		}
	}
	if res := h.Do(sdktest.Request{Path: "/pets"}, opts...); res.Status != 401 {
		t.Errorf("without a key: %d", res.Status)
	}
}
