package guest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi/conformance"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/sdk/conformance/guest"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// emulator runs the conformance cases on sdk/sdktest, the guest running
// natively through the emulator's imports backend. Its JWT verifier is the
// gateway's (host/jwtverify), as sdktest's documentation says to wire it;
// the emulator package itself links no host package.
type emulator struct{ h, bare *sdktest.Host }

func newEmulator() emulator {
	h := sdktest.New()
	h.JWT = jwtverify.New(jwtverify.Options{})
	bare := sdktest.New()
	bare.Subscriptions, bare.Counters, bare.Cache, bare.Semaphores, bare.Leases = nil, nil, nil, nil, nil
	h.Subscriptions = map[string]sdktest.Subscription{
		conformance.SubActiveKey:    {ID: "sub-1", State: "active", Scope: "all", Product: "p1", User: "u1", APIAllowed: true},
		conformance.SubSuspendedKey: {ID: "sub-2", State: "suspended", Scope: "all", User: "u2", APIAllowed: true},
	}
	return emulator{h, bare}
}

func (e emulator) Run(c conformance.Case) (conformance.Outcome, error) {
	restore := guest.Install()
	defer restore()
	hdr := http.Header{}
	for k, v := range c.Request.Header {
		hdr.Set(k, v)
	}
	req := sdktest.Request{Method: c.Request.Method, Path: c.Request.Path, Query: c.Request.Query, Header: hdr,
		Body: []byte(c.Request.Body), Params: c.Request.Params, API: "conformance", RouteTemplate: "/pets/{id}",
		ClientIP: "192.0.2.1", RequestID: "conf-1"}
	if cc := c.Request.ClientCert; cc != nil {
		req.ClientCert = &sdktest.ClientCert{Subject: cc.Subject, Issuer: cc.Issuer, Thumbprint: cc.Thumbprint, NotAfter: cc.NotAfter}
	}
	h := e.h
	if c.Bare {
		h = e.bare
	}
	for _, k := range c.HeldLeases {
		release, ok := h.HoldFillLease(k)
		if !ok {
			return conformance.Outcome{}, fmt.Errorf("could not hold the fill lease of %q", k)
		}
		defer release()
	}
	res := h.Do(req, sdktest.Attach(conformance.Policy, c.Config()), sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("ok")}
	}))
	if res.Err != nil {
		return conformance.Outcome{}, res.Err
	}
	return conformance.Outcome{Request: res.Vars[conformance.VarRequest], Response: res.Vars[conformance.VarResponse], Status: res.Status}, nil
}

// TestConformanceEmulator runs the ABI conformance kit on the emulator.
func TestConformanceEmulator(t *testing.T) {
	conformance.Run(t, newEmulator())
}

// TestUnknownCaseFails: a config naming no case fails the guest call
// (result -1), reported by Run as an error, not as an empty report.
func TestUnknownCaseFails(t *testing.T) {
	for _, name := range []string{"no-such-case", "", `x","case":"config`} {
		_, err := newEmulator().Run(conformance.Case{Name: name, Request: conformance.Request{Method: "GET", Path: "/"}})
		if err == nil || !strings.Contains(err.Error(), "request phase failed with -1") {
			t.Errorf("case %q: err = %v, want the request phase failing with -1", name, err)
		}
	}
}
