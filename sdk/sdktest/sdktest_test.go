package sdktest

import (
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk"
)

// newX returns an exchange in the middle of a guest call of the phase.
func newX(t *testing.T, h *Host, phase int, req Request) *exchange {
	t.Helper()
	x := h.newExchange(req)
	x.setPhase(phase)
	x.handle = 7
	return x
}

func TestBufferConventionIsExact(t *testing.T) {
	val := strings.Repeat("v", 3000)
	x := newX(t, New(), phaseRequest, Request{Header: http.Header{"X-Big": {val}}})
	name := []byte("X-Big")
	for _, size := range []int{0, 1, 2999} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = '#'
		}
		if n := x.GetHeader(7, abi.KindRequest, name, buf); n != 3000 {
			t.Fatalf("cap %d: n = %d", size, n)
		}
		if strings.Trim(string(buf), "#") != "" {
			t.Errorf("cap %d: the host wrote into a buffer that was too small", size)
		}
	}
	buf := make([]byte, 3000)
	if n := x.GetHeader(7, abi.KindRequest, name, buf); n != 3000 || string(buf) != val {
		t.Errorf("exact cap: n = %d", n)
	}
}

func TestStaleContextTraps(t *testing.T) {
	x := newX(t, New(), phaseRequest, Request{})
	defer func() {
		if v := recover(); v == nil || !strings.Contains(v.(string), "stale ctx") {
			t.Errorf("recover() = %v", v)
		}
	}()
	x.GetField(8, abi.FieldMethod, nil)
}

func TestPhaseRules(t *testing.T) {
	h := New()
	req := newX(t, h, phaseRequest, Request{})
	resp := newX(t, h, phaseResponse, Request{})
	resp.ex.Status, resp.ex.RespHeader = 200, http.Header{}
	for _, tc := range []struct {
		name string
		got  int32
		want int32
	}{
		{"set_status in request", req.SetStatus(7, 200), abi.ErrPhase},
		{"get_status before an answer", req.GetStatus(7), abi.ErrNotFound},
		{"send_response in response", resp.SendResponse(7, 200, nil), abi.ErrPhase},
		{"send_response bad code", req.SendResponse(7, 600, nil), abi.ErrInvalid},
		{"set_field in response", resp.SetField(7, abi.FieldPath, []byte("/x")), abi.ErrPhase},
		{"set_field read-only field", req.SetField(7, abi.FieldAPI, []byte("x")), abi.ErrInvalid},
		{"get_field unknown", req.GetField(7, 99, nil), abi.ErrInvalid},
		{"set_header request kind in response", resp.SetHeader(7, abi.KindRequest, []byte("A"), []byte("b")), abi.ErrPhase},
		{"set_header bad kind", req.SetHeader(7, 2, []byte("A"), []byte("b")), abi.ErrInvalid},
		{"set_body response kind in request", req.SetBody(7, abi.KindResponse, nil), abi.ErrPhase},
		{"set_body request kind in response", resp.SetBody(7, abi.KindRequest, nil), abi.ErrPhase},
		{"get_body response kind in request", req.GetBody(7, abi.KindResponse, nil), abi.ErrPhase},
		{"set_status out of range", resp.SetStatus(7, 99), abi.ErrInvalid},
		{"get_attachment unknown", req.GetAttachment(7, 1<<30, 0, nil), abi.ErrNotFound},
		{"get_plan unknown", req.GetPlan(7, 1<<30, nil), abi.ErrNotFound},
		{"log bad level", req.Log(7, 4, nil), abi.ErrInvalid},
		{"random too long", req.Random(make([]byte, 1025)), abi.ErrInvalid},
		{"cache_set bad ttl", req.CacheSet(7, []byte("k"), nil, 0), abi.ErrInvalid},
		{"cache_set empty key", req.CacheSet(7, nil, nil, 1000), abi.ErrInvalid},
		{"var name too long", req.SetVar(7, make([]byte, 129), nil), abi.ErrInvalid},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	var out [16]byte
	if st := req.CounterAdd(7, []byte("k"), 1, 0, 0, 0, &out); st != abi.ErrInvalid {
		t.Errorf("counter zero window: %d", st)
	}
	if st := req.CounterAdd(7, []byte("k"), 1, 0, 1000, 0x4, &out); st != abi.ErrInvalid {
		t.Errorf("counter bad mode: %d", st)
	}
}

func TestResponseKindInRequestIsTheEarlyAnswer(t *testing.T) {
	x := newX(t, New(), phaseRequest, Request{})
	if st := x.SetHeader(7, abi.KindResponse, []byte("x-a"), []byte("1")); st != abi.OK {
		t.Fatal(st)
	}
	if st := x.SendResponse(7, 401, []byte("no")); st != abi.OK {
		t.Fatal(st)
	}
	if x.GetStatus(7) != 401 || x.ex.RespHeader.Get("X-A") != "1" || string(x.ex.RespBody.Bytes) != "no" {
		t.Errorf("answer = %d %v %q", x.ex.Status, x.ex.RespHeader, x.ex.RespBody.Bytes)
	}
}

func TestGetHeadersFormat(t *testing.T) {
	x := newX(t, New(), phaseRequest, Request{Header: http.Header{"b": {"2", "3"}, "A": {"1"}}})
	buf := make([]byte, 64)
	n := x.GetHeaders(7, abi.KindRequest, buf)
	if got := string(buf[:n]); got != "A\x001\x00B\x002\x00B\x003\x00" {
		t.Errorf("get_headers = %q", got)
	}
}

func TestCounterOut(t *testing.T) {
	h := New()
	now := time.UnixMilli(1_700_000_000_500)
	h.Now = func() time.Time { return now }
	x := newX(t, h, phaseRequest, Request{})
	var out [16]byte
	for i, want := range []int32{abi.OK, abi.ErrLimit} {
		if st := x.CounterAdd(7, []byte("k"), 1, 1, 1000, abi.CounterFixed, &out); st != want {
			t.Errorf("add %d: %d, want %d", i, st, want)
		}
		count := int64(binary.LittleEndian.Uint64(out[:8]))
		reset := int64(binary.LittleEndian.Uint64(out[8:]))
		if count != 1 || reset != 1_700_000_001_000 {
			t.Errorf("add %d: count %d reset %d", i, count, reset)
		}
	}
}

func TestDefaults(t *testing.T) {
	res := New().Do(Request{Path: "/a?b=1"})
	if res.Err != nil || res.Status != 200 || string(res.Body) != "ok" || res.Upstream == nil ||
		res.Upstream.Method != "GET" || res.Upstream.Path != "/a" || res.Upstream.Query != "b=1" || len(res.Calls) != 0 {
		t.Errorf("res = %+v", res)
	}
}

func TestUnavailableCapabilities(t *testing.T) {
	h := New()
	h.Counters, h.Cache, h.JWT, h.Subscriptions, h.Semaphores, h.Leases = nil, nil, nil, nil, nil, nil
	x := newX(t, h, phaseRequest, Request{})
	var out [16]byte
	for name, st := range map[string]int32{
		"counter_add":         x.CounterAdd(7, []byte("k"), 1, 0, 1000, 0, &out),
		"cache_get":           x.CacheGet(7, []byte("k"), nil),
		"cache_set":           x.CacheSet(7, []byte("k"), nil, 1000),
		"cache_del":           x.CacheDel(7, []byte("k")),
		"jwt_verify":          x.JWTVerify(7, nil, nil, nil),
		"subscription_lookup": x.SubscriptionLookup(7, []byte("k"), nil),
		"concurrency_acquire": x.ConcurrencyAcquire(7, []byte("k"), 1),
		"cache_fill_lease":    x.CacheFillLease(7, []byte("k"), 1),
	} {
		if st != abi.ErrUnavail {
			t.Errorf("%s = %d", name, st)
		}
	}
}

func TestFailureAndTrapText(t *testing.T) {
	f := &Failure{Phase: "request", Result: abi.ErrInvalid, Message: "p: bad"}
	if f.Error() != "sdktest: request phase failed with -2 (invalid argument): p: bad" {
		t.Errorf("%q", f.Error())
	}
	var err error = &Trap{Value: "x"}
	if !strings.Contains(err.Error(), "trapped: x") || errors.Is(err, sdk.ErrInvalid) {
		t.Errorf("%q", err.Error())
	}
}

// The backend fields (ABI v1.1): host checks, defaults and phase rules.
func TestBackendFields(t *testing.T) {
	strict := newX(t, New(), phaseRequest, Request{Backend: "https://api.internal"})
	if st := strict.SetField(7, abi.FieldBackendURL, []byte("http://10.0.0.1:8080/v2")); st != abi.ErrInvalid {
		t.Errorf("private override without an allow-list: %d", st)
	}
	if len(strict.logs) != 1 || !strings.Contains(strict.logs[0].Message, "10.0.0.1 is a private address") {
		t.Errorf("refusal not logged: %+v", strict.logs)
	}
	for _, v := range []string{"http://2852039166/", "http://[::ffff:127.0.0.1]/", "http://127.1/", "http://localhost/", "http://api.internal@127.0.0.1/"} {
		if st := strict.SetField(7, abi.FieldBackendURL, []byte(v)); st != abi.ErrInvalid {
			t.Errorf("%s: %d", v, st)
		}
	}
	x := newX(t, New(), phaseRequest, Request{Backend: "https://api.internal", BackendTimeout: 2 * time.Second, EgressAllow: []string{"10.0.0.0/8"}})
	get := func(f int32) string {
		buf := make([]byte, 256)
		n := x.GetField(7, f, buf)
		if n < 0 {
			t.Fatalf("get %d: %d", f, n)
		}
		return string(buf[:n])
	}
	if get(abi.FieldBackendURL) != "https://api.internal" || get(abi.FieldBackendTimeout) != "2000" ||
		get(abi.FieldBackendRetry) != "" || get(abi.FieldBackendFollowRedirects) != "false" {
		t.Errorf("defaults")
	}
	for _, tc := range []struct {
		f   int32
		v   string
		st  int32
		get string
	}{
		{abi.FieldBackendURL, "http://10.0.0.1:8080/v2", abi.OK, "http://10.0.0.1:8080/v2"},
		{abi.FieldBackendURL, "http://169.254.169.254/", abi.ErrInvalid, "http://10.0.0.1:8080/v2"},
		{abi.FieldBackendURL, "https://u:p@x", abi.ErrInvalid, ""},
		{abi.FieldBackendURL, "https://x/?q", abi.ErrInvalid, ""},
		{abi.FieldBackendTimeout, "1500", abi.OK, "1500"},
		{abi.FieldBackendTimeout, "0", abi.ErrInvalid, "1500"},
		{abi.FieldBackendRetry, `{"count":2,"interval_ms":10,"statuses":[503]}`, abi.OK, `{"count":2,"interval_ms":10,"statuses":[503]}`},
		{abi.FieldBackendRetry, `{"count":2}`, abi.ErrInvalid, ""},
		{abi.FieldBackendRetry, ``, abi.OK, ""},
		{abi.FieldBackendFollowRedirects, "true", abi.OK, "true"},
		{abi.FieldBackendFollowRedirects, "yes", abi.ErrInvalid, "true"},
	} {
		if st := x.SetField(7, tc.f, []byte(tc.v)); st != tc.st {
			t.Errorf("set %d %q = %d, want %d", tc.f, tc.v, st, tc.st)
		}
		if tc.get != "" || tc.st == abi.OK {
			if got := get(tc.f); got != tc.get {
				t.Errorf("after set %d %q: get %q, want %q", tc.f, tc.v, got, tc.get)
			}
		}
	}
	x.setPhase(phaseResponse)
	if st := x.SetField(7, abi.FieldBackendURL, []byte("https://x")); st != abi.ErrPhase {
		t.Errorf("response phase: %d", st)
	}
}

func TestRetryEncodingMatchesHost(t *testing.T) {
	r := sdk.Retry{Count: 3, Interval: time.Second, Delta: 2 * time.Second, MaxInterval: 10 * time.Second, FirstFast: true,
		Statuses: []int{502, 503}, Classes: []int{5}, NonIdempotent: true, OnError: true}
	x := newX(t, New(), phaseRequest, Request{})
	if st := x.SetField(7, abi.FieldBackendRetry, r.Encode()); st != abi.OK {
		t.Fatalf("host refused %s", r.Encode())
	}
	if got := string(x.ex.Backend.Retry.Encode()); got != string(r.Encode()) {
		t.Errorf("host %s, sdk %s", got, r.Encode())
	}
}

// TestRequestBudgetsMatchHost: the emulator refuses what the host refuses
// (abi/ABI.md §8): added headers by count and bytes, variables by count and
// bytes, concurrency slots and fill leases held, keys over abi.MaxKey.
func TestRequestBudgetsMatchHost(t *testing.T) {
	h := New()
	x := newX(t, h, phaseRequest, Request{})
	fill := func(n int, f func(i int) int32) (ok int, st int32) {
		for i := 0; i < n; i++ {
			if st = f(i); st != abi.OK {
				return ok, st
			}
			ok++
		}
		return ok, st
	}
	name := func(i int) []byte { return []byte("X-H-" + strings.Repeat("0", 4-len(itoa(i))) + itoa(i)) }
	if ok, st := fill(1000, func(i int) int32 { return x.AddHeader(7, abi.KindRequest, name(i), []byte("v")) }); ok != abi.MaxAddedHeaders || st != abi.ErrTooLarge {
		t.Errorf("add_header: %d stored, status %d", ok, st)
	}
	x = newX(t, h, phaseRequest, Request{})
	big := []byte(strings.Repeat("v", 16000))
	if ok, st := fill(100, func(i int) int32 { return x.SetHeader(7, abi.KindRequest, name(i), big) }); ok != 4 || st != abi.ErrTooLarge {
		t.Errorf("set_header bytes: %d stored, status %d", ok, st)
	}
	x = newX(t, h, phaseRequest, Request{})
	if ok, st := fill(1000, func(i int) int32 { return x.SetVar(7, name(i), []byte("v")) }); ok != abi.MaxVars || st != abi.ErrTooLarge {
		t.Errorf("set_var: %d stored, status %d", ok, st)
	}
	x = newX(t, h, phaseRequest, Request{})
	if ok, st := fill(1000, func(i int) int32 { return x.SetVar(7, name(i), []byte(strings.Repeat("v", 8000))) }); ok != 32 || st != abi.ErrTooLarge {
		t.Errorf("set_var bytes: %d stored, status %d", ok, st)
	}
	if ok, st := fill(1000, func(i int) int32 { return x.ConcurrencyAcquire(7, []byte("k"), 1<<30) }); ok != abi.MaxHeldSlots || st != abi.ErrTooLarge {
		t.Errorf("concurrency_acquire: %d held, status %d", ok, st)
	}
	if ok, st := fill(1000, func(i int) int32 { return x.CacheFillLease(7, name(i), 0) }); ok != abi.MaxHeldLeases || st != abi.ErrTooLarge {
		t.Errorf("cache_fill_lease: %d held, status %d", ok, st)
	}
	x.ex.ReleaseHeld()
	long := []byte(strings.Repeat("k", abi.MaxKey+1))
	var out [16]byte
	if st := x.CounterAdd(7, long, 1, 0, 1000, abi.CounterFixed, &out); st != abi.ErrInvalid {
		t.Errorf("counter_add with a %d-byte key: %d", len(long), st)
	}
	if st := x.CacheSet(7, long, []byte("v"), 1000); st != abi.ErrInvalid {
		t.Errorf("cache_set with a %d-byte key: %d", len(long), st)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
