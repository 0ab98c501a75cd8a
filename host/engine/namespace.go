package engine

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
)

// Namespaces: the host, not the guest, decides which keys of the node-wide
// stores (counters, value cache, semaphores, fill leases) a module's key
// names. A guest key k of a module with namespace ns is stored as
//
//	"\x00" + ns + "\x00" + k
//
// where ns is 1–abi.MaxNamespace bytes without NUL, so the first NUL after
// the leading one ends the namespace and two namespaces can never produce
// the same stored key, whatever bytes the guest puts in k. The built-in
// module's keys are stored as the guest wrote them (the layout before
// namespacing, so persisted quota counters stay readable), and a built-in
// key may not start with NUL: the built-in space and every module's space
// are disjoint, and no name or namespace reaches the built-in one.

// checkNamespace validates an explicit or derived namespace.
func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return fmt.Errorf("empty namespace")
	case len(ns) > abi.MaxNamespace:
		return fmt.Errorf("namespace is %d bytes, the maximum is %d", len(ns), abi.MaxNamespace)
	case strings.IndexByte(ns, 0) >= 0:
		return fmt.Errorf("namespace contains a NUL byte")
	}
	return nil
}

// namespacePrefix returns the stored-key prefix of a module: nil for the
// built-in module, else "\x00" + ns + "\x00" with ns the explicit namespace
// or, when empty, the module's name.
func namespacePrefix(name string, o LoadOptions) (ns string, prefix []byte, err error) {
	if o.Builtin {
		if o.Namespace != "" {
			return "", nil, fmt.Errorf("the built-in module has its own namespace; Namespace must be empty")
		}
		return "", nil, nil
	}
	ns = o.Namespace
	if ns == "" {
		ns = name
	}
	if err := checkNamespace(ns); err != nil {
		return "", nil, err
	}
	prefix = make([]byte, 0, len(ns)+2)
	prefix = append(prefix, 0)
	prefix = append(prefix, ns...)
	prefix = append(prefix, 0)
	return ns, prefix, nil
}

// Namespace returns the module's namespace ("" for the built-in module,
// whose keys are stored unprefixed).
func (m *Module) Namespace() string { return m.ns }

// storedKey returns the key a guest key names in the node-wide stores, built
// in the instance's scratch buffer; the string is made once for a key the
// instance asked for recently (a rate limit per subscription counts under
// the same key on every request: no allocation). ok is false for a key that
// is empty, over abi.MaxKey bytes, or, for the built-in module, starts with
// NUL (the namespaced space).
func (inst *instance) storedKey(key []byte) (string, bool) {
	p := inst.m.nsPrefix
	if p == nil {
		if len(key) == 0 || len(key) > abi.MaxKey || key[0] == 0 {
			return "", false
		}
		return inst.keys.Intern(key), true
	}
	b, ok := appendStoredKey(inst.keyBuf[:0], p, key)
	if !ok {
		return "", false
	}
	inst.keyBuf = b
	return inst.keys.Intern(b), true
}

// appendStoredKey appends the stored form of key under prefix (nil: the
// built-in namespace) to dst; ok is false when the key is refused.
func appendStoredKey(dst, prefix, key []byte) ([]byte, bool) {
	if len(key) == 0 || len(key) > abi.MaxKey {
		return dst, false
	}
	if prefix == nil {
		if key[0] == 0 {
			return dst, false
		}
		return append(dst, key...), true
	}
	return append(append(dst, prefix...), key...), true
}

// StoredKey returns the key a module's guest key k is stored under (for
// tests and tools that inspect the node-wide stores).
func (m *Module) StoredKey(k string) string {
	if m.nsPrefix == nil {
		return k
	}
	return string(m.nsPrefix) + k
}
