package gateway_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/metrics"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// The stores below are the real ones; the wrappers only record the keys
// the built-in policies use, so the attacks aim at the real keys.

type recCache struct {
	*vcache.Cache
	mu   sync.Mutex
	sets []string
}

func (c *recCache) Set(key string, val []byte, ttl time.Duration, now time.Time) error {
	c.mu.Lock()
	c.sets = append(c.sets, key)
	c.mu.Unlock()
	return c.Cache.Set(key, val, ttl, now)
}

type ctrUse struct {
	key    string
	window time.Duration
	mode   int32
}

type recCounters struct {
	*counter.Store
	mu   sync.Mutex
	uses []ctrUse
}

func (c *recCounters) Add(key string, delta, limit int64, window time.Duration, mode int32, now time.Time) (int64, time.Time, bool, error) {
	c.mu.Lock()
	c.uses = append(c.uses, ctrUse{key, window, mode})
	c.mu.Unlock()
	return c.Store.Add(key, delta, limit, window, mode, now)
}

type recSems struct {
	*semaphore.Set
	mu   sync.Mutex
	keys []string
}

func (s *recSems) Acquire(key string, limit int64) bool {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	return s.Set.Acquire(key, limit)
}

type syncLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSandboxAttacks runs a hostile module (raw ABI, no SDK) attached to
// its own APIs against built-in policies of another API, through the real
// gateway over loopback: cross-module cache read and poison, quota counter
// inflation, limit-concurrency slot hoarding, unbounded add_header and
// set_var, and pool exhaustion of a fail_mode open attachment (fails
// closed) without starving another API. Refusals are named in the gateway
// log, never in what the API caller gets from the host.
func TestSandboxAttacks(t *testing.T) {
	ctx := context.Background()
	cache := &recCache{Cache: vcache.New(1000, 1<<20)}
	ctrs := &recCounters{Store: counter.New(counter.Options{})}
	sems := &recSems{Set: semaphore.New()}
	logs := &syncLines{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: logger,
		Services: &engine.Services{Cache: cache, Counters: ctrs, Semaphores: sems, Leases: vcache.NewLeases(0)}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	be := newBackend(t)
	evil := func(failMode string) gateway.Step {
		return gateway.Step{Module: "hostile", Policy: "hostile", FailMode: failMode, Timeout: gateway.Duration(10 * time.Second)}
	}
	cfg := &gateway.Config{
		Modules: []gateway.ModuleSpec{{Name: "hostile", Wasm: hosttest.Guest(t, "host/hosttest/guests/hostile"), MinInstances: 1, MaxInstances: 2}},
		APIs: []gateway.API{
			{Name: "victim", PathPrefix: "/victim", Backend: be.URL, Policies: gateway.Policy{Inbound: []gateway.Step{
				{Policy: "cache-store-value", Config: []byte(`{"key":"profile","value":"trusted","duration":300}`)},
				{Policy: "quota-by-key", Config: []byte(`{"calls":10,"renewal_period":3600,"counter_key":"header:X-Tenant"}`)},
				{Policy: "limit-concurrency", Config: []byte(`{"max_count":1,"counter_key":"header:X-Tenant"}`)},
			}}},
			{Name: "attacker", PathPrefix: "/attacker", Backend: be.URL, Policies: gateway.Policy{Inbound: []gateway.Step{evil("")}}},
			{Name: "open", PathPrefix: "/open", Backend: be.URL, Policies: gateway.Policy{Inbound: []gateway.Step{evil("open")}}},
		},
	}
	met := metrics.New()
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Logger: logger,
		Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test", Metrics: met})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	met.Watch(metrics.Sources{Gateway: g, Engine: e})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	en := &env{t: t, srv: srv, be: be}
	tenant := http.Header{"X-Tenant": {"t1"}}
	cmd := func(c string) http.Header { return http.Header{"X-Cmd": {c}} }
	hx := func(s string) string { return hex.EncodeToString([]byte(s)) }

	// The victim's built-ins run once: their real keys are recorded.
	if resp, body := en.do("GET", "/victim/x", tenant, ""); resp.StatusCode != 200 {
		t.Fatalf("victim: %d %s", resp.StatusCode, body)
	}
	if len(cache.sets) != 1 || len(ctrs.uses) == 0 || len(sems.keys) != 1 {
		t.Fatalf("recorded cache %q counters %v semaphores %q", cache.sets, ctrs.uses, sems.keys)
	}
	cacheKey, semKey := cache.sets[0], sems.keys[0]
	if strings.HasPrefix(cacheKey, "\x00") || !strings.Contains(cacheKey, "profile") {
		t.Fatalf("built-in cache key %q: not the built-in's unprefixed key", cacheKey)
	}

	// Cross-module cache read, then poison and delete.
	if resp, body := en.do("GET", "/attacker/x", cmd("cache-get:"+hx(cacheKey)), ""); body != fmt.Sprintf("st=%d", abi.ErrNotFound) {
		t.Errorf("attacker read the victim's cache entry: %d %q", resp.StatusCode, body)
	}
	en.do("GET", "/attacker/x", cmd("cache-set:"+hx(cacheKey)+":"+hx("poison")+";cache-del:"+hx(cacheKey)), "")
	if v, ok := cache.Get(cacheKey, time.Now()); !ok || string(v) != "trusted" {
		t.Errorf("victim's cache entry poisoned: %q %v", v, ok)
	}

	// Quota inflation: 2^62 on every counter key the victim's quota uses.
	for _, u := range ctrs.uses {
		c := fmt.Sprintf("counter:%s:%d:%d:%d", hx(u.key), int64(1)<<62, u.window.Milliseconds(), u.mode)
		if _, body := en.do("GET", "/attacker/x", cmd(c), ""); body != fmt.Sprintf("st=0 count=%d", int64(1)<<62) {
			t.Errorf("attacker counter add: %q", body)
		}
	}
	for i := 0; i < 3; i++ {
		if resp, body := en.do("GET", "/victim/x", tenant, ""); resp.StatusCode != 200 {
			t.Fatalf("victim after quota inflation: %d %s", resp.StatusCode, body)
		}
	}

	// Slot hoarding: the attacker takes 16 slots of the victim's key and
	// holds them; the victim's limit-concurrency (max 1) still admits.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, body := en.do("GET", "/attacker/x", cmd("acquire:"+hx(semKey)+":1000:16;spin:1500"), ""); !strings.HasPrefix(body, "ok=16 st=0") {
			t.Errorf("attacker acquire: %q", body)
		}
	}()
	waitFor(t, func() bool { return sems.Len() > 0 })
	if resp, body := en.do("GET", "/victim/x", tenant, ""); resp.StatusCode != 200 {
		t.Errorf("victim while the attacker hoards slots: %d %s", resp.StatusCode, body)
	}
	wg.Wait()

	// Unbounded add_header and set_var stop at the request budgets (65
	// variables of 4000 bytes and their names fill the 256 KiB).
	if _, body := en.do("GET", "/attacker/x", cmd("add-header:100000:8;set-var:100000:4000"), ""); body != fmt.Sprintf("ok=%d st=%d\nok=65 st=%d", abi.MaxAddedHeaders, abi.ErrTooLarge, abi.ErrTooLarge) {
		t.Errorf("budgets: %q", body)
	}

	// Pool exhaustion: an "open" attachment whose API holds its share of
	// the pool fails closed (503, backend not called); another API is served.
	wg.Add(1)
	go func() {
		defer wg.Done()
		en.do("GET", "/open/x", cmd("spin:2500"), "")
	}()
	waitFor(t, func() bool {
		for _, m := range g.Modules() {
			if idle, total := m.PoolStats(); m.Name == "hostile" && total-idle >= 1 {
				return true
			}
		}
		return false
	})
	hits := be.hits.Load()
	resp, body := en.do("GET", "/open/x", cmd("pass"), "")
	if resp.StatusCode != http.StatusServiceUnavailable || be.hits.Load() != hits {
		t.Errorf("exhausted fail_mode open: %d %q, backend hits +%d (want 503, none)", resp.StatusCode, body, be.hits.Load()-hits)
	}
	if strings.Contains(body, "exhaust") || strings.Contains(body, "hostile") {
		t.Errorf("the caller learns the reason: %q", body)
	}
	if resp, body := en.do("GET", "/attacker/x", cmd("cache-get:00"), ""); resp.StatusCode != 200 {
		t.Errorf("other API starved: %d %q", resp.StatusCode, body)
	}
	wg.Wait()

	log := logs.String()
	for _, want := range []string{`host refused add_header: request budget \"added headers\"`, `host refused set_var: request budget \"variable bytes\"`, "pool exhausted", `API \"open\" holds 1 of its 1`} {
		if !strings.Contains(log, want) {
			t.Errorf("gateway log lacks %q", want)
		}
	}
	mfs, err := met.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_module_pool_exhaustions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "module" && l.GetValue() == "hostile" && m.GetCounter().GetValue() == 1 {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("gatehouse_module_pool_exhaustions_total{module=\"hostile\"} is not 1")
	}
}

func waitFor(t testing.TB, f func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if f() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 5s")
}
