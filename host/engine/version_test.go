package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestMinorVersionNegotiation: a module built against any minor up to the
// host's (v1.0, v1.1, v1.2) loads and runs; one built against a newer minor
// is refused at load, naming both versions.
func TestMinorVersionNegotiation(t *testing.T) {
	e := newEngine(t)
	for minor := int32(0); minor <= abi.Minor+1; minor++ {
		s := hosttest.Minimal()
		s.Exports[0].Returns = minor
		m, err := e.Load(context.Background(), fmt.Sprintf("v1-%d", minor), "1.0.0", s.Build(), engine.LoadOptions{})
		if minor <= abi.Minor {
			if err != nil {
				t.Errorf("v1.%d module refused: %v", minor, err)
				continue
			}
			p, err := m.NewPlan(m.Attach("p", nil))
			if err != nil {
				t.Fatal(err)
			}
			ex := newExchange()
			if res, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{}); err != nil || res != abi.ActionContinue {
				t.Errorf("v1.%d module call: %d, %v", minor, res, err)
			}
			if _, ok := ex.RerunFrom(); ok {
				t.Errorf("v1.%d module without the flag names a re-run", minor)
			}
			continue
		}
		want := fmt.Sprintf("built for ABI v1.%d; this host speaks up to v1.%d", minor, abi.Minor)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("v1.%d module: err = %v, want %q", minor, err, want)
		}
	}
}
