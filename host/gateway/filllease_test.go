package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// TestFillLeaseWait checks the gateway's side of cache_fill_lease: a call
// that finds the lease held waits outside the guest — until the filler's
// call ends, its wait passes or its client goes away — and then re-runs the
// stage once; and the filler's lease ends when its call ends, however it
// ends (answer, backend, failure, trap, client gone).
func TestFillLeaseWait(t *testing.T) {
	ctx := context.Background()
	leases := &countingLeases{Leases: vcache.NewLeases(0)}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Services: &engine.Services{Cache: vcache.New(100, 1<<20), Leases: leases}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	var mu sync.Mutex
	gate := make(chan struct{})
	arrived := make(chan string, 16)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/block") {
			mu.Lock()
			g := gate
			mu.Unlock()
			arrived <- r.URL.Path
			select {
			case <-g:
			case <-r.Context().Done():
				return
			}
		}
		if strings.HasSuffix(r.URL.Path, "/wait") {
			// The waiter that takes the freed lease holds it while the
			// others re-run, however slowly the machine schedules them.
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, "lease="+r.Header.Get("X-Var-lease"))
	}))
	defer be.Close()
	open := func() {
		mu.Lock()
		close(gate)
		gate = make(chan struct{})
		mu.Unlock()
	}
	op := func(id, tmpl string, pol gateway.Policy) gateway.Operation {
		return gateway.Operation{ID: id, Method: "GET", Template: tmpl, Policies: pol}
	}
	in := func(cfg ...string) gateway.Policy {
		var steps []gateway.Step
		for _, c := range cfg {
			steps = append(steps, probeStep(c))
		}
		return gateway.Policy{Inbound: steps}
	}
	cfg := &gateway.Config{
		APIs: []gateway.API{{Name: "c", PathPrefix: "/c", Backend: be.URL, Operations: []gateway.Operation{
			op("fill", "/fill/block", in("lease:k=5000;var-to-header:lease")),
			op("wait", "/wait", in("lease:k=5000;var-to-header:lease")),
			op("short", "/short", in("lease:k=100;var-to-header:lease")),
			op("nowait", "/nowait", in("lease:k=0;var-to-header:lease")),
			op("answer", "/answer", in("lease:k=5000;respond:201=x")),
			op("fail", "/fail", in("lease:k=5000;fail")),
			op("trap", "/trap", in("lease:k=5000;panic")),
			op("traplater", "/traplater", in("lease:k=5000", "panic")),
			op("trapout", "/trapout", gateway.Policy{Inbound: []gateway.Step{probeStep("lease:k=5000")}, Outbound: []gateway.Step{probeStep("panic")}}),
			op("onerror", "/onerror", gateway.Policy{Inbound: []gateway.Step{probeStep("lease:k=5000;fail")},
				OnError: []gateway.Step{probeStep("respond:503=sorry")}}),
		}}},
		Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 2}},
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	type result struct {
		status int
		body   string
		took   time.Duration
	}
	get := func(ctx context.Context, path string) result {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return result{-1, err.Error(), time.Since(t0)}
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return result{resp.StatusCode, string(b), time.Since(t0)}
	}
	drained := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); leases.Len() != 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d leases still held", what, leases.Len())
			}
		}
	}
	// fill starts a filler and returns once it holds the lease (it is at
	// the backend).
	fill := func() chan result {
		t.Helper()
		ch := make(chan result, 1)
		go func() { ch <- get(ctx, "/c/fill/block") }()
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the filler did not reach the backend")
		}
		if leases.Len() != 1 {
			t.Fatalf("filler: %d leases", leases.Len())
		}
		return ch
	}

	t.Run("waiter wakes when the filler ends, re-runs once", func(t *testing.T) {
		f := fill()
		waiters := make(chan result, 8)
		busy := leases.busy.Load()
		for range 8 {
			go func() { waiters <- get(ctx, "/c/wait") }()
		}
		// They are waiting, holding no instance (max 2): each found the
		// lease held (a busy Acquire) and then waits in the gateway. Wait
		// for all eight to have found it held, not for a fixed time (a
		// loaded machine took longer than 100 ms and let a late waiter take
		// the freed lease itself).
		for deadline := time.Now().Add(10 * time.Second); leases.busy.Load()-busy < 8; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of 8 waiters found the lease held", leases.busy.Load()-busy)
			}
		}
		time.Sleep(50 * time.Millisecond) // from the guest call's return to the wait
		if r := get(ctx, "/c/nowait"); r.status != 200 || r.body != "lease=-6" {
			t.Errorf("wait 0 while held: %+v", r)
		}
		open()
		if r := <-f; r.status != 200 || r.body != "lease=0" {
			t.Errorf("filler: %+v", r)
		}
		got := map[string]int{}
		for range 8 {
			r := <-waiters
			if r.status != 200 || r.took > 3*time.Second {
				t.Errorf("waiter: %+v", r)
			}
			got[r.body]++
		}
		// On the re-run one waiter takes the free lease (0), the others find
		// it busy again and go on without waiting twice (-5).
		if got["lease=0"] != 1 || got["lease=-5"] != 7 {
			t.Errorf("waiters' re-run statuses: %v", got)
		}
		drained("waiters")
	})

	t.Run("wait passes", func(t *testing.T) {
		f := fill()
		r := get(ctx, "/c/short")
		if r.status != 200 || r.body != "lease=-5" || r.took < 90*time.Millisecond || r.took > 3*time.Second {
			t.Errorf("short wait: %+v", r)
		}
		open()
		<-f
		drained("short")
	})

	t.Run("client gone while waiting", func(t *testing.T) {
		f := fill()
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if r := get(cctx, "/c/wait"); r.status != -1 || r.took > 3*time.Second {
			t.Errorf("gone waiter: %+v", r)
		}
		if leases.Len() != 1 {
			t.Errorf("leases %d", leases.Len())
		}
		open()
		<-f
		drained("gone waiter")
	})

	t.Run("filler's client gone", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		ch := make(chan result, 1)
		go func() { ch <- get(cctx, "/c/fill/block") }()
		<-arrived
		cancel()
		<-ch
		drained("filler gone")
	})

	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/c/answer", 201}, {"/c/fail", 500}, {"/c/trap", 500}, {"/c/traplater", 500},
		{"/c/trapout", 500}, {"/c/onerror", 503},
	} {
		for i := range 2 {
			if r := get(ctx, tc.path); r.status != tc.status {
				t.Errorf("%s call %d: %+v, want %d", tc.path, i, r, tc.status)
			}
			drained(tc.path)
		}
	}
}

// countingLeases counts the acquisitions that found a lease held.
type countingLeases struct {
	*vcache.Leases
	busy atomic.Int64
}

func (c *countingLeases) Acquire(key string, now time.Time) (*vcache.Lease, bool) {
	l, ok := c.Leases.Acquire(key, now)
	if !ok {
		c.busy.Add(1)
	}
	return l, ok
}
