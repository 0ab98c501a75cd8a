package sdktest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestSetFieldRulesAreTheLayers: the emulator refuses what the gateway
// refuses, because both run abi/hostcall: the edge's canonical path (the
// "..;" dot-segment with parameters included, which the emulator's own
// canonicalPath used to accept) and the host's query bytes. host/engine
// runs the same kind of table on the real host.
func TestSetFieldRulesAreTheLayers(t *testing.T) {
	for _, tc := range []struct {
		field      int32
		val, after string
		want       int32
	}{
		{abi.FieldPath, "/a/./b//c", "/a/b/c", abi.OK},
		{abi.FieldPath, "/a/..;/b", "", abi.ErrInvalid},
		{abi.FieldPath, "/a/.;x/b", "", abi.ErrInvalid},
		{abi.FieldPath, "/a/../../etc", "", abi.ErrInvalid},
		{abi.FieldPath, "/a\\b", "", abi.ErrInvalid},
		{abi.FieldPath, "/a\x00b", "", abi.ErrInvalid},
		{abi.FieldQuery, "a=1&b=2", "a=1&b=2", abi.OK},
		{abi.FieldQuery, "a=\x01", "", abi.ErrInvalid},
		{abi.FieldQuery, "a=b\tc", "", abi.ErrInvalid},
		{abi.FieldQuery, "a=b c", "", abi.ErrInvalid},
		{abi.FieldQuery, "a=b#c", "", abi.ErrInvalid},
		{abi.FieldQuery, strings.Repeat("q", abi.MaxQuery+1), "", abi.ErrInvalid},
	} {
		x := newX(t, New(), phaseRequest, Request{})
		if st := x.SetField(7, tc.field, []byte(tc.val)); st != tc.want {
			t.Errorf("set field %d %q = %d, want %d", tc.field, tc.val, st, tc.want)
			continue
		}
		if tc.want == abi.OK {
			buf := make([]byte, 64)
			if n := x.GetField(7, tc.field, buf); n < 0 || string(buf[:n]) != tc.after {
				t.Errorf("after set %d %q: %q", tc.field, tc.val, buf[:max(n, 0)])
			}
		}
	}
}

// TestNoHostDependency: the emulator links no host package, no catalog and
// no cgo SQLite, so a plugin's `go test` does not either.
func TestNoHostDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "gatehouse/host/") || strings.Contains(dep, "gatehouse/catalog") || strings.Contains(dep, "sqlite") {
			t.Errorf("sdk/sdktest depends on %s", dep)
		}
	}
}
