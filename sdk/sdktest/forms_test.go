package sdktest

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress/egressforms"
)

// Every URL form on the emulator's road: the same answer as the host's.
func TestBackendOverrideForms(t *testing.T) {
	for _, f := range egressforms.Load(t) {
		x := newX(t, New(), phaseRequest, Request{Backend: "https://api.internal"})
		st := x.SetField(7, abi.FieldBackendURL, []byte(f.URL))
		if (st == abi.OK) != (f.Want == "") {
			t.Errorf("%q: set_field = %d, want accepted=%v", f.URL, st, f.Want == "")
		}
		if f.Want != "" && len(f.URL) > 0 && (len(x.logs) != 1 || !strings.Contains(x.logs[0].Message, f.Want)) {
			t.Errorf("%q: logged %+v, want %q", f.URL, x.logs, f.Want)
		}
	}
}
