//go:build !wasip1

package imports

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// goName maps a host function name to its Go name: get_field → GetField.
func goName(fn string) string {
	var b strings.Builder
	for _, part := range strings.Split(fn, "_") {
		switch part {
		case "jwt":
			b.WriteString("JWT")
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// TestOneMethodPerHostFunction keeps Backend (and so the wrappers, which
// the compiler checks against it) in step with abi.HostFuncs, and checks
// that every i32/i64 of a signature is accounted for.
func TestOneMethodPerHostFunction(t *testing.T) {
	bt := reflect.TypeFor[Backend]()
	if bt.NumMethod() != len(abi.HostFuncs()) {
		t.Errorf("Backend has %d methods, the ABI %d host functions", bt.NumMethod(), len(abi.HostFuncs()))
	}
	for _, f := range abi.HostFuncs() {
		m, ok := bt.MethodByName(goName(f.Name))
		if !ok {
			t.Errorf("no Backend method for %s", f.Name)
			continue
		}
		// Each []byte stands for a (ptr, len) pair; a *[16]byte for one pointer.
		var i32, i64 int
		for i := 0; i < m.Type.NumIn(); i++ {
			switch in := m.Type.In(i); in.Kind() {
			case reflect.Slice:
				i32 += 2
			case reflect.Int64:
				i64++
			default:
				i32++
			}
		}
		var wi32, wi64 int
		for _, p := range f.Sig.Params {
			if p == abi.I64 {
				wi64++
			} else {
				wi32++
			}
		}
		if i32 != wi32 || i64 != wi64 {
			t.Errorf("%s: Backend.%s covers %d i32 and %d i64 params, the ABI has %d and %d", f.Name, m.Name, i32, i64, wi32, wi64)
		}
	}
}

func TestNoBackendPanics(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.Contains(v.(string), "no host") {
			t.Errorf("recover() = %v", v)
		}
	}()
	SetBackend(nil)
	GetField(1, abi.FieldMethod, nil)
}
