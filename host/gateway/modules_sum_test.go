package gateway

import (
	"crypto/sha256"
	"testing"
)

// TestBuiltinSumRemembered: the built-in module's bytes (the binary's
// read-only data, never changed) are hashed once, not at every build;
// any other module's bytes are hashed every time.
func TestBuiltinSumRemembered(t *testing.T) {
	r := newModuleRegistry(nil)
	b := []byte("\x00asm\x01\x00\x00\x00 the built-in module")
	want := sha256.Sum256(b)
	if got := r.sum(ModuleSpec{builtin: true, Wasm: b}); got != want {
		t.Fatal("first sum wrong")
	}
	b[len(b)-1] ^= 1 // not hashed again: the first sum is returned
	if got := r.sum(ModuleSpec{builtin: true, Wasm: b}); got != want {
		t.Fatal("the built-in module was hashed again")
	}
	if got := r.sum(ModuleSpec{Wasm: b}); got != sha256.Sum256(b) {
		t.Fatal("an uploaded module's sum was remembered")
	}
	c := append([]byte(nil), b...) // other bytes (another address): hashed
	if got := r.sum(ModuleSpec{builtin: true, Wasm: c}); got != sha256.Sum256(c) {
		t.Fatal("bytes at another address got the remembered sum")
	}
}
