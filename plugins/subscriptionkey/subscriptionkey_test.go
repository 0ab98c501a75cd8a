package subscriptionkey_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/subscriptionkey"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(subscriptionkey.Name, subscriptionkey.New) }

func newHost() *sdktest.Host {
	h := sdktest.New()
	h.Subscriptions["good"] = sdktest.Subscription{ID: "sub1", State: "active", Scope: "product", Product: "starter", APIAllowed: true}
	h.Subscriptions["other-api"] = sdktest.Subscription{ID: "sub2", State: "active", Scope: "api", APIAllowed: false}
	for _, st := range []string{"suspended", "cancelled", "expired", "submitted"} {
		h.Subscriptions[st] = sdktest.Subscription{ID: "sub-" + st, State: st, Scope: "all", APIAllowed: true}
	}
	return h
}

const (
	missing = `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`
	invalid = `{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`
)

func TestKeyInHeader(t *testing.T) {
	h := newHost()
	res := h.Do(sdktest.Request{Path: "/pets", Header: http.Header{"Ocp-Apim-Subscription-Key": {"good"}, "X-Other": {"1"}}},
		sdktest.Attach(subscriptionkey.Name, ""))
	if res.Err != nil || res.Answered {
		t.Fatalf("res = %+v", res)
	}
	if res.Upstream.Header.Get("Ocp-Apim-Subscription-Key") != "" || res.Upstream.Header.Get("X-Other") != "1" {
		t.Errorf("forwarded headers = %v", res.Upstream.Header)
	}
	if res.SubscriptionID != "sub1" || res.Product != "starter" {
		t.Errorf("bound %q %q", res.SubscriptionID, res.Product)
	}
}

func TestDenied(t *testing.T) {
	h := newHost()
	for _, tc := range []struct {
		name   string
		req    sdktest.Request
		status int
		body   string
	}{
		{"no key", sdktest.Request{}, 401, missing},
		{"empty key", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {""}}}, 401, missing},
		{"query not allowed", sdktest.Request{Query: "subscription-key=good"}, 401, missing},
		{"unknown", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"nope"}}}, 401, invalid},
		{"suspended", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"suspended"}}}, 401, invalid},
		{"cancelled", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"cancelled"}}}, 401, invalid},
		{"expired", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"expired"}}}, 401, invalid},
		{"submitted", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"submitted"}}}, 401, invalid},
		{"other API", sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"other-api"}}}, 403, string(subscriptionkey.ScopeBody)},
	} {
		res := h.Do(tc.req, sdktest.Attach(subscriptionkey.Name, ""))
		if res.Err != nil || !res.Answered || res.Upstream != nil || res.Status != tc.status || string(res.Body) != tc.body ||
			res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %v (err %v)", tc.name, res.Status, res.Body, res.Header, res.Err)
		}
		if res.SubscriptionID != "" {
			t.Errorf("%s: bound %q", tc.name, res.SubscriptionID)
		}
	}
	if !strings.Contains(string(subscriptionkey.ScopeBody), `"statusCode":403`) {
		t.Error(string(subscriptionkey.ScopeBody))
	}
}

func TestKeyInQuery(t *testing.T) {
	h := newHost()
	att := sdktest.Attach(subscriptionkey.Name, `{"allow_query":true,"query":"key","header":"X-Key"}`)
	res := h.Do(sdktest.Request{Path: "/pets?a=1&key=good&b=2"}, att)
	if res.Err != nil || res.Answered || res.Upstream.Query != "a=1&b=2" || res.SubscriptionID != "sub1" {
		t.Fatalf("res = %+v %+v", res, res.Upstream)
	}
	// The header wins, and the query parameter is removed all the same.
	res = h.Do(sdktest.Request{Path: "/pets?key=nope", Header: http.Header{"X-Key": {"good"}}}, att)
	if res.Answered || res.Upstream.Query != "" || res.Upstream.Header.Get("X-Key") != "" {
		t.Errorf("res = %d %+v", res.Status, res.Upstream)
	}
	res = h.Do(sdktest.Request{Path: "/pets?key=nope"}, att)
	if res.Status != 401 || string(res.Body) != invalid {
		t.Errorf("bad query key: %d %s", res.Status, res.Body)
	}
}

func TestNoCatalogFailsClosed(t *testing.T) {
	h := newHost()
	h.Subscriptions = nil
	res := h.Do(sdktest.Request{Header: http.Header{"Ocp-Apim-Subscription-Key": {"good"}}}, sdktest.Attach(subscriptionkey.Name, ""))
	if res.Err == nil || res.Status != 500 || res.Upstream != nil {
		t.Errorf("res = %+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"header":""}`, "header is required"},
		{`{"header":"Bad Header"}`, "not a valid header name"},
		{`{"query":""}`, "query must not be empty"},
		{`{"allow_query":"yes"}`, `field "allow_query": expected true or false`},
		{`{"key":"x"}`, `unknown field "key"`},
	} {
		if _, err := subscriptionkey.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
