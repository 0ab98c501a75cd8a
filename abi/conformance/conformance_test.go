package conformance

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestEveryHostFunctionCovered fails when abi.HostFuncs has a function no
// case calls (a new host function needs a case), or a case names one the
// ABI does not have.
func TestEveryHostFunctionCovered(t *testing.T) {
	if u := Uncovered(); len(u) > 0 {
		t.Errorf("host functions no conformance case covers: %s", strings.Join(u, ", "))
	}
	for _, c := range Cases() {
		for _, f := range c.Funcs {
			if _, ok := abi.LookupHostFunc(f); !ok {
				t.Errorf("case %s names %q, not a host function", c.Name, f)
			}
		}
	}
}

// TestEveryProvokableStatusCovered: each status of ABI.md §6 a guest can
// provoke on a host set up as Host says is provoked by a case and appears in
// its expected report (as "=<status>").
func TestEveryProvokableStatusCovered(t *testing.T) {
	_, sts := Covered()
	for _, s := range []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrPhase, abi.ErrTooLarge, abi.ErrUnavail, abi.ErrLimit,
		abi.ErrJWTFormat, abi.ErrJWTSig, abi.ErrJWTExpiry, abi.ErrJWTIssuer, abi.ErrJWTAud, abi.ErrJWTAlg, abi.ErrJWTClaim, abi.ErrJWTConfig, abi.ErrJWTKeys} {
		if !sts[s] {
			t.Errorf("no case provokes status %d (%s)", s, abi.StatusText(s))
		}
	}
	for _, c := range Cases() {
		want := c.Want.Request + "\n" + c.Want.Response
		for _, s := range c.Statuses {
			if s == abi.OK {
				continue
			}
			if !strings.Contains(want, "="+itoa(s)) {
				t.Errorf("case %s claims status %d but no expected line has it", c.Name, s)
			}
		}
	}
}

func itoa(s int32) string {
	if s < 0 {
		return "-" + itoa(-s)
	}
	if s < 10 {
		return string(rune('0' + s))
	}
	return itoa(s/10) + string(rune('0'+s%10))
}

// TestCasesWellFormed: unique names, a request to run, an expectation.
func TestCasesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if c.Name == "" || seen[c.Name] || strings.ContainsAny(c.Name, `"\`) {
			t.Errorf("case name %q is empty, repeated or not plain", c.Name)
		}
		seen[c.Name] = true
		if c.Request.Method == "" || c.Request.Path == "" || (!c.WantFail && (c.Want.Status == 0 || c.Want.Request+c.Want.Response == "")) {
			t.Errorf("case %s lacks a request or an expectation", c.Name)
		}
	}
}

// fakeHost answers every case with its expected outcome, except that it
// changes one line of one case: Run must notice (through Diff).
type fakeHost struct{ broken string }

func (f fakeHost) Run(c Case) (Outcome, error) {
	o := c.Want
	if c.Name == f.broken {
		o.Request = strings.Replace(o.Request, "=-2", "=0", 1)
	}
	return o, nil
}

func TestDiffNotices(t *testing.T) {
	for _, c := range Cases() {
		if Diff(c.Want, c.Want) != "" {
			t.Errorf("case %s differs from itself", c.Name)
		}
	}
	c := Cases()[1]
	got, _ := fakeHost{broken: c.Name}.Run(c)
	d := Diff(c.Want, got)
	if !strings.Contains(d, "request phase, line") || !strings.Contains(d, `want "`) {
		t.Errorf("Diff of a changed status line = %q", d)
	}
	if d := Diff(Outcome{Status: 200}, Outcome{Status: 500}); !strings.Contains(d, "client status: got 500, want 200") {
		t.Errorf("Diff of statuses = %q", d)
	}
}
