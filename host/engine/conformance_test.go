package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/conformance"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// catalog is the subscription catalog the conformance contract asks for.
type catalog map[string]engine.Subscription

func (c catalog) LookupSubscription(_ context.Context, key, _ string) (engine.Subscription, bool, error) {
	s, ok := c[key]
	return s, ok, nil
}

// realHost runs the conformance cases on the real host: wazero, the
// conformance guest built for wasip1 (-buildmode=c-shared), the node's own
// counter, cache, semaphore and lease stores.
type realHost struct {
	m, bare *engine.Module
	leases  *vcache.Leases
}

func loadConformance(t *testing.T, svc *engine.Services) *engine.Module {
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	m, err := e.Load(context.Background(), "conformance", "1.0.0", hosttest.Guest(t, "sdk/conformance/module"), engine.LoadOptions{Min: 1, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newRealHost(t *testing.T) realHost {
	leases := vcache.NewLeases(0)
	svc := &engine.Services{
		JWT:        jwtverify.New(jwtverify.Options{}),
		Counters:   counter.New(counter.Options{}),
		Cache:      vcache.New(1000, 64<<20),
		Semaphores: semaphore.New(),
		Leases:     leases,
		Subscriptions: catalog{
			conformance.SubActiveKey:    {ID: "sub-1", State: "active", Scope: "all", Product: "p1", User: "u1", APIAllowed: true},
			conformance.SubSuspendedKey: {ID: "sub-2", State: "suspended", Scope: "all", User: "u2", APIAllowed: true},
		},
	}
	return realHost{loadConformance(t, svc), loadConformance(t, &engine.Services{}), leases}
}

var callOpts = engine.CallOptions{Deadline: 10 * time.Second}

// Run drives the two phases as the gateway does: the request phase, the
// backend's answer unless the guest answered, the response phase.
func (h realHost) Run(c conformance.Case) (conformance.Outcome, error) {
	m := h.m
	if c.Bare {
		m = h.bare
	}
	p, err := m.NewPlan(m.Attach(conformance.Policy, []byte(c.Config())))
	if err != nil {
		return conformance.Outcome{}, err
	}
	r := c.Request
	ex := &engine.Exchange{Ctx: context.Background(), Method: r.Method, Path: r.Path, OrigPath: r.Path, Query: r.Query,
		ClientIP: "192.0.2.1", RequestID: "conf-1", API: "conformance", Template: "/pets/{id}",
		Scheme: "https", Host: "api.example.com", ReqHeader: http.Header{},
		APIBackend: "https://backend.example.com", APITimeout: 30 * time.Second}
	defer ex.ReleaseHeld()
	if cc := r.ClientCert; cc != nil {
		ex.ClientCert = &engine.ClientCert{Subject: cc.Subject, Issuer: cc.Issuer, Thumbprint: cc.Thumbprint, NotAfter: cc.NotAfter}
	}
	for k, v := range r.Header {
		ex.ReqHeader.Set(k, v)
	}
	for k, v := range r.Params {
		ex.Params = append(ex.Params, engine.Param{Name: k, Value: v})
	}
	ex.ReqBody.Load([]byte(r.Body))
	for _, k := range c.HeldLeases {
		l, ok := h.leases.Acquire(m.StoredKey(k), time.Now())
		if !ok {
			return conformance.Outcome{}, fmt.Errorf("could not hold the fill lease of %q", k)
		}
		defer h.leases.Release(l)
	}
	if _, err := m.Call(ex, engine.PhaseRequest, p, callOpts); err != nil {
		return conformance.Outcome{}, err
	}
	if !ex.Answered {
		ex.Status = 200
		ex.RespHeader = http.Header{"Content-Type": {"text/plain"}}
		ex.RespBody.Load([]byte("ok"))
	}
	if _, err := m.Call(ex, engine.PhaseResponse, p, callOpts); err != nil {
		return conformance.Outcome{}, err
	}
	return conformance.Outcome{Request: ex.Vars()[conformance.VarRequest], Response: ex.Vars()[conformance.VarResponse], Status: ex.Status}, nil
}

// TestConformanceRealHost runs the ABI conformance kit on the real host.
func TestConformanceRealHost(t *testing.T) {
	conformance.Run(t, newRealHost(t))
}

// TestConformanceGuestImportsEveryHostFunction: the Wasm build of the
// conformance guest imports every host function of abi.HostFuncs (the Go
// linker keeps only the imports the code calls), so the kit calls each on
// the real host.
func TestConformanceGuestImportsEveryHostFunction(t *testing.T) {
	e := newEngine(t)
	info, err := e.Validate(context.Background(), hosttest.Guest(t, "sdk/conformance/module"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range info.HostImports {
		have[f] = true
	}
	for _, f := range abi.HostFuncs() {
		if !have[f.Name] {
			t.Errorf("the conformance guest does not import %s", f.Name)
		}
	}
}
