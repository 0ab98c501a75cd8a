package engine_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

type subs struct{}

func (subs) LookupSubscription(_ context.Context, key, api string) (engine.Subscription, bool, error) {
	if key != "bench-key" {
		return engine.Subscription{}, false, nil
	}
	return engine.Subscription{ID: "s1", State: "active", Scope: "all", APIAllowed: true}, true, nil
}

func benchEngine(b *testing.B) *engine.Engine { return benchEngineWith(b, engine.Budgets{}) }

// unbudgeted lifts the per-request budgets: BenchmarkABI makes hundreds of
// calls of one function per request to measure the host call, not a refusal.
var unbudgeted = engine.Budgets{AddedHeaders: 1 << 30, AddedHeaderBytes: 1 << 40, Vars: 1 << 30, VarBytes: 1 << 40, HeldSlots: 1 << 30, HeldLeases: 1 << 30}

func benchEngineWith(b *testing.B, budgets engine.Budgets) *engine.Engine {
	svc := &engine.Services{
		Counters:      counter.New(counter.Options{}),
		Cache:         vcache.New(1000, 1<<20),
		JWT:           jwtverify.New(jwtverify.Options{}),
		Subscriptions: subs{},
		Semaphores:    semaphore.New(),
		Leases:        vcache.NewLeases(0),
	}
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, Services: svc, Budgets: budgets})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	return e
}

const perCall = 200

// BenchmarkABI prices each host function: one guest call runs the function
// perCall times, and ns/hostcall is the time per host call (the guest call's
// own overhead, reported by BenchmarkCall, is amortized over perCall).
func BenchmarkABI(b *testing.B) {
	for _, trusted := range []bool{false, true} {
		name := "guarded"
		if trusted {
			name = "trusted"
		}
		b.Run(name, func(b *testing.B) { benchABI(b, trusted) })
	}
}

func benchABI(b *testing.B, trusted bool) {
	e := benchEngineWith(b, unbudgeted)
	m, err := e.Load(context.Background(), "abibench", "1", hosttest.Guest(b, "host/hosttest/guests/abibench"), engine.LoadOptions{Min: 1, Max: 1, Trusted: trusted})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "bench", "aud": "api", "exp": time.Now().Add(time.Hour).Unix(), "sub": "u1"}).
		SignedString([]byte("0123456789abcdef0123456789abcdef"))
	for _, hf := range append([]abi.HostFunc{{Name: "noop"}}, abi.HostFuncs()...) {
		arg := ""
		switch hf.Name {
		case abi.FnJWTVerify:
			arg = ":" + tok
		case abi.FnSubscriptionLookup:
			arg = ":bench-key"
		}
		hdr := http.Header(nil)
		if hf.Name == abi.FnSubscriptionCheck {
			hdr = http.Header{"X-Key": {"bench-key"}}
		}
		cfg, _ := json.Marshal(hf.Name + ":" + strconv.Itoa(perCall) + arg)
		p, err := m.NewPlan(m.Attach("bench", cfg))
		if err != nil {
			b.Fatal(err)
		}
		phase := engine.PhaseRequest
		if hf.Name == abi.FnSetStatus || hf.Name == abi.FnGetStatus {
			phase = engine.PhaseResponse
		}
		b.Run(hf.Name, func(b *testing.B) {
			ex := benchExchange()
			for k, v := range hdr {
				ex.ReqHeader[k] = v
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ex.Phase = phase
				if _, err := m.Call(ex, phase, p, engine.CallOptions{Deadline: 5 * time.Second}); err != nil {
					b.Fatal(err)
				}
				if hf.Name == abi.FnAddHeader {
					ex.RespHeader = http.Header{}
				}
				ex.ReleaseHeld() // concurrency_acquire, cache_fill_lease: the slots and leases end with the call

			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perCall, "ns/hostcall")
		})
	}
}

func benchExchange() *engine.Exchange {
	ex := &engine.Exchange{Method: "GET", Path: "/pets/1", Query: "a=1", RequestID: "r1", API: "pets",
		ReqHeader:  http.Header{"X-Bench": {"v"}, "Accept": {"*/*"}, "User-Agent": {"bench"}},
		RespHeader: http.Header{}, Status: 200,
		Params:  []engine.Param{{Name: "id", Value: "1"}},
		ReqBody: engine.Body{Src: strings.NewReader(`{"a":1}`), Limit: 1 << 20}}
	ex.ReqBody.Load([]byte(`{"a":1}`)) // received by the gateway before the call
	return ex
}

// BenchmarkCall is the cost of one guest call that does nothing: pool
// borrow, watchdog arm, wazero call (incl. its per-call goroutine), return.
func BenchmarkCall(b *testing.B) {
	for _, trusted := range []bool{false, true} {
		name := "guarded"
		if trusted {
			name = "trusted"
		}
		b.Run(name, func(b *testing.B) { benchCall(b, trusted) })
	}
}

func benchCall(b *testing.B, trusted bool) {
	e := benchEngine(b)
	m, err := e.Load(context.Background(), "abibench", "1", hosttest.Guest(b, "host/hosttest/guests/abibench"), engine.LoadOptions{Min: 2, Max: 2, Trusted: trusted})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := m.NewPlan(m.Attach("bench", []byte(`"noop:1"`)))
	b.Run("serial", func(b *testing.B) {
		ex := benchExchange()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ex := benchExchange()
			for pb.Next() {
				if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkInstanceRSS measures resident memory per warm instance of a Go
// guest (the design budget is 4 MiB): it warms 16 instances, runs a call on
// each, and reports the RSS growth per instance.
func BenchmarkInstanceRSS(b *testing.B) {
	for _, g := range []string{"host/hosttest/guests/probe"} {
		b.Run(g[strings.LastIndex(g, "/")+1:], func(b *testing.B) {
			const n = 16
			e := benchEngine(b)
			bin := hosttest.Guest(b, g)
			m, err := e.Load(context.Background(), "rss", "1", bin, engine.LoadOptions{Min: 1, Max: n})
			if err != nil {
				b.Fatal(err)
			}
			// each call busy-waits 30ms so all n are borrowed at once
			p, _ := m.NewPlan(m.Attach("bench", []byte(`"sleep-ms:30"`)))
			runtime.GC()
			before := rssBytes()
			// Grow the pool once, whatever b.N: the metric is per instance,
			// and repeating the burst only adds Go heap noise.
			for i := 0; i < 1; i++ {
				// hold n instances at once so the pool grows to n
				done := make(chan struct{})
				started := make(chan struct{}, n)
				for j := 0; j < n; j++ {
					go func() {
						started <- struct{}{}
						ex := benchExchange()
						m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 10 * time.Second})
						<-done
					}()
				}
				for j := 0; j < n; j++ {
					<-started
				}
				close(done)
			}
			time.Sleep(100 * time.Millisecond)
			runtime.GC()
			_, total := m.PoolStats()
			after := rssBytes()
			if total > 1 {
				b.ReportMetric(float64(after-before)/float64(total-1)/(1<<20), "MiB/instance")
			}
			b.ReportMetric(float64(total), "instances")
			// The guest memory part, exactly (not the process's RSS,
			// which the Go heap's ups and downs blur).
			if size, res := e.GuestMemory(); total > 0 {
				b.ReportMetric(float64(size)/float64(total)/(1<<20), "MiB-linear/instance")
				b.ReportMetric(float64(res)/float64(total)/(1<<20), "MiB-resident/instance")
			}
		})
	}
}

// BenchmarkBuiltinPolicy prices each built-in policy's guest call(s) in the
// trusted runtime, without HTTP: the request phase on a fresh exchange.
func BenchmarkBuiltinPolicy(b *testing.B) {
	e := benchEngine(b)
	m, err := e.Load(context.Background(), "builtin", "1", hosttest.Guest(b, "plugins/builtin"), engine.LoadOptions{Min: 1, Max: 1, Trusted: true, Builtin: true})
	if err != nil {
		b.Fatal(err)
	}
	// An HS256 token the validate-jwt case checks on every call (compare
	// with host/jwtverify's BenchmarkVerifyHS256: the host's own cost).
	secret := "bench-secret-0123456789abcdef0123456789"
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "i", "aud": "a", "sub": "s",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}).SignedString([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ policy, cfg string }{
		{"set-header", `{"name":"X-Bench","value":"1"}`},
		{"subscription-key", `{}`},
		{"rate-limit", `{"calls":1000000000,"renewal_period":60}`},
		{"cache-lookup", `{}`},
		{"validate-jwt", `{"algorithms":["HS256"],"issuers":["i"],"audiences":["a"],"hmac_secret":"` + secret + `"}`},
	} {
		p, err := m.NewPlan(m.Attach(c.policy, []byte(c.cfg)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.policy, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ex := benchExchange()
				ex.ReqHeader.Set("Ocp-Apim-Subscription-Key", "bench-key")
				ex.ReqHeader.Set("Authorization", "Bearer "+tok)
				if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: time.Second}); err != nil || ex.Answered {
					b.Fatalf("%s: err %v, answered %d", c.policy, err, ex.Status)
				}
			}
		})
	}
}

// BenchmarkBudgetWorstCase is one request that takes every per-request
// budget to its limit through a raw-ABI guest: 64 added headers of ≈1 KiB
// (64 KiB), 256 variables of ≈1 KiB (256 KiB), 16 concurrency slots on a
// 512-byte key and 16 fill leases. B/op is what the host allocated for that
// request (a fresh Exchange each time): an upper bound of what the budgets
// let one request hold. Compare with the "baseline" case (the same call
// doing nothing).
func BenchmarkBudgetWorstCase(b *testing.B) {
	e := benchEngine(b)
	m, err := e.Load(context.Background(), "hostile", "1", hosttest.Guest(b, "host/hosttest/guests/hostile"), engine.LoadOptions{Min: 1, Max: 1})
	if err != nil {
		b.Fatal(err)
	}
	p, err := m.NewPlan(m.Attach("hostile", nil))
	if err != nil {
		b.Fatal(err)
	}
	key := hex.EncodeToString([]byte(strings.Repeat("k", abi.MaxKey)))
	for _, c := range []struct{ name, cmd string }{
		{"baseline", "spin:0"},
		{"all-budgets", "add-header:1000:1000;set-var:1000:1000;acquire:" + key + ":1000:1000;lease:1000:0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ex := benchExchange()
				ex.ReqHeader.Set("X-Cmd", c.cmd)
				if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 5 * time.Second}); err != nil {
					b.Fatal(err)
				}
				if c.name != "baseline" && len(ex.BudgetRefusals()) != 4 {
					b.Fatalf("refusals %v", ex.BudgetRefusals())
				}
				ex.Reset()
			}
		})
	}
}

// BenchmarkInstantiate prices one new warm instance of the built-in module
// (its memory made and grown, data applied, the Go runtime's _initialize,
// the ABI check): what a pool pays when it grows under a burst, and a start
// once its compile is done. The compile is shared by every Load of the
// same bytes while one is open (compiled.go), so the loop pays none.
func BenchmarkInstantiate(b *testing.B) {
	e := benchEngine(b)
	bin := hosttest.Guest(b, "plugins/builtin")
	opts := engine.LoadOptions{Min: 1, Max: 1, Trusted: true, Builtin: true}
	keep, err := e.Load(context.Background(), "builtin", "1", bin, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer keep.Close(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		m, err := e.Load(context.Background(), "builtin", "1", bin, opts)
		if err != nil {
			b.Fatal(err)
		}
		m.Close(context.Background())
	}
}

// BenchmarkBuiltinInstanceMemory reports the linear memory of a warm
// built-in instance and its resident part (engine.GuestMemory), over a pool
// of 4 made at load, after one set-header call on each.
func BenchmarkBuiltinInstanceMemory(b *testing.B) {
	const n = 4
	e := benchEngine(b)
	m, err := e.Load(context.Background(), "builtin", "1", hosttest.Guest(b, "plugins/builtin"), engine.LoadOptions{Min: n, Max: n, Trusted: true, Builtin: true})
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if e.LiveInstances() >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the pool did not fill")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p, err := m.NewPlan(m.Attach("set-header", []byte(`{"name":"X-Bench","value":"1"}`)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for range n {
			if _, err := m.Call(benchExchange(), engine.PhaseRequest, p, engine.CallOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	total := e.LiveInstances()
	size, res := e.GuestMemory()
	b.ReportMetric(float64(size)/float64(total)/(1<<20), "MiB-linear/instance")
	b.ReportMetric(float64(res)/float64(total)/(1<<20), "MiB-resident/instance")
}
