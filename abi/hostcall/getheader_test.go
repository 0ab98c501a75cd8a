package hostcall

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// getHeaderRef is get_header's lookup as it was before the canonical-miss
// fast path: the oracle of FuzzGetHeaderName.
func getHeaderRef(hd http.Header, name, buf []byte) int32 {
	vs, found := hd[string(name)]
	if !found {
		key, ok := canonicalKey(name)
		if !ok {
			return abi.ErrInvalid
		}
		vs = hd[key]
	}
	switch len(vs) {
	case 0:
		return abi.ErrNotFound
	case 1:
		return outString(buf, vs[0])
	}
	s := vs[0]
	for _, v := range vs[1:] {
		s += "\x00" + v
	}
	return outString(buf, s)
}

func headerExchange() *Exchange {
	return &Exchange{ReqHeader: http.Header{
		"Ocp-Apim-Subscription-Key": {"k"}, "X-Multi": {"a", "b"}, "Content-Type": {"text/plain"},
		"lower-only": {"odd"}, // a non-canonical key set directly in the map
	}}
}

// FuzzGetHeaderName: get_header answers exactly as the reference for any
// guest-chosen name (found, absent, invalid, too long, non-canonical).
func FuzzGetHeaderName(f *testing.F) {
	for _, s := range []string{"Ocp-Apim-Subscription-Key", "ocp-apim-subscription-key", "X-Absent", "x-absent",
		"X-Multi", "", "Bad Name", "X_Under", "lower-only", "Lower-Only", "-", "A-", "Content-type", "\x00", "ÿ"} {
		f.Add([]byte(s))
	}
	var h Host
	f.Fuzz(func(t *testing.T, name []byte) {
		x := headerExchange()
		buf := make([]byte, 64)
		want := getHeaderRef(x.ReqHeader, name, make([]byte, 64))
		got := h.GetHeader(nil, x, abi.KindRequest, name, buf)
		if got != want {
			t.Fatalf("get_header(%q) = %d, reference %d", name, got, want)
		}
	})
}

// TestGetHeaderMissDoesNotAllocate: a policy asking for a header the
// request lacks, by its canonical name (what the SDKs send), costs no
// allocation.
func TestGetHeaderMissDoesNotAllocate(t *testing.T) {
	var h Host
	x := headerExchange()
	name, buf := []byte("X-Forwarded-For"), make([]byte, 64)
	if st := h.GetHeader(nil, x, abi.KindRequest, name, buf); st != abi.ErrNotFound {
		t.Fatalf("status %d", st)
	}
	if n := testing.AllocsPerRun(100, func() { h.GetHeader(nil, x, abi.KindRequest, name, buf) }); n != 0 {
		t.Errorf("%v allocations per canonical miss", n)
	}
	if st := h.GetHeader(nil, x, abi.KindRequest, []byte("x-forwarded-for"), buf); st != abi.ErrNotFound {
		t.Errorf("non-canonical miss: %d", st)
	}
	if st := h.GetHeader(nil, x, abi.KindRequest, []byte("ocp-apim-subscription-key"), buf); st != 1 {
		t.Errorf("non-canonical hit: %d", st)
	}
}
