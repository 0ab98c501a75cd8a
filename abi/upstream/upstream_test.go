package upstream

import (
	"strings"
	"testing"
	"time"
)

func TestParseRetry(t *testing.T) {
	r, err := ParseRetry([]byte(`{"count":3,"interval_ms":100,"statuses":[503],"classes":[5],"on_error":true}`))
	if err != nil || r.Count != 3 || r.Interval != 100*time.Millisecond || !r.Retryable(503) || !r.Retryable(599) || r.Retryable(404) {
		t.Fatalf("%+v %v", r, err)
	}
	if got := string(r.Encode()); got != `{"count":3,"interval_ms":100,"statuses":[503],"classes":[5],"on_error":true}` {
		t.Errorf("Encode = %s", got)
	}
	if r.Applies("POST") || !r.Applies("PUT") || !r.Applies("GET") {
		t.Errorf("Applies")
	}
	for _, bad := range []string{
		``, `{}`, `{"count":0,"interval_ms":0,"statuses":[503]}`, `{"count":51,"interval_ms":0,"statuses":[503]}`,
		`{"count":1,"interval_ms":-1,"statuses":[503]}`, `{"count":1,"interval_ms":300001,"statuses":[503]}`,
		`{"count":1,"interval_ms":0}`, `{"count":1,"interval_ms":0,"statuses":[99]}`, `{"count":1,"interval_ms":0,"classes":[6]}`,
		`{"count":1,"interval_ms":0,"statuses":[503],"x":1}`, `{"count":1,"interval_ms":0,"statuses":[503]} {}`,
		`{"count":1,"interval_ms":0,"statuses":[503],"delta_ms":` + strings.Repeat("9", 20) + `}`,
	} {
		if _, err := ParseRetry([]byte(bad)); err == nil {
			t.Errorf("ParseRetry(%s) accepted", bad)
		}
	}
}

func TestWait(t *testing.T) {
	exp := Retry{Count: 10, Interval: 10 * time.Second, Delta: 10 * time.Second, MaxInterval: 100 * time.Second}
	// APIM's example: about 10, 20, 40, 80, then 100 s
	for n, want := range []time.Duration{10, 20, 40, 80, 100, 100} {
		got := exp.Wait(n + 1)
		w := want * time.Second
		if got < w*8/10 || got > w*12/10 || got > exp.MaxInterval {
			t.Errorf("exponential wait %d = %v, want about %v", n+1, got, w)
		}
	}
	if w := (&Retry{Interval: time.Second, Delta: time.Second, FirstFast: true}).Wait(1); w != 0 {
		t.Errorf("first fast = %v", w)
	}
}

func TestParseTimeout(t *testing.T) {
	if d, err := ParseTimeout([]byte("1500")); err != nil || d != 1500*time.Millisecond {
		t.Errorf("%v %v", d, err)
	}
	for _, bad := range []string{"", "0", "-1", "600001", "1.5", "abc", "9999999999"} {
		if _, err := ParseTimeout([]byte(bad)); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", bad)
		}
	}
}
