package quota_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/quota"
	"github.com/gatehouse/gatehouse/plugins/quotabykey"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() {
	sdk.Register(quota.Name, quota.New)
	sdk.Register(quotabykey.Name, quotabykey.New)
	sdk.Register("test-bind", func([]byte) (sdk.Policy, error) { return binder{}, nil })
	sdk.Register("test-deny", func([]byte) (sdk.Policy, error) { return denier{}, nil })
}

// denier answers 401 with a 100-byte body and a Content-Length.
type denier struct{ sdk.Base }

func (denier) OnRequest(c *sdk.Context) sdk.Action {
	return c.Respond(401, make([]byte, 100))
}

func TestEarlyAnswerBeforeQuotaNotCounted(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quotabykey.Name, `{"bandwidth":1,"calls":5,"renewal_period":3600,"counter_key":"ip","increment_condition":["4xx"]}`)
	for range 3 {
		res := h.Do(sdktest.Request{Header: http.Header{"Content-Length": {"50"}}}, sdktest.Attach("test-deny", ""), att)
		if res.Status != 401 || res.Err != nil {
			t.Fatalf("%d %v", res.Status, res.Err)
		}
	}
	for _, k := range []string{"quota-by-key:3600|b|i:192.0.2.1", "quota-by-key:3600|c|i:192.0.2.1"} {
		if c, _, _, _ := h.Counters.Add(k, 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, h.Now()); c != 0 {
			t.Errorf("%s = %d: an answer given before the quota ran was counted", k, c)
		}
	}
}

// binder binds the subscription whose key is in the Key header.
type binder struct{ sdk.Base }

func (binder) OnRequest(c *sdk.Context) sdk.Action {
	if k := c.Request().Header().Get("Key"); k != "" {
		if _, err := c.LookupSubscription(k); err != nil {
			return c.Fail(err)
		}
	}
	return sdk.Continue
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newHost: 1_699_999_200 is a multiple of 3600; the clock is 20 s into an
// hour window, which resets in 59:40.
func newHost() (*sdktest.Host, *clock) {
	h := sdktest.New()
	c := &clock{time.Unix(1_699_999_200+20, 0)}
	h.Now = c.now
	h.Subscriptions["k1"] = sdktest.Subscription{ID: "sub1", State: "active", APIAllowed: true}
	h.Subscriptions["k2"] = sdktest.Subscription{ID: "sub2", State: "active", APIAllowed: true}
	return h, c
}

func TestCallQuotaPerSubscription(t *testing.T) {
	h, clk := newHost()
	bind := sdktest.Attach("test-bind", "")
	att := sdktest.Attach(quota.Name, `{"calls":3,"renewal_period":3600}`)
	do := func(key string) *sdktest.Result {
		return h.Do(sdktest.Request{Header: http.Header{"Key": {key}}}, bind, att)
	}
	for i := range 3 {
		if res := do("k1"); res.Err != nil || res.Answered {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	res := do("k1")
	if res.Err != nil || !res.Answered || res.Status != 403 || res.Upstream != nil {
		t.Fatalf("fourth call: %+v", res)
	}
	if got := res.Header.Get("Retry-After"); got != "3580" {
		t.Errorf("Retry-After = %q", got)
	}
	if want := `{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 00:59:40."}`; string(res.Body) != want {
		t.Errorf("body = %s", res.Body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	// Another subscription has its own quota.
	if res := do("k2"); res.Answered {
		t.Error("sub2 refused")
	}
	// Refused calls are not counted: the next window starts from zero.
	clk.advance(3580 * time.Second)
	for i := range 3 {
		if res := do("k1"); res.Answered {
			t.Fatalf("call %d after the reset refused", i)
		}
	}
}

func TestCountersPersist(t *testing.T) {
	// The counter is asked to persist (the host decides by its window).
	h, _ := newHost()
	h.Do(sdktest.Request{}, sdktest.Attach(quota.Name, `{"calls":3,"renewal_period":3600}`))
	now := time.Unix(1_699_999_200+20, 0)
	for _, key := range []string{"quota:3600|c|i:192.0.2.1"} {
		c, _, _, err := h.Counters.Add(key, 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, now)
		if err != nil || c != 1 {
			t.Errorf("counter %q = %d, %v; want 1", key, c, err)
		}
	}
}

func TestRaisingTheQuotaKeepsTheCount(t *testing.T) {
	h, _ := newHost()
	req := sdktest.Request{}
	for range 2 {
		h.Do(req, sdktest.Attach(quota.Name, `{"calls":2,"renewal_period":3600}`))
	}
	if res := h.Do(req, sdktest.Attach(quota.Name, `{"calls":3,"renewal_period":3600}`)); res.Answered {
		t.Fatal("third call refused after raising calls to 3")
	}
	if res := h.Do(req, sdktest.Attach(quota.Name, `{"calls":3,"renewal_period":3600}`)); !res.Answered {
		t.Fatal("fourth call accepted: the count was reset")
	}
}

func TestBandwidth(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quota.Name, `{"bandwidth":2,"renewal_period":3600}`) // 2048 bytes
	backend := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Length": {"700"}}, Body: make([]byte, 700)}
	})
	req := sdktest.Request{Method: "POST", Header: http.Header{"Content-Length": {"300"}}, Body: make([]byte, 300)}
	// 1000 bytes per call: the third call is let through (2000 < 2048)
	// and takes the count over; the fourth is refused.
	for i := range 3 {
		if res := h.Do(req, att, backend); res.Err != nil || res.Answered {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	res := h.Do(req, att, backend)
	if res.Status != 403 || !strings.Contains(string(res.Body), "Out of bandwidth quota. Quota will be replenished in 00:59:40.") {
		t.Fatalf("fourth call: %d %s", res.Status, res.Body)
	}
	c, _, _, _ := h.Counters.Add("quota:3600|b|i:192.0.2.1", 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, h.Now())
	if c != 3000 {
		t.Errorf("bandwidth counter = %d, want 3000 (the 403 is not counted)", c)
	}
	// No Content-Length: nothing counted.
	h2, _ := newHost()
	h2.Do(sdktest.Request{}, att)
	if c, _, _, _ := h2.Counters.Add("quota:3600|b|i:192.0.2.1", 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, h2.Now()); c != 0 {
		t.Errorf("counted %d bytes without Content-Length", c)
	}
}

func TestCallsAndBandwidth(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quota.Name, `{"calls":100,"bandwidth":1,"renewal_period":3600}`)
	backend := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Length": {"1024"}}, Body: make([]byte, 1024)}
	})
	if res := h.Do(sdktest.Request{}, att, backend); res.Answered {
		t.Fatal("first call refused")
	}
	if res := h.Do(sdktest.Request{}, att, backend); res.Status != 403 || !strings.Contains(string(res.Body), "bandwidth") {
		t.Fatalf("second call: %d %s", res.Status, res.Body)
	}
	// The refused call was not counted as a call.
	c, _, _, _ := h.Counters.Add("quota:3600|c|i:192.0.2.1", 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, h.Now())
	if c != 1 {
		t.Errorf("calls = %d, want 1", c)
	}
}

func TestByKey(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quotabykey.Name, `{"calls":10,"renewal_period":3600,"counter_key":"header:X-Tenant","increment_count":4}`)
	do := func(tenant string) *sdktest.Result {
		return h.Do(sdktest.Request{Header: http.Header{"X-Tenant": {tenant}}}, att)
	}
	// 4 + 4 = 8; a third call would make 12 > 10.
	for i := range 2 {
		if res := do("a"); res.Answered {
			t.Fatalf("call %d refused", i)
		}
	}
	if res := do("a"); res.Status != 403 {
		t.Fatalf("third call: %d", res.Status)
	}
	if res := do("b"); res.Answered {
		t.Fatal("tenant b refused")
	}
}

func TestByKeyIncrementCondition(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quotabykey.Name, `{"calls":2,"renewal_period":3600,"counter_key":"ip","increment_condition":["2xx","304"]}`)
	status := 200
	backend := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response { return sdktest.Response{Status: status} })
	status = 500
	for range 5 {
		if res := h.Do(sdktest.Request{}, att, backend); res.Answered {
			t.Fatal("5xx counted")
		}
	}
	status = 304
	h.Do(sdktest.Request{}, att, backend)
	status = 201
	h.Do(sdktest.Request{}, att, backend)
	res := h.Do(sdktest.Request{}, att, backend)
	if res.Status != 403 {
		t.Fatalf("after two counted calls: %d", res.Status)
	}
	// The 403 itself is not counted (it is not 2xx anyway, and refusals never are).
	c, _, _, _ := h.Counters.Add("quota-by-key:3600|c|i:192.0.2.1", 0, 0, time.Hour, abi.CounterFixed|abi.CounterPersist, h.Now())
	if c != 2 {
		t.Errorf("count = %d, want 2", c)
	}
}

func TestByKeyClaim(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quotabykey.Name, `{"calls":1,"renewal_period":3600,"counter_key":"claim:sub","claims_variable":"claims"}`)
	do := func(sub string) *sdktest.Result {
		return h.Do(sdktest.Request{Vars: map[string]string{"claims": `{"sub":"` + sub + `"}`}}, att)
	}
	if do("alice").Answered || do("bob").Answered {
		t.Fatal("first calls refused")
	}
	if !do("alice").Answered {
		t.Fatal("alice's second call accepted")
	}
}

func TestLongPeriodMessage(t *testing.T) {
	h, _ := newHost()
	att := sdktest.Attach(quota.Name, `{"calls":1,"renewal_period":31536000}`)
	h.Do(sdktest.Request{}, att)
	res := h.Do(sdktest.Request{}, att)
	secs, _ := strconv.ParseInt(res.Header.Get("Retry-After"), 10, 64)
	want := string(quota.AppendDuration(nil, secs))
	if !strings.Contains(want, ".") || !strings.Contains(string(res.Body), "replenished in "+want+".") {
		t.Errorf("body %s, Retry-After %d", res.Body, secs)
	}
}

func TestAppendDuration(t *testing.T) {
	for secs, want := range map[int64]string{0: "00:00:00", 1: "00:00:01", 504: "00:08:24", 3599: "00:59:59",
		86399: "23:59:59", 86400: "1.00:00:00", 366*86400 - 1: "365.23:59:59"} {
		if got := string(quota.AppendDuration(nil, secs)); got != want {
			t.Errorf("%d: %q, want %q", secs, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []string{
		`{}`, `{"renewal_period":60}`, `{"calls":0,"renewal_period":60}`, `{"bandwidth":0,"renewal_period":60}`,
		`{"calls":1}`, `{"calls":1,"renewal_period":0}`, `{"calls":1,"renewal_period":31622401}`,
		`{"calls":1,"renewal_period":60,"counter_key":"ip"}`, `{"calls":-1,"bandwidth":5,"renewal_period":60}`,
	} {
		if _, err := quota.New([]byte(c)); err == nil {
			t.Errorf("quota accepts %s", c)
		}
	}
	for _, c := range []string{
		`{"calls":1,"renewal_period":60}`, `{"calls":1,"renewal_period":60,"counter_key":"x"}`,
		`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":0}`,
		`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["2XX"]}`,
		`{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["200","200"]}`,
		`{"calls":1,"renewal_period":60,"counter_key":"ip","claims_variable":""}`,
	} {
		if _, err := quota.NewByKey([]byte(c)); err == nil {
			t.Errorf("quota-by-key accepts %s", c)
		}
	}
}
