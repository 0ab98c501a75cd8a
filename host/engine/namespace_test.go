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
