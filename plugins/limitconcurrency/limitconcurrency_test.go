package limitconcurrency_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/limitconcurrency"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() {
	sdk.Register(limitconcurrency.Name, limitconcurrency.New)
	sdk.Register("test-fail", func([]byte) (sdk.Policy, error) { return failer{}, nil })
}

type failer struct{ sdk.Base }

func (failer) OnRequest(c *sdk.Context) sdk.Action { return c.Fail(sdk.ErrInvalid) }

func TestConfig(t *testing.T) {
	for _, tc := range []struct{ cfg, err string }{
		{`{"max_count":1,"counter_key":"ip"}`, ""},
		{`{"max_count":3,"counter_key":""}`, ""},
		{`{"max_count":3,"counter_key":"claim:sub","claims_variable":"c"}`, ""},
		{`{"counter_key":"ip"}`, "max_count"},
		{`{"max_count":0,"counter_key":"ip"}`, "max_count"},
		{`{"max_count":-1,"counter_key":"ip"}`, "max_count"},
		{`{"max_count":1}`, "counter_key is required"},
		{`{"max_count":1,"counter_key":"bogus"}`, "counter_key"},
		{`{"max_count":1,"counter_key":"header:a b"}`, "counter_key"},
		{`{"max_count":1,"counter_key":"ip","claims_variable":""}`, "claims_variable"},
		{`{"max_count":1,"counter_key":"ip","key":"x"}`, "key"},
	} {
		_, err := limitconcurrency.New([]byte(tc.cfg))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err %v, want %q", tc.cfg, err, tc.err)
		}
	}
}

func TestLimit(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(limitconcurrency.Name, `{"max_count":2,"counter_key":"ip"}`)
	req := sdktest.Request{ClientIP: "10.0.0.1"}
	const key = "limit-concurrency:i:10.0.0.1"

	// Sequential calls never overlap: each releases its slot when it ends.
	for i := range 5 {
		if res := h.Do(req, att); res.Err != nil || res.Answered || res.Status != 200 {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	if n := h.InFlight(key); n != 0 {
		t.Fatalf("%d slots held after the calls ended", n)
	}

	// Two requests in flight elsewhere: the third is refused.
	r1, ok1 := h.HoldConcurrency(key, 2)
	r2, ok2 := h.HoldConcurrency(key, 2)
	if !ok1 || !ok2 {
		t.Fatal("could not hold two slots")
	}
	res := h.Do(req, att)
	if res.Err != nil || !res.Answered || res.Status != 429 || res.Upstream != nil {
		t.Fatalf("over the limit: %+v", res)
	}
	if res.Header.Get("Retry-After") != "1" || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", res.Header)
	}
	if want := `{"statusCode":429,"message":"Too many concurrent requests. Try again later."}`; string(res.Body) != want {
		t.Errorf("body %s", res.Body)
	}
	// Another client has its own semaphore.
	if res := h.Do(sdktest.Request{ClientIP: "10.0.0.2"}, att); res.Answered {
		t.Error("other IP limited")
	}
	r1()
	r1() // idempotent
	if res := h.Do(req, att); res.Answered {
		t.Errorf("one slot free, still refused: %d", res.Status)
	}
	r2()
	if n := h.InFlight(key); n != 0 {
		t.Fatalf("%d slots held", n)
	}
}

// TestReleasedOnFailure: a later policy failing ends the call; the slot
// goes back.
func TestReleasedOnFailure(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{ClientIP: "10.0.0.1"},
		sdktest.Attach(limitconcurrency.Name, `{"max_count":1,"counter_key":"ip"}`),
		sdktest.Attach("test-fail", `{}`))
	if res.Err == nil {
		t.Fatalf("want a failure: %+v", res)
	}
	if n := h.InFlight("limit-concurrency:i:10.0.0.1"); n != 0 {
		t.Fatalf("%d slots held after a failed call", n)
	}
}

func TestKeys(t *testing.T) {
	h := sdktest.New()
	release, _ := h.HoldConcurrency("limit-concurrency:h:acme", 1)
	defer release()
	att := sdktest.Attach(limitconcurrency.Name, `{"max_count":1,"counter_key":"header:X-Tenant"}`)
	if res := h.Do(sdktest.Request{Header: map[string][]string{"X-Tenant": {"acme"}}}, att); res.Status != 429 {
		t.Errorf("tenant acme: %d", res.Status)
	}
	if res := h.Do(sdktest.Request{Header: map[string][]string{"X-Tenant": {"other"}}}, att); res.Status != 200 {
		t.Errorf("tenant other: %d", res.Status)
	}
}

func TestUnavailable(t *testing.T) {
	h := sdktest.New()
	h.Semaphores = nil
	res := h.Do(sdktest.Request{}, sdktest.Attach(limitconcurrency.Name, `{"max_count":1,"counter_key":"ip"}`))
	if res.Err == nil || res.Status != 500 {
		t.Fatalf("no semaphores: %+v", res)
	}
}
