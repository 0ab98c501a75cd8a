// Package conformance is the Gatehouse ABI conformance kit: a table of cases,
// each naming the host functions it calls and the statuses it provokes, with
// the outcome abi/ABI.md prescribes, and Run, which runs the table against a
// Host.
//
// A case is run by the conformance guest (sdk/conformance/guest): one
// attachment whose config is {"case":"<name>"}. In each phase the guest
// calls the case's host functions with valid and invalid arguments and
// writes what it got, one "label=result" line per call, to the variable
// VarRequest (request phase) or VarResponse (response phase). Run compares
// those reports with the table. The package imports only the standard
// library and abi, so a third-party host or SDK can run it: implement Host
// (run the guest's Wasm build, or a port of it, on a host set up as the
// Host doc says) and call Run from a test.
package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// Variables the guest writes its report to, one per phase.
const (
	VarRequest  = "conformance.request"
	VarResponse = "conformance.response"
)

// Policy is the policy name the guest answers to (get_attachment item 0 is
// not checked: a host may name it as it likes).
const Policy = "conformance"

// Request is the client request a case runs on. The API's path prefix is
// empty (the path the guest sees is Path), the route template is
// "/pets/{id}", and Params are its path parameters.
type Request struct {
	Method string
	Path   string
	Query  string
	Header map[string]string
	Body   string
	Params map[string]string
	// ClientCert is the certificate the client presented on the TLS
	// connection, as the host describes it to get_field (ABI.md §12); nil:
	// none (plain HTTP, or TLS without one).
	ClientCert *ClientCert
}

// ClientCert is a client certificate as the fields of ABI.md §12 give it.
// The host under test makes these the values of FieldClientCertSubject,
// FieldClientCertIssuer, FieldClientCertThumbprint and
// FieldClientCertNotAfter (it does not derive them from a handshake here).
type ClientCert struct {
	Subject, Issuer, Thumbprint, NotAfter string
}

// Case is one conformance case.
type Case struct {
	// Name is what the guest's config names ({"case": Name}).
	Name string
	// Funcs are the host functions the case calls (abi.HostFuncs names).
	Funcs []string
	// Statuses are the abi statuses the case provokes (abi.OK …).
	Statuses []int32
	// Bare runs the case on a host without any capability service: no
	// counters, value cache, fill leases, semaphores, JWT verifier or
	// subscription catalog (the functions answer ErrUnavail).
	Bare bool
	// HeldLeases are cache keys (as the guest passes them to
	// cache_fill_lease) whose fill lease another request of the same
	// module holds while the case runs; the host under test takes them
	// before the request and ends them after.
	HeldLeases []string
	// Request is the client's request.
	Request Request
	// WantFail: the guest's call must fail (a trap, ABI.md §6): Host.Run
	// returns an error and Want is not checked.
	WantFail bool
	// Want is the report the guest must produce in each phase ("" when
	// the case does nothing in that phase, or the phase is not reached).
	Want Outcome
}

// Config is the attachment config that runs c.
func (c Case) Config() string { return `{"case":"` + c.Name + `"}` }

// Outcome is what a host reports after running a case: the guest's report
// of each phase (the variables VarRequest and VarResponse at the end of the
// request) and the status the client got.
type Outcome struct {
	Request, Response string
	// Status is the status code the client received.
	Status int
}

// Host runs one case: one request, c.Request, through a plan of one
// attachment of the conformance guest with config c.Config(): the request
// phase; unless the guest answered early, a backend answer of status 200,
// header "Content-Type: text/plain", body "ok"; the response phase. It
// returns the guest's reports (the variables VarRequest and VarResponse)
// and the client's status. An error is a failure to run; a guest call that
// fails or traps is returned as an error too.
//
// The host under test is set up as follows (each case gets a fresh
// request; stores may be shared between the cases of one Run, which use
// their own keys):
//   - counters, a value cache with a per-entry cap between 1 KiB and
//     4 MiB (the cache case stores 5 MiB), concurrency semaphores and
//     cache fill leases;
//   - a JWT verifier taking host/jwtverify's JSON config (ABI.md §5 jwt);
//     it may fetch a JWKS from loopback (the jwt case names
//     http://127.0.0.1:1/jwks, where nothing listens: ErrJWTKeys);
//   - a subscription catalog holding SubActiveKey (id "sub-1", state
//     active, scope all, product "p1", user "u1", covering the API) and
//     SubSuspendedKey (id "sub-2", state suspended, scope all, user "u2");
//   - client IP 192.0.2.1, API "conformance", route template "/pets/{id}",
//     request id "conf-1", an empty API path prefix.
//
// A Bare case runs on a host with none of those services. For a case with
// HeldLeases the host holds those keys' fill leases, in the guest module's
// key namespace, as another request would, for the length of the case.
type Host interface {
	Run(c Case) (Outcome, error)
}

// Subscription keys of the catalog a Host provides (see Host).
const (
	SubActiveKey    = "conformance-active-key"
	SubSuspendedKey = "conformance-suspended-key"
)

// Run runs every case of Cases against h, one subtest each, and fails
// when a report differs from the table.
func Run(t *testing.T, h Host) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got, err := h.Run(c)
			if c.WantFail {
				if err == nil {
					t.Fatalf("case %s: the call succeeded (reports %+v); ABI.md §6 says the host traps the guest", c.Name, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("case %s: %v", c.Name, err)
			}
			if diff := Diff(c.Want, got); diff != "" {
				t.Errorf("case %s (%s):\n%s", c.Name, strings.Join(c.Funcs, ", "), diff)
			}
		})
	}
}

// Diff describes how got differs from want, line by line ("" when equal).
func Diff(want, got Outcome) string {
	var b strings.Builder
	diffLines(&b, "request", want.Request, got.Request)
	diffLines(&b, "response", want.Response, got.Response)
	if want.Status != got.Status {
		fmt.Fprintf(&b, "client status: got %d, want %d\n", got.Status, want.Status)
	}
	return b.String()
}

func diffLines(b *strings.Builder, phase, want, got string) {
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(b, "%s phase, line %d: got %q, want %q\n", phase, i+1, gl, wl)
		}
	}
}

// Covered returns the host functions and statuses the table covers.
func Covered() (funcs map[string]bool, statuses map[int32]bool) {
	funcs, statuses = map[string]bool{}, map[int32]bool{}
	for _, c := range Cases() {
		for _, f := range c.Funcs {
			funcs[f] = true
		}
		for _, s := range c.Statuses {
			statuses[s] = true
		}
	}
	return funcs, statuses
}

// Uncovered lists the host functions of abi.HostFuncs no case calls.
func Uncovered() []string {
	funcs, _ := Covered()
	var out []string
	for _, f := range abi.HostFuncs() {
		if !funcs[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out
}
