package engine_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
)

// TestSetFieldRulesAreTheLayers: the two rules the host and the emulator
// used to disagree on (issue 13) now come from abi/hostcall on the real
// host too: a query with a control byte, a tab or a space is refused (the
// host used to accept all but NUL, CR, LF); a path is the edge's canonical
// path (dot-segments above the root refused). sdk/sdktest has the same
// table, run on the emulator (TestSetFieldRulesAreTheLayers there).
func TestSetFieldRulesAreTheLayers(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 1})
	for _, tc := range []struct {
		field, val string
		want       int32
		got        func(ex *engine.Exchange) string
		wantVal    string
	}{
		{"3", "a=1&b=2", abi.OK, func(ex *engine.Exchange) string { return ex.Query }, "a=1&b=2"},
		{"3", "a=\x01", abi.ErrInvalid, nil, ""},
		{"3", "a=b\tc", abi.ErrInvalid, nil, ""},
		{"3", "a=b c", abi.ErrInvalid, nil, ""},
		{"3", "a=b\x7f", abi.ErrInvalid, nil, ""},
		{"3", "a=b#c", abi.ErrInvalid, nil, ""},
		{"2", "/a/./b//c", abi.OK, func(ex *engine.Exchange) string { return ex.Path }, "/a/b/c"},
		{"2", "/a/../../etc", abi.ErrInvalid, nil, ""},
		{"2", "/a\\b", abi.ErrInvalid, nil, ""},
	} {
		ex := newExchange()
		st, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, `"set-field:`+tc.field+`=`+tc.val+`"`), engine.CallOptions{})
		if tc.want == abi.OK {
			if err != nil || st < 0 || tc.got(ex) != tc.wantVal {
				t.Errorf("set field %s %q: result %d, value %q, want %q", tc.field, tc.val, st, tc.got(ex), tc.wantVal)
			}
		} else if st != tc.want || err == nil {
			t.Errorf("set field %s %q: result %d (%v), want %d", tc.field, tc.val, st, err, tc.want)
		}
	}
}
