package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/semaphore"
)

// TestConcurrencySlotsReleased checks that the gateway gives back the
// concurrency slots a call took (concurrency_acquire) when the call ends,
// however it ends: a trap in either phase, a guest past its deadline, an
// on-error answer. With max 1, a leaked slot refuses the next call.
func TestConcurrencySlotsReleased(t *testing.T) {
	ctx := context.Background()
	sems := semaphore.New()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Services: &engine.Services{Semaphores: sems}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	be := newBackend(t)
	short := func(cfg string) gateway.Step {
		s := probeStep(cfg)
		s.Timeout = gateway.Duration(50 * time.Millisecond)
		return s
	}
	op := func(id, tmpl string, pol gateway.Policy) gateway.Operation {
		return gateway.Operation{ID: id, Method: "GET", Template: tmpl, Policies: pol}
	}
	cfg := &gateway.Config{
		APIs: []gateway.API{{Name: "c", PathPrefix: "/c", Backend: be.URL, Operations: []gateway.Operation{
			op("ok", "/ok", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1")}}),
			op("trap", "/trap", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1;panic")}}),
			op("traplater", "/traplater", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1"), probeStep("panic")}}),
			op("trapout", "/trapout", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1")}, Outbound: []gateway.Step{probeStep("panic")}}),
			op("deadline", "/deadline", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1"), short("loop")}}),
			op("onerror", "/onerror", gateway.Policy{Inbound: []gateway.Step{probeStep("acquire:g=1;fail")},
				OnError: []gateway.Step{probeStep("respond:503=sorry")}}),
		}}},
		Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 4}},
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

	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	drained := func(path string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); sems.InFlight("g") != 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: slot still held", path)
			}
		}
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/c/ok", 200}, {"/c/trap", 500}, {"/c/traplater", 500}, {"/c/trapout", 500},
		{"/c/deadline", 500}, {"/c/onerror", 503}, {"/c/ok", 200},
	} {
		for i := range 2 {
			if st := get(tc.path); st != tc.status {
				t.Errorf("%s call %d: %d, want %d", tc.path, i, st, tc.status)
			}
			drained(tc.path)
		}
	}
	if sems.Len() != 0 {
		t.Errorf("%d keys left", sems.Len())
	}
}
