package hostcall

import (
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// setHeaderRef is set_header/add_header as it was before the interned
// names and values and the per-request value array: the oracle of
// FuzzSetHeader (budgets are not exercised: the budgets are generous).
func setHeaderRef(x *Exchange, add bool, kind int32, name, val []byte) int32 {
	if kind == abi.KindRequest && x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	hd, st := headerFor(x, kind)
	if st != abi.OK {
		return abi.ErrInvalid
	}
	key, ok := canonicalKey(name)
	if !ok || forbidden[key] || !validValue(val) {
		return abi.ErrInvalid
	}
	if add {
		hd[key] = append(hd[key], string(val))
	} else {
		hd[key] = []string{string(val)}
	}
	return abi.OK
}

func setHeaderExchange() *Exchange {
	return &Exchange{ReqHeader: http.Header{"X-Multi": {"a", "b"}, "Accept": {"*/*"}}, RespHeader: http.Header{}}
}

// FuzzSetHeader: set_header and add_header, any number of times per
// request over a reused exchange, leave exactly the headers the reference
// leaves, with the same answers, for any guest-chosen names and values.
func FuzzSetHeader(f *testing.F) {
	for _, s := range [][2]string{{"X-Bench", "1"}, {"x-bench", "1"}, {"X-Multi", "c"}, {"Bad Name", "v"}, {"Content-Length", "1"},
		{"X-Ctl", "a\x01b"}, {"", "v"}, {"X_Under", "v"}, {"ACCEPT", "x"}, {"A-", "ÿ"}} {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[0]+"-2"), []byte(s[1]), uint8(0))
	}
	h := Host{Budgets: Budgets{}.WithDefaults()}
	x := setHeaderExchange()
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 []byte, mode uint8) {
		x.Reset()
		*x = Exchange{ReqHeader: http.Header{"X-Multi": {"a", "b"}, "Accept": {"*/*"}}, RespHeader: http.Header{}, strs: x.strs}
		ref := setHeaderExchange()
		for i, c := range []struct {
			name, val []byte
		}{{n1, v1}, {n2, v2}, {n1, v2}} {
			add := mode&(1<<i) != 0
			kind := int32(abi.KindRequest)
			if mode&(8<<i) != 0 {
				kind = abi.KindResponse
			}
			got := h.SetHeader(nil, x, add, kind, c.name, c.val)
			want := setHeaderRef(ref, add, kind, c.name, c.val)
			if got != want {
				t.Fatalf("call %d (%q, %q, add %v): %d, reference %d", i, c.name, c.val, add, got, want)
			}
		}
		for _, hd := range [][2]http.Header{{x.ReqHeader, ref.ReqHeader}, {x.RespHeader, ref.RespHeader}} {
			if !maps.EqualFunc(hd[0], hd[1], slices.Equal[[]string]) {
				t.Fatalf("headers %q, reference %q", hd[0], hd[1])
			}
		}
	})
}

// TestSetHeaderAllocations: a request whose policies set the same two
// headers as the request before costs one allocation for them (the
// request's value array), not four (a string and a slice each).
func TestSetHeaderAllocations(t *testing.T) {
	h := Host{Budgets: Budgets{}.WithDefaults()}
	x := setHeaderExchange()
	req, resp := x.ReqHeader, x.RespHeader
	request := func() {
		x.Reset()
		clear(req)
		clear(resp)
		x.ReqHeader, x.RespHeader = req, resp
		if h.SetHeader(nil, x, false, abi.KindRequest, []byte("X-Bench"), []byte("1")) != abi.OK ||
			h.SetHeader(nil, x, false, abi.KindResponse, []byte("X-Bench-Out"), []byte("1")) != abi.OK {
			t.Fatal("set_header refused")
		}
	}
	request()
	if n := testing.AllocsPerRun(100, request); n > 1 {
		t.Errorf("%v allocations per request for two repeated set_header calls, want ≤ 1", n)
	}
	if req["X-Bench"][0] != "1" || resp["X-Bench-Out"][0] != "1" || cap(req["X-Bench"]) != 1 {
		t.Errorf("headers %q %q", req, resp)
	}
}

// TestSetVarRepeatDoesNotAllocate: a policy setting the same variable to
// the same value on every request makes its strings once.
func TestSetVarRepeatDoesNotAllocate(t *testing.T) {
	h := Host{Budgets: Budgets{}.WithDefaults()}
	x := &Exchange{}
	request := func() {
		x.Reset()
		if h.SetVar(nil, x, []byte("gatehouse.cache.key"), []byte("GET /a/items/1")) != abi.OK {
			t.Fatal("set_var refused")
		}
	}
	request()
	if n := testing.AllocsPerRun(100, request); n != 0 {
		t.Errorf("%v allocations per request for a repeated set_var", n)
	}
	if v, ok := x.Var("gatehouse.cache.key"); !ok || v != "GET /a/items/1" {
		t.Errorf("var = %q %v", v, ok)
	}
}
