package hostcall

import (
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestRerunFrom: the index a guest names with FlagRerunFrom is what the
// gateway re-runs from; no flag (a v1.1 guest), a failure or a new call
// name none.
func TestRerunFrom(t *testing.T) {
	var x Exchange
	if _, ok := x.RerunFrom(); ok {
		t.Fatal("fresh exchange names a re-run")
	}
	x.NoteResult(abi.ActionContinue | abi.FlagNoHandler)
	if _, ok := x.RerunFrom(); ok {
		t.Error("no flag, yet a re-run index")
	}
	for _, i := range []int32{0, 3, 255} {
		x.NoteResult(abi.ActionContinue | abi.FlagRerunFrom | i<<abi.RerunIndexShift)
		if got, ok := x.RerunFrom(); !ok || got != int(i) {
			t.Errorf("index %d: got %d, %v", i, got, ok)
		}
		x.ClearFillWait()
		if _, ok := x.RerunFrom(); ok {
			t.Errorf("index %d survived the next call's start", i)
		}
	}
	x.NoteResult(abi.ErrInvalid)
	if _, ok := x.RerunFrom(); ok {
		t.Error("a failure names a re-run")
	}
}
