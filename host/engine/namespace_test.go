package engine

import (
	"bytes"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// FuzzStoredKeysDisjoint: two (namespace, key) pairs — the built-in
// namespace included — map to one stored key only when they are the same
// pair, whatever bytes (NUL, separators, other namespaces' prefixes) the
// keys and namespaces hold; and a stored key fits the stores' cap.
func FuzzStoredKeysDisjoint(f *testing.F) {
	f.Add("evil", []byte("k"), false, "builtin", []byte("k"), true)
	f.Add("evil", []byte("\x00builtin\x00k"), false, "builtin", []byte("k"), false)
	f.Add("a", []byte("\x00b\x00k"), false, "a\x00b", []byte("k"), false)
	f.Add("", []byte("\x00x\x00k"), true, "x", []byte("k"), false)
	f.Add("ab", []byte("k"), false, "a", []byte("bk"), false)
	f.Add("a", []byte("\x00k"), false, "a\x00", []byte("k"), false)
	f.Fuzz(func(t *testing.T, ns1 string, k1 []byte, b1 bool, ns2 string, k2 []byte, b2 bool) {
		stored := func(ns string, k []byte, b bool) ([]byte, bool) {
			o := LoadOptions{Builtin: b}
			if !b {
				o.Namespace = ns
			}
			_, p, err := namespacePrefix("name", o)
			if err != nil {
				if checkNamespace(ns) == nil {
					t.Fatalf("valid namespace %q refused: %v", ns, err)
				}
				return nil, false
			}
			return appendStoredKey(nil, p, k)
		}
		s1, ok1 := stored(ns1, k1, b1)
		s2, ok2 := stored(ns2, k2, b2)
		for _, s := range [][]byte{s1, s2} {
			if len(s) > abi.MaxStoredKey {
				t.Fatalf("stored key of %d bytes > %d", len(s), abi.MaxStoredKey)
			}
		}
		if !ok1 || !ok2 || !bytes.Equal(s1, s2) {
			return
		}
		same := b1 == b2 && (b1 || ns1 == ns2) && bytes.Equal(k1, k2)
		if !same {
			t.Fatalf("(%q, %q, builtin %v) and (%q, %q, builtin %v) share stored key %q", ns1, k1, b1, ns2, k2, b2, s1)
		}
	})
}

// TestStoredKeyRepeatDoesNotAllocate: a key the instance asked for
// recently costs no allocation (a per-subscription rate limit counts under
// one key on every request), in the built-in space and a namespace, and
// the string stays right when the scratch buffer is reused.
func TestStoredKeyRepeatDoesNotAllocate(t *testing.T) {
	for _, o := range []LoadOptions{{Builtin: true}, {Namespace: "mod"}} {
		_, p, err := namespacePrefix("mod", o)
		if err != nil {
			t.Fatal(err)
		}
		inst := &instance{m: &Module{nsPrefix: p}}
		key := []byte("rl:sub-1")
		first, ok := inst.storedKey(key)
		if !ok {
			t.Fatal("refused")
		}
		if n := testing.AllocsPerRun(100, func() { inst.storedKey(key) }); n != 0 {
			t.Errorf("builtin %v: %v allocations per repeated key", o.Builtin, n)
		}
		other, _ := inst.storedKey([]byte("rl:sub-2"))
		again, _ := inst.storedKey(key)
		want, _ := appendStoredKey(nil, p, key)
		if first != string(want) || again != first || other == first {
			t.Errorf("builtin %v: stored keys %q %q %q, want %q", o.Builtin, first, again, other, want)
		}
	}
}
