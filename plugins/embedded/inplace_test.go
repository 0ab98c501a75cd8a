package embedded

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestBuiltinInPlace: Builtin returns the embedded bytes themselves (no
// copy per call, none kept on the heap), equal to what embed.FS reads.
func TestBuiltinInPlace(t *testing.T) {
	want, err := files.ReadFile(builtinPath)
	if err != nil {
		t.Skipf("built-in module not built (make wasm): %v", err)
	}
	a, b := Builtin(), Builtin()
	if !bytes.Equal(a, want) {
		t.Fatalf("Builtin() differs from the embedded file (%d vs %d bytes)", len(a), len(want))
	}
	if unsafe.SliceData(a) != unsafe.SliceData(b) {
		t.Fatal("Builtin() copies on every call")
	}
	if inPlace(builtinPath) == nil {
		t.Fatal("the embed.FS layout changed: Builtin() fell back to a heap copy (see inPlace)")
	}
	if inPlace("wasm/nope.wasm") != nil {
		t.Fatal("inPlace found a file that is not embedded")
	}
	if unsafe.SliceData(inPlace(builtinPath)) == unsafe.SliceData(want) {
		t.Fatal("ReadFile returned the in-place bytes: the test cannot tell a copy from the original")
	}
}

// TestBuiltinSeedInPlace: the precompiled module, when built, is the
// embedded bytes themselves too.
func TestBuiltinSeedInPlace(t *testing.T) {
	want, err := files.ReadFile(seedPath)
	if err != nil {
		if BuiltinSeed() != nil {
			t.Fatal("BuiltinSeed() returned bytes that are not embedded")
		}
		t.Skipf("no precompiled built-in module (make wasm): %v", err)
	}
	a, b := BuiltinSeed(), BuiltinSeed()
	if !bytes.Equal(a, want) || unsafe.SliceData(a) != unsafe.SliceData(b) || unsafe.SliceData(a) == unsafe.SliceData(want) {
		t.Fatal("BuiltinSeed() is not the embedded bytes in place")
	}
}
