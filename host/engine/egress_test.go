package engine

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress/egressforms"
)

// Every URL form on the engine's road (set_field of the backend URL, a
// policy's override): refused or accepted exactly as the table says.
func TestBackendOverrideForms(t *testing.T) {
	for _, f := range egressforms.Load(t) {
		ex := &Exchange{Phase: PhaseRequest}
		rc := SetBackendField(ex, abi.FieldBackendURL, []byte(f.URL))
		if (rc == abi.OK) != (f.Want == "") {
			t.Errorf("%q: set_field = %d, want accepted=%v", f.URL, rc, f.Want == "")
		}
		if _, err := CheckBackendOverride(ex, f.URL); f.Want != "" && (err == nil || !strings.Contains(err.Error(), f.Want)) {
			t.Errorf("%q: %v, want %q", f.URL, err, f.Want)
		}
	}
}
