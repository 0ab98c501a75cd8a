package ratelimit_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/ratelimit"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() {
	sdk.Register(ratelimit.Name, ratelimit.New)
	sdk.Register("test-bind", func([]byte) (sdk.Policy, error) { return binder{}, nil })
}

// clock is a controllable host clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newHost() (*sdktest.Host, *clock) {
	h := sdktest.New()
	// 40 s into a minute window.
	c := &clock{time.Unix(1_700_000_020, 0)}
	h.Now = c.now
	return h, c
}

func TestLimitAndReset(t *testing.T) {
	h, clk := newHost()
	att := sdktest.Attach(ratelimit.Name, `{"calls":2,"renewal_period":60,"counter_key":"ip"}`)
	req := sdktest.Request{ClientIP: "10.0.0.1"}
	for i := range 2 {
		if res := h.Do(req, att); res.Err != nil || res.Answered {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	res := h.Do(req, att)
	if res.Err != nil || !res.Answered || res.Status != 429 || res.Upstream != nil {
		t.Fatalf("third call: %+v", res)
	}
	// The window is [1_699_999_980, 1_700_000_040): it resets in 20 s.
	if got := res.Header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After = %q", got)
	}
	if want := `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 20 seconds."}`; string(res.Body) != want {
		t.Errorf("body = %s", res.Body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	// Another client has its own counter.
	if res := h.Do(sdktest.Request{ClientIP: "10.0.0.2"}, att); res.Answered {
		t.Error("other IP limited")
	}
	clk.advance(19*time.Second + 500*time.Millisecond)
	if res := h.Do(req, att); res.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After near the reset = %q (status %d)", res.Header.Get("Retry-After"), res.Status)
	}
	clk.advance(time.Second)
	if res := h.Do(req, att); res.Answered {
		t.Error("still limited after the reset")
	}
}

func TestSubscriptionKeyFallsBackToIP(t *testing.T) {
	h, _ := newHost()
	h.Subscriptions["k1"] = sdktest.Subscription{ID: "sub1", State: "active", APIAllowed: true}
	h.Subscriptions["k2"] = sdktest.Subscription{ID: "sub2", State: "active", APIAllowed: true}
	att := sdktest.Attach(ratelimit.Name, `{"calls":1,"renewal_period":60}`)
	bind := sdktest.Attach("test-bind", "")
	do := func(key, ip string) *sdktest.Result {
		return h.Do(sdktest.Request{ClientIP: ip, Header: http.Header{"Key": {key}}}, bind, att)
	}
	if do("k1", "10.0.0.1").Answered || do("k2", "10.0.0.1").Answered {
		t.Fatal("first call of a subscription limited")
	}
	if !do("k1", "10.0.0.9").Answered {
		t.Error("subscription not limited from another IP")
	}
	// No subscription: per IP.
	if do("", "10.0.0.1").Answered || !do("", "10.0.0.1").Answered || do("", "10.0.0.2").Answered {
		t.Error("IP fallback")
	}
}

// binder binds the subscription named by the Key header.
type binder struct{ sdk.Base }

func (binder) OnRequest(c *sdk.Context) sdk.Action {
	if k := c.Request().Header().Get("Key"); k != "" {
		if _, err := c.LookupSubscription(k); err != nil {
			return c.Fail(err)
		}
	}
	return sdk.Continue
}

func TestHeaderAndVarKeys(t *testing.T) {
	h, _ := newHost()
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		config string
		req    func(v string) sdktest.Request
	}{
		{`{"calls":1,"renewal_period":60,"counter_key":"header:X-Client"}`,
			func(v string) sdktest.Request { return sdktest.Request{Header: http.Header{"X-Client": {v}}} }},
		{`{"calls":1,"renewal_period":60,"counter_key":"var:client"}`,
			func(v string) sdktest.Request { return sdktest.Request{Vars: map[string]string{"client": v}} }},
	} {
		att := sdktest.Attach(ratelimit.Name, tc.config)
		for _, v := range []string{"a", "b", long} {
			if res := h.Do(tc.req(v), att); res.Err != nil || res.Answered {
				t.Errorf("%s %.5s first: %v %d", tc.config, v, res.Err, res.Status)
			}
			if res := h.Do(tc.req(v), att); !res.Answered {
				t.Errorf("%s %.5s second not limited", tc.config, v)
			}
		}
		// Requests without the header or variable share one counter.
		if res := h.Do(sdktest.Request{}, att); res.Answered {
			t.Errorf("%s: first keyless limited", tc.config)
		}
		if res := h.Do(sdktest.Request{}, att); !res.Answered {
			t.Errorf("%s: second keyless not limited", tc.config)
		}
	}
}

func TestSliding(t *testing.T) {
	h, clk := newHost()
	att := sdktest.Attach(ratelimit.Name, `{"calls":2,"renewal_period":60,"counter_key":"ip","sliding":true}`)
	h.Do(sdktest.Request{}, att)
	h.Do(sdktest.Request{}, att)
	// At the start of the next window the previous one still weighs fully.
	clk.advance(20 * time.Second)
	if res := h.Do(sdktest.Request{}, att); !res.Answered {
		t.Error("sliding window forgot the previous window")
	}
	// Halfway through the next window half of it is left: 1 + 0 < 2.
	clk.advance(30 * time.Second)
	if res := h.Do(sdktest.Request{}, att); res.Answered {
		t.Errorf("sliding window still limited: %s", res.Body)
	}
}

func TestRemainingCallsHeader(t *testing.T) {
	h, _ := newHost()
	atts := []sdktest.Option{
		sdktest.Attach(ratelimit.Name, `{"calls":3,"renewal_period":60,"counter_key":"ip","remaining_calls_header":"X-RateLimit-Remaining"}`),
		sdktest.Attach(ratelimit.Name, `{"calls":10,"renewal_period":3600,"counter_key":"ip","remaining_calls_header":"X-RateLimit-Remaining"}`),
	}
	for i, want := range []string{"2", "1", "0", "0"} {
		res := h.Do(sdktest.Request{}, atts...)
		if got := res.Header.Get("X-RateLimit-Remaining"); got != want {
			t.Errorf("call %d: remaining %q, want %q (status %d)", i, got, want, res.Status)
		}
	}
	// Without the option the policy does not handle the response phase.
	res := h.Do(sdktest.Request{}, sdktest.Attach(ratelimit.Name, `{"calls":3,"renewal_period":60}`))
	if len(res.Calls) != 2 || res.Calls[1].Result != 0x100 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestCounterUnavailableFails(t *testing.T) {
	h, _ := newHost()
	h.Counters = nil
	res := h.Do(sdktest.Request{}, sdktest.Attach(ratelimit.Name, `{"calls":3,"renewal_period":60}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("res = %+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "calls must be at least 1"},
		{`{"calls":0,"renewal_period":1}`, "calls must be at least 1"},
		{`{"calls":1}`, "renewal_period must be"},
		{`{"calls":1,"renewal_period":31622401}`, "renewal_period must be"},
		{`{"calls":1,"renewal_period":1,"counter_key":"user"}`, `counter_key "user"`},
		{`{"calls":1,"renewal_period":1,"counter_key":"header:"}`, "not a valid header name"},
		{`{"calls":1,"renewal_period":1,"counter_key":"var:"}`, "1 to 128 bytes"},
		{`{"calls":1,"renewal_period":1,"remaining_calls_header":"bad header"}`, "not a valid header name"},
		{`{"calls":1,"renewal_period":1,"renewal":1}`, `unknown field "renewal"`},
		{`{"calls":"1","renewal_period":1}`, `field "calls": expected a number`},
		{`{"calls":1.5,"renewal_period":1}`, `field "calls"`},
	} {
		if _, err := ratelimit.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

func BenchmarkAllowed(b *testing.B) {
	h := sdktest.New()
	att := sdktest.Attach(ratelimit.Name, fmt.Sprintf(`{"calls":%d,"renewal_period":60}`, 1<<40))
	for b.Loop() {
		h.Do(sdktest.Request{}, att)
	}
}
