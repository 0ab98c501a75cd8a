package sdk

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// fakeHost is a minimal host that allocates nothing: one plan (1) with one
// attachment (2) of policy "alloc-probe", and one request header.
type fakeHost struct{ imports.Backend }

var planBytes = binary.LittleEndian.AppendUint32(nil, 2)

func (fakeHost) GetPlan(ctx, plan uint32, buf []byte) int32 {
	if len(buf) >= 4 {
		copy(buf, planBytes)
	}
	return 4
}

func (fakeHost) GetAttachment(ctx, id uint32, item int32, buf []byte) int32 {
	v := "alloc-probe"
	if item == abi.AttachConfig {
		v = "{}"
	}
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int32(len(v))
}

func (fakeHost) GetHeader(ctx uint32, kind int32, name, buf []byte) int32 {
	v := "Mozilla/5.0 (X11; Linux x86_64)"
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int32(len(v))
}

func (fakeHost) SetHeader(ctx uint32, kind int32, name, val []byte) int32 { return abi.OK }
func (fakeHost) SetVar(ctx uint32, name, val []byte) int32                { return abi.OK }
func (fakeHost) CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, out *[16]byte) int32 {
	return abi.OK
}

var allocBody func(c *Context) Action

type allocProbe struct{ Base }

func (allocProbe) OnRequest(c *Context) Action { return allocBody(c) }

func init() {
	Register("alloc-probe", func([]byte) (Policy, error) { return allocProbe{}, nil })
}

func allocs(t *testing.T, body func(c *Context) Action) float64 {
	t.Helper()
	imports.SetBackend(fakeHost{})
	defer imports.SetBackend(nil)
	allocBody = body
	dispatch(PhaseRequest, 1, 1) // warm the caches
	return testing.AllocsPerRun(100, func() {
		if r := dispatch(PhaseRequest, 1, 1); r != abi.ActionContinue {
			t.Fatalf("result %d", r)
		}
	})
}

// TestHotPathAllocations pins the allocation claims of the package doc:
// checks, changes, counters and variables cost nothing; reading a string
// costs one allocation.
func TestHotPathAllocations(t *testing.T) {
	if n := allocs(t, func(c *Context) Action {
		h := c.Request().Header()
		if h.Has("User-Agent") {
			h.Set("X-UA-Class", "browser")
		}
		c.Vars().Set("name", "value")
		c.Counter("key").Add(1, 10, time.Minute, FixedWindow)
		c.Response().Header().Set("X-Policy", "p")
		return Continue
	}); n != 0 {
		t.Errorf("Has+Set+Vars.Set+Counter.Add: %v allocations per call, want 0", n)
	}
	if n := allocs(t, func(c *Context) Action {
		_ = c.Request().Header().Get("User-Agent")
		return Continue
	}); n != 1 {
		t.Errorf("Header.Get: %v allocations per call, want 1", n)
	}
}
