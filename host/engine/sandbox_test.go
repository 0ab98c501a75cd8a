package engine_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// sandbox is an engine with real node-wide stores and a captured log.
type sandbox struct {
	e     *engine.Engine
	cache *vcache.Cache
	ctrs  *counter.Store
	sems  *semaphore.Set
	log   *lines
}

func newSandbox(t *testing.T, o engine.Options) *sandbox {
	t.Helper()
	s := &sandbox{cache: vcache.New(1000, 1<<20), ctrs: counter.New(counter.Options{}), sems: semaphore.New(), log: &lines{}}
	o.CacheDir = cacheDir
	o.Logger = slog.New(slog.NewTextHandler(s.log, nil))
	o.Services = &engine.Services{Cache: s.cache, Counters: s.ctrs, Semaphores: s.sems, Leases: vcache.NewLeases(0)}
	e, err := engine.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	s.e = e
	return s
}

func (s *sandbox) load(t *testing.T, name string, po engine.LoadOptions) *engine.Module {
	t.Helper()
	if po.Max == 0 {
		po.Min, po.Max = 1, 2
	}
	m, err := s.e.Load(context.Background(), name, "1.0.0", hosttest.Guest(t, "host/hosttest/guests/hostile"), po)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hostile runs the hostile guest's commands (see its doc) in one call of api
// and returns its answer lines and the exchange.
func hostile(t *testing.T, m *engine.Module, api string, cmds ...string) ([]string, *engine.Exchange) {
	t.Helper()
	p, err := m.NewPlan(m.Attach("hostile", nil))
	if err != nil {
		t.Fatal(err)
	}
	ex := newExchange()
	ex.API = api
	ex.ReqHeader.Set("X-Cmd", strings.Join(cmds, ";"))
	if _, err := m.Call(ex, engine.PhaseRequest, p, relaxed); err != nil {
		t.Fatalf("%v: %v", cmds, err)
	}
	return strings.Split(string(ex.RespBody.Bytes), "\n"), ex
}

func hx(s string) string { return hex.EncodeToString([]byte(s)) }

// TestNamespaceIsolation: a module reaches only its own namespace's cache
// entries, counters and semaphores, whatever key it crafts; the built-in
// namespace (keys stored as written) is out of every other module's reach;
// modules share only through an explicit common Namespace.
func TestNamespaceIsolation(t *testing.T) {
	s := newSandbox(t, engine.Options{})
	builtin := s.load(t, "builtin", engine.LoadOptions{Builtin: true})
	evil := s.load(t, "evil", engine.LoadOptions{})
	namedBuiltin := s.load(t, "builtin", engine.LoadOptions{}) // an upload named like the built-in
	other := s.load(t, "other", engine.LoadOptions{})
	sharer := s.load(t, "sharer", engine.LoadOptions{Namespace: "other"}) // admin-granted sharing
	if builtin.Namespace() != "" || evil.Namespace() != "evil" || sharer.Namespace() != "other" {
		t.Fatalf("namespaces %q %q %q", builtin.Namespace(), evil.Namespace(), sharer.Namespace())
	}

	// The built-in's keys are stored as written (persisted quota counters
	// of earlier versions stay readable).
	if out, _ := hostile(t, builtin, "victim", "cache-set:"+hx("gatehouse-value:profile")+":"+hx("trusted")); out[0] != "st=0" {
		t.Fatalf("built-in cache-set: %v", out)
	}
	if v, ok := s.cache.Get("gatehouse-value:profile", time.Now()); !ok || string(v) != "trusted" {
		t.Fatalf("built-in key not stored as written: %q %v", v, ok)
	}
	// The built-in may not write into the namespaced space.
	if out, _ := hostile(t, builtin, "victim", "cache-set:"+hx("\x00evil\x00x")+":"+hx("v")); out[0] != fmt.Sprintf("st=%d", abi.ErrInvalid) {
		t.Errorf("built-in key starting with NUL: %v", out)
	}

	// Cross-module read and write of the built-in's entry, with every
	// crafted form of the key.
	for _, m := range []*engine.Module{evil, namedBuiltin} {
		for _, k := range []string{"gatehouse-value:profile", "\x00gatehouse-value:profile", "\x00builtin\x00gatehouse-value:profile", "\x00\x00gatehouse-value:profile", "\x00" + m.Namespace() + "\x00\x00builtin\x00gatehouse-value:profile"} {
			out, _ := hostile(t, m, "attacker", "cache-get:"+hx(k), "cache-set:"+hx(k)+":"+hx("poison"), "cache-del:"+hx(k))
			if out[0] != fmt.Sprintf("st=%d", abi.ErrNotFound) {
				t.Errorf("%s read the built-in's entry via %q: %v", m.Name, k, out)
			}
		}
	}
	if v, ok := s.cache.Get("gatehouse-value:profile", time.Now()); !ok || string(v) != "trusted" {
		t.Fatalf("the built-in's entry was poisoned or deleted: %q %v", v, ok)
	}
	if out, _ := hostile(t, builtin, "victim", "cache-get:"+hx("gatehouse-value:profile")); out[0] != "st=0 val=trusted" {
		t.Fatalf("built-in reads back %v", out)
	}

	// Counter inflation of the built-in's quota key: the attacker counts
	// in its own namespace only.
	qk := hx("quota:3600000000000|c|subscription:sub-1")
	if out, _ := hostile(t, builtin, "victim", "counter:"+qk+":3:3600000:16"); out[0] != "st=0 count=3" {
		t.Fatalf("built-in counter: %v", out)
	}
	if out, _ := hostile(t, evil, "attacker", "counter:"+qk+fmt.Sprintf(":%d:3600000:16", int64(1)<<62)); out[0] != fmt.Sprintf("st=0 count=%d", int64(1)<<62) {
		t.Fatalf("evil counter: %v", out)
	}
	if out, _ := hostile(t, builtin, "victim", "counter:"+qk+":0:3600000:16"); out[0] != "st=0 count=3" {
		t.Fatalf("built-in quota counter inflated: %v", out)
	}

	// Slot hoarding of the built-in's limit-concurrency key.
	ck := "limit-concurrency:subscription:sub-1"
	_, exB := hostile(t, builtin, "victim", "acquire:"+hx(ck)+":1:1")
	if s.sems.InFlight(ck) != 1 {
		t.Fatalf("built-in slot not held under its own key")
	}
	out, exE := hostile(t, evil, "attacker", "acquire:"+hx(ck)+":1:1")
	if out[0] != "ok=1 st=0" || s.sems.InFlight(ck) != 1 {
		t.Fatalf("evil shares the built-in's semaphore: %v, in flight %d", out, s.sems.InFlight(ck))
	}
	exB.Reset()
	exE.Reset()

	// Two uploaded modules are isolated; an explicit common namespace shares.
	hostile(t, other, "a", "cache-set:"+hx("k")+":"+hx("from-other"))
	if out, _ := hostile(t, evil, "b", "cache-get:"+hx("k")); out[0] != fmt.Sprintf("st=%d", abi.ErrNotFound) {
		t.Errorf("evil read other's entry: %v", out)
	}
	if out, _ := hostile(t, sharer, "c", "cache-get:"+hx("k")); out[0] != "st=0 val=from-other" {
		t.Errorf("sharer (Namespace other) does not see other's entry: %v", out)
	}

	// Bad namespaces fail the load, naming the problem.
	for _, po := range []engine.LoadOptions{{Namespace: "a\x00b"}, {Namespace: strings.Repeat("n", abi.MaxNamespace+1)}, {Builtin: true, Namespace: "x"}} {
		_, err := s.e.Load(context.Background(), "bad", "1", hosttest.Guest(t, "host/hosttest/guests/hostile"), po)
		if err == nil || !strings.Contains(err.Error(), "namespace") {
			t.Errorf("namespace %q builtin %v: err %v", po.Namespace, po.Builtin, err)
		}
	}
}

// TestRequestBudgets: unbounded add_header / set_var / concurrency_acquire
// / cache_fill_lease stop at the budget with ErrTooLarge, and the refusal
// is named in the gateway log (once per request and budget).
func TestRequestBudgets(t *testing.T) {
	s := newSandbox(t, engine.Options{})
	m := s.load(t, "evil", engine.LoadOptions{})
	tooLarge := fmt.Sprintf("st=%d", abi.ErrTooLarge)
	cases := []struct {
		cmd, want, budget string
	}{
		{"add-header:1000:8", fmt.Sprintf("ok=%d %s", abi.MaxAddedHeaders, tooLarge), "added headers"},
		{"add-header:100:16000", "ok=4 " + tooLarge, "added header bytes"},
		{"set-var:1000:8", fmt.Sprintf("ok=%d %s", abi.MaxVars, tooLarge), "variables"},
		{"set-var:1000:8000", "ok=32 " + tooLarge, "variable bytes"},
		{"acquire:" + hx("k") + ":1000:1000", fmt.Sprintf("ok=%d %s", abi.MaxHeldSlots, tooLarge), "concurrency slots held"},
		{"lease:1000:0", fmt.Sprintf("ok=%d %s", abi.MaxHeldLeases, tooLarge), "fill leases held"},
	}
	for _, c := range cases {
		out, ex := hostile(t, m, "api", c.cmd)
		if out[0] != c.want {
			t.Errorf("%s: %v, want %s", c.cmd, out, c.want)
		}
		if got := ex.BudgetRefusals(); len(got) != 1 || got[0] != c.budget {
			t.Errorf("%s: refusals %v, want [%s]", c.cmd, got, c.budget)
		}
		ex.Reset()
		if s.sems.Len() != 0 {
			t.Errorf("%s: slots left after the request", c.cmd)
		}
	}
	log := s.log.all()
	for _, want := range []string{`host refused add_header: request budget \"added headers\" exhausted`, `host refused set_var: request budget \"variable bytes\"`, `host refused concurrency_acquire`, `host refused cache_fill_lease`, "module=evil@1.0.0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "added headers"); n != 1 {
		t.Errorf("added-headers refusal logged %d times, want once per request", n)
	}
}

// TestLoopingInitializeFailsLoad: a module whose _initialize never returns
// fails Load (and Validate, the upload path) at the init deadline with an
// error that says so, instead of wedging the loader.
func TestLoopingInitializeFailsLoad(t *testing.T) {
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, InitDeadline: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	mapped := engine.MappedMemories()
	bin := hosttest.Guest(t, "host/hosttest/guests/loopinit")
	_, err = e.Load(context.Background(), "loopinit", "1", bin, engine.LoadOptions{})
	if !errors.Is(err, engine.ErrInvalidModule) || !strings.Contains(err.Error(), "init deadline") {
		t.Fatalf("Load: %v", err)
	}
	if _, err := e.Validate(context.Background(), bin); err == nil || !strings.Contains(err.Error(), "init deadline") {
		t.Fatalf("Validate: %v", err)
	}
	if n := e.LiveInstances(); n != 0 {
		t.Errorf("%d instances left alive", n)
	}
	if n := engine.MappedMemories() - mapped; n != 0 {
		t.Errorf("%d guest memories left mapped by the failed instantiations", n)
	}
}

// TestPoolPerAPIShare: one API whose calls hold instances cannot take the
// whole pool; its own queued call times out and fails (ErrNoInstance,
// counted), while another API's call gets an instance.
func TestPoolPerAPIShare(t *testing.T) {
	s := newSandbox(t, engine.Options{})
	m := s.load(t, "evil", engine.LoadOptions{Min: 1, Max: 2}) // per API: 1
	p, err := m.NewPlan(m.Attach("hostile", nil))
	if err != nil {
		t.Fatal(err)
	}
	call := func(api, cmd string, queue time.Duration) error {
		ex := newExchange()
		ex.API = api
		ex.ReqHeader.Set("X-Cmd", cmd)
		_, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 10 * time.Second, QueueTimeout: queue})
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Holds its instance for 3 s: long enough for what follows.
		if err := call("hog", "spin:3000", time.Second); err != nil {
			t.Errorf("first hog call: %v", err)
		}
	}()
	waitFor(t, func() bool { idle, total := m.PoolStats(); return total-idle >= 1 })
	// The hog's second call: its API holds its share; it waits and fails
	// closed even though the pool could still grow.
	err = call("hog", "cache-get:"+hx("k"), 200*time.Millisecond)
	if !errors.Is(err, engine.ErrNoInstance) || !strings.Contains(err.Error(), `API "hog" holds 1 of its 1`) {
		t.Fatalf("hog's second call: %v", err)
	}
	if m.PoolExhaustions() != 1 {
		t.Errorf("exhaustions %d, want 1", m.PoolExhaustions())
	}
	// Another API is served meanwhile.
	if err := call("calm", "cache-get:"+hx("k"), 5*time.Second); err != nil {
		t.Fatalf("calm API starved: %v", err)
	}
	wg.Wait()
}

// TestBuiltinPersistedCountersSurvive: a counters.db written by a host
// before namespacing (which stored the guest's key as is) is read by the
// built-in namespace unchanged, and an uploaded module counting on the same
// key does not see it.
func TestBuiltinPersistedCountersSurvive(t *testing.T) {
	path := t.TempDir() + "/counters.db"
	const key = "quota:3600000000000|c|subscription:sub-1"
	old, err := counter.Open(counter.Options{PersistPath: path})
	if err != nil {
		t.Fatal(err)
	}
	// What the earlier host did for the built-in quota's counter_add.
	if _, _, _, err := old.Add(key, 7, 0, time.Hour, abi.CounterPersist, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	ctrs, err := counter.Open(counter.Options{PersistPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer ctrs.Close()
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, Services: &engine.Services{Counters: ctrs}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	s := &sandbox{e: e, ctrs: ctrs}
	builtin := s.load(t, "builtin", engine.LoadOptions{Builtin: true})
	evil := s.load(t, "evil", engine.LoadOptions{})
	mode := fmt.Sprint(abi.CounterPersist)
	if out, _ := hostile(t, builtin, "api", "counter:"+hx(key)+":1:3600000:"+mode); out[0] != "st=0 count=8" {
		t.Fatalf("built-in after the upgrade: %v, want the persisted 7 + 1", out)
	}
	if out, _ := hostile(t, evil, "api", "counter:"+hx(key)+":0:3600000:"+mode); out[0] != "st=0 count=0" {
		t.Fatalf("uploaded module sees the built-in's persisted counter: %v", out)
	}
}

// TestWaiterServedAfterDiscard: when a trap discards an instance, a call
// waiting (its API at its share) gets a fresh instance at once instead of
// waiting for its queue timeout while the pool has room.
func TestWaiterServedAfterDiscard(t *testing.T) {
	s := newSandbox(t, engine.Options{})
	m := s.load(t, "evil", engine.LoadOptions{Min: 1, Max: 3}) // per API: 2
	p, err := m.NewPlan(m.Attach("hostile", nil))
	if err != nil {
		t.Fatal(err)
	}
	call := func(cmd string, queue time.Duration) error {
		ex := newExchange()
		ex.API = "a"
		ex.ReqHeader.Set("X-Cmd", cmd)
		_, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 10 * time.Second, QueueTimeout: queue})
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); call("spin:4000", time.Second) }()
	waitFor(t, func() bool { idle, total := m.PoolStats(); return total-idle >= 1 })
	go func() { defer wg.Done(); call("spin:400;trap", time.Second) }()
	waitFor(t, func() bool { idle, total := m.PoolStats(); return total-idle >= 2 })
	// API a holds its share (2): this call waits; the trap at ≈400 ms makes
	// room, long before the first call returns (4 s) and its 2 s timeout.
	if err := call("cache-get:00", 2*time.Second); err != nil {
		t.Fatalf("waiting call after a discard: %v", err)
	}
	wg.Wait()
}
