package retry_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/upstream"
	"github.com/gatehouse/gatehouse/plugins/retry"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(retry.Name, retry.New) }

// failing answers 503 for the first n attempts, then 200.
func failing(n int, bodies *[]string) sdktest.Option {
	return sdktest.Backend(func(u *sdktest.Upstream) sdktest.Response {
		*bodies = append(*bodies, string(u.Body))
		if u.Attempt <= n {
			return sdktest.Response{Status: 503}
		}
		return sdktest.Response{Status: 200, Body: []byte("ok")}
	})
}

func TestRetry(t *testing.T) {
	h := sdktest.New()
	cfg := `{"condition":[502,503,504],"count":3,"interval":0}`
	var bodies []string
	res := h.Do(sdktest.Request{Method: "PUT", Body: []byte("b")}, sdktest.Attach(retry.Name, cfg), failing(2, &bodies))
	if res.Err != nil || res.Status != 200 || res.Attempts != 3 || strings.Join(bodies, ",") != "b,b,b" {
		t.Errorf("status %d attempts %d bodies %v err %v", res.Status, res.Attempts, bodies, res.Err)
	}
	// bounded by count
	bodies = nil
	res = h.Do(sdktest.Request{}, sdktest.Attach(retry.Name, cfg), failing(10, &bodies))
	if res.Status != 503 || res.Attempts != 4 {
		t.Errorf("status %d attempts %d", res.Status, res.Attempts)
	}
	// POST is not retried by default
	bodies = nil
	res = h.Do(sdktest.Request{Method: "POST"}, sdktest.Attach(retry.Name, cfg), failing(2, &bodies))
	if res.Status != 503 || res.Attempts != 1 {
		t.Errorf("POST: status %d attempts %d", res.Status, res.Attempts)
	}
	// unless asked
	bodies = nil
	res = h.Do(sdktest.Request{Method: "POST"}, sdktest.Attach(retry.Name, `{"condition":["5xx"],"count":3,"interval":0,"retry_non_idempotent":true}`), failing(2, &bodies))
	if res.Status != 200 || res.Attempts != 3 {
		t.Errorf("POST non-idempotent: status %d attempts %d", res.Status, res.Attempts)
	}
	// a status outside the condition is not retried
	bodies = nil
	res = h.Do(sdktest.Request{}, sdktest.Attach(retry.Name, `{"condition":[502],"count":3,"interval":0}`), failing(2, &bodies))
	if res.Status != 503 || res.Attempts != 1 {
		t.Errorf("503 not in condition: status %d attempts %d", res.Status, res.Attempts)
	}
}

// The spec the host gets is the config's, in whole milliseconds.
func TestSpec(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(retry.Name,
		`{"condition":[503,"5xx","429"],"count":10,"interval":0.5,"delta":2,"max_interval":30,"first_fast_retry":true,"retry_on_error":true}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r, err := upstream.ParseRetry([]byte(res.Upstream.Retry))
	if err != nil {
		t.Fatalf("%s: %v", res.Upstream.Retry, err)
	}
	if r.Count != 10 || r.Interval != 500*time.Millisecond || r.Delta != 2*time.Second || r.MaxInterval != 30*time.Second ||
		!r.FirstFast || !r.OnError || r.NonIdempotent || !r.Retryable(429) || !r.Retryable(500) || r.Retryable(404) {
		b, _ := json.Marshal(r)
		t.Errorf("spec %s", b)
	}
	// waits: first fast, then exponential from the interval
	if w := r.Wait(1); w != 0 {
		t.Errorf("wait 1 = %v", w)
	}
	if w := r.Wait(2); w != 500*time.Millisecond {
		t.Errorf("wait 2 = %v", w)
	}
	if w := r.Wait(3); w < 500*time.Millisecond+1600*time.Millisecond || w > 500*time.Millisecond+2400*time.Millisecond {
		t.Errorf("wait 3 = %v", w)
	}
	if w := r.Wait(20); w != 30*time.Second {
		t.Errorf("wait 20 = %v", w)
	}
}

func TestWaits(t *testing.T) {
	lin := upstream.Retry{Count: 5, Interval: time.Second, Delta: 2 * time.Second}
	if lin.Wait(1) != time.Second || lin.Wait(3) != 5*time.Second {
		t.Errorf("linear %v %v", lin.Wait(1), lin.Wait(3))
	}
	fixed := upstream.Retry{Count: 5, Interval: time.Second}
	if fixed.Wait(4) != time.Second {
		t.Errorf("fixed %v", fixed.Wait(4))
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"count":1,"interval":1}`, "condition is required"},
		{`{"condition":[],"count":1,"interval":1}`, "at least one"},
		{`{"condition":[99],"count":1,"interval":1}`, "not a status code"},
		{`{"condition":["5x"],"count":1,"interval":1}`, "not a status code"},
		{`{"condition":[503,"503"],"count":1,"interval":1}`, "listed twice"},
		{`{"condition":[503],"interval":1}`, "count is required"},
		{`{"condition":[503],"count":51,"interval":1}`, "count must be 1 to 50"},
		{`{"condition":[503],"count":1}`, "interval is required"},
		{`{"condition":[503],"count":1,"interval":-1}`, "interval must be 0 to 300"},
		{`{"condition":[503],"count":1,"interval":1,"delta":0}`, "delta must be above 0"},
		{`{"condition":[503],"count":1,"interval":1,"max_interval":5}`, "max_interval needs delta"},
	} {
		_, err := retry.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
