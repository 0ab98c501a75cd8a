package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestLoadRefusesUngrantedImports: with LoadOptions.Granted set, a module
// importing a host function of a group not granted fails at load, naming
// each such function and its group; nil Granted enforces nothing.
func TestLoadRefusesUngrantedImports(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	spec := hosttest.Minimal()
	for _, name := range []string{abi.FnCounterAdd, abi.FnLog, abi.FnCacheGet} {
		hf, _ := abi.LookupHostFunc(name)
		spec.Imports = append(spec.Imports, hosttest.Import{Module: abi.HostModule, Name: name,
			Type: hosttest.Func{Params: valBytes(hf.Sig.Params), Results: valBytes(hf.Sig.Results)}})
	}
	bin := spec.Build()
	for _, c := range []struct {
		granted []string
		refused []string // host functions named in the error; nil: loads
	}{
		{nil, nil},
		{[]string{"cache", "counters", "log"}, nil},
		{[]string{"cache", "counters", "log", "jwt"}, nil},
		{[]string{"cache", "log"}, []string{`gatehouse_v1.counter_add (capability "counters")`}},
		{[]string{}, []string{`counter_add (capability "counters")`, `log (capability "log")`, `cache_get (capability "cache")`}},
	} {
		m, err := e.Load(ctx, "m", "1.0.0", bin, engine.LoadOptions{Granted: c.granted})
		if c.refused == nil {
			if err != nil {
				t.Errorf("granted %v: %v", c.granted, err)
				continue
			}
			m.Close(ctx)
			continue
		}
		if err == nil {
			m.Close(ctx)
			t.Errorf("granted %v: loaded, want refused", c.granted)
			continue
		}
		if !errors.Is(err, engine.ErrInvalidModule) || !strings.Contains(err.Error(), "not granted") {
			t.Errorf("granted %v: %v", c.granted, err)
		}
		for _, r := range c.refused {
			if !strings.Contains(err.Error(), r) {
				t.Errorf("granted %v: error %q does not name %s", c.granted, err, r)
			}
		}
	}
}

func valBytes(ts []abi.ValType) []byte {
	out := make([]byte, len(ts))
	for i, t := range ts {
		out[i] = byte(t)
	}
	return out
}
