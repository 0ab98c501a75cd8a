package ratelimitbykey_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/ratelimitbykey"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(ratelimitbykey.Name, ratelimitbykey.New) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newHost() (*sdktest.Host, *clock) {
	h := sdktest.New()
	c := &clock{time.Unix(1_700_000_020, 0)} // 40 s into a minute window
	h.Now = c.now
	return h, c
}

func TestHeaderKeyAndHeaders(t *testing.T) {
	h, clk := newHost()
	att := sdktest.Attach(ratelimitbykey.Name, `{"calls":2,"renewal_period":60,"counter_key":"header:X-Tenant",
		"remaining_calls_header":"X-Left","remaining_calls_variable":"left","total_calls_header":"X-Total","retry_after_variable":"wait"}`)
	req := func(tenant string) sdktest.Request { return sdktest.Request{Header: http.Header{"X-Tenant": {tenant}}} }
	for i, want := range []string{"1", "0"} {
		res := h.Do(req("a"), att)
		if res.Err != nil || res.Answered || res.Header.Get("X-Left") != want || res.Vars["left"] != want || res.Header.Get("X-Total") != "2" {
			t.Fatalf("call %d: %v %d left=%q/%q total=%q", i, res.Err, res.Status, res.Header.Get("X-Left"), res.Vars["left"], res.Header.Get("X-Total"))
		}
	}
	res := h.Do(req("a"), att)
	if !res.Answered || res.Status != 429 || res.Header.Get("Retry-After") != "20" || res.Vars["wait"] != "20" ||
		string(res.Body) != `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 20 seconds."}` {
		t.Errorf("third: %d %v %s %v", res.Status, res.Header, res.Body, res.Vars)
	}
	if res := h.Do(req("b"), att); res.Answered {
		t.Error("another tenant limited")
	}
	clk.t = clk.t.Add(20 * time.Second)
	if res := h.Do(req("a"), att); res.Answered {
		t.Error("limited after the reset")
	}
}

func TestRetryAfterHeaderName(t *testing.T) {
	h, _ := newHost()
	for cfg, header := range map[string]string{`"retry_after_header":"X-Wait"`: "X-Wait", `"retry_after_header":""`: ""} {
		att := sdktest.Attach(ratelimitbykey.Name, `{"calls":1,"renewal_period":60,"counter_key":"ip",`+cfg+`}`)
		req := sdktest.Request{ClientIP: "10.9.9." + fmt.Sprint(len(header))}
		h.Do(req, att)
		res := h.Do(req, att)
		if res.Status != 429 || res.Header.Get("Retry-After") != "" || (header != "" && res.Header.Get(header) != "20") {
			t.Errorf("%s: %d %v", cfg, res.Status, res.Header)
		}
	}
}

func TestClaimKey(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(ratelimitbykey.Name, `{"calls":1,"renewal_period":60,"counter_key":"claim:sub","claims_variable":"claims"}`)
	req := func(claims string) sdktest.Request { return sdktest.Request{Vars: map[string]string{"claims": claims}} }
	if h.Do(req(`{"sub":"alice","aud":"x"}`), att).Answered || h.Do(req(`{"sub":"bob"}`), att).Answered {
		t.Fatal("first calls limited")
	}
	if !h.Do(req(`{"aud":"y","sub":"alice"}`), att).Answered {
		t.Error("alice not limited")
	}
	// Non-string claims count by their JSON text.
	if h.Do(req(`{"sub":42}`), att).Answered || !h.Do(req(`{"sub": 42}`), att).Answered {
		t.Error("numeric claim")
	}
	// The default variable is jwt-claims.
	def := sdktest.Attach(ratelimitbykey.Name, `{"calls":1,"renewal_period":60,"counter_key":"claim:tid"}`)
	r := sdktest.Request{Vars: map[string]string{"jwt-claims": `{"tid":"t1"}`}}
	if h.Do(r, def).Answered || !h.Do(r, def).Answered {
		t.Error("default claims variable")
	}
}

func TestIncrementCondition(t *testing.T) {
	h, _ := newHost()
	status := 200
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response { return sdktest.Response{Status: status} })
	att := sdktest.Attach(ratelimitbykey.Name, `{"calls":2,"renewal_period":60,"counter_key":"ip","increment_condition":["2xx","304"],"remaining_calls_header":"X-Left"}`)
	// Errors are not counted.
	status = 500
	for range 5 {
		if res := h.Do(sdktest.Request{}, back, att); res.Status != 500 || res.Answered {
			t.Fatalf("5xx: %d", res.Status)
		}
	}
	status = 200
	for i := range 2 {
		if res := h.Do(sdktest.Request{}, back, att); res.Status != 200 {
			t.Fatalf("ok %d: %d", i, res.Status)
		}
	}
	res := h.Do(sdktest.Request{}, back, att)
	if res.Status != 429 || res.Upstream != nil {
		t.Fatalf("third success: %d", res.Status)
	}
	// The 429 is not counted even with 4xx in the condition.
	att4 := sdktest.Attach(ratelimitbykey.Name, `{"calls":1,"renewal_period":60,"counter_key":"header:K","increment_condition":["4xx"]}`)
	status = 404
	r := sdktest.Request{Header: http.Header{"K": {"x"}}}
	if res := h.Do(r, back, att4); res.Status != 404 {
		t.Fatalf("first 404: %d", res.Status)
	}
	for range 3 {
		if res := h.Do(r, back, att4); res.Status != 429 {
			t.Fatalf("after the 404: %d", res.Status)
		}
	}
}

func TestIncrementCount(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(ratelimitbykey.Name, `{"calls":5,"renewal_period":60,"counter_key":"ip","increment_count":2,"remaining_calls_header":"X-Left"}`)
	for i, want := range []string{"3", "1"} {
		if res := h.Do(sdktest.Request{}, att); res.Answered || res.Header.Get("X-Left") != want {
			t.Errorf("call %d: %d left %q", i, res.Status, res.Header.Get("X-Left"))
		}
	}
	// 4 + 2 > 5: refused, and nothing is added.
	if res := h.Do(sdktest.Request{}, att); res.Status != 429 {
		t.Errorf("third: %d", res.Status)
	}
	// With a condition: the check uses the increment too.
	status := 200
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response { return sdktest.Response{Status: status} })
	cond := sdktest.Attach(ratelimitbykey.Name, `{"calls":3,"renewal_period":60,"counter_key":"header:K","increment_count":2,"increment_condition":["2xx"]}`)
	r := sdktest.Request{Header: http.Header{"K": {"k"}}}
	if res := h.Do(r, back, cond); res.Status != 200 {
		t.Fatalf("first: %d", res.Status)
	}
	if res := h.Do(r, back, cond); res.Status != 429 {
		t.Errorf("2 + 2 > 3 not refused: %d", res.Status)
	}
}

func TestCounterUnavailableFails(t *testing.T) {
	h, _ := newHost()
	h.Counters = nil
	res := h.Do(sdktest.Request{}, sdktest.Attach(ratelimitbykey.Name, `{"calls":3,"renewal_period":60,"counter_key":"ip"}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("res = %+v", res)
	}
}

func TestNoResponsePhaseWithoutHeaders(t *testing.T) {
	h, _ := newHost()
	res := h.Do(sdktest.Request{}, sdktest.Attach(ratelimitbykey.Name, `{"calls":3,"renewal_period":60,"counter_key":"ip"}`))
	if len(res.Calls) != 2 || res.Calls[1].Result != 0x100 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"calls":1,"renewal_period":60}`, "counter_key is required"},
		{`{"renewal_period":60,"counter_key":"ip"}`, "calls must be at least 1"},
		{`{"calls":1,"counter_key":"ip"}`, "renewal_period must be"},
		{`{"calls":1,"renewal_period":60,"counter_key":"user"}`, `counter_key "user"`},
		{`{"calls":1,"renewal_period":60,"counter_key":"claim:"}`, "claim name is 1 to 256 bytes"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","claims_variable":""}`, "claims_variable"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["2XX"]}`, `increment_condition: "2XX"`},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["200","200"]}`, "listed twice"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","retry_after_header":"X\r\nY"}`, "retry_after_header"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","total_calls_header":"Transfer-Encoding"}`, "total_calls_header"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","remaining_calls_variable":"` + strings.Repeat("v", 129) + `"}`, "remaining_calls_variable"},
		{`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":2}`, "increment_count must be 1 to calls (1), got 2"},
		{`{"calls":5,"renewal_period":60,"counter_key":"ip","increment_count":0}`, "increment_count must be"},
	} {
		if _, err := ratelimitbykey.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

func BenchmarkAllowed(b *testing.B) {
	h := sdktest.New()
	att := sdktest.Attach(ratelimitbykey.Name, fmt.Sprintf(`{"calls":%d,"renewal_period":60,"counter_key":"header:X-Tenant"}`, 1<<40))
	req := sdktest.Request{Header: http.Header{"X-Tenant": {"t1"}}}
	for b.Loop() {
		h.Do(req, att)
	}
}
