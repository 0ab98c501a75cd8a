// Package embedded carries the built-in policy module inside the gatehouse
// binary. The Makefile builds plugins/builtin to wasm/builtin.wasm before
// compiling the binary; a binary built without that step has no built-ins
// and says so when a config uses them.
package embedded

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
)

//go:embed wasm
var files embed.FS

// Builtin returns the built-in module, or nil when it was not built.
func Builtin() []byte {
	b, err := files.ReadFile("wasm/builtin.wasm")
	if err != nil {
		return nil
	}
	return b
}

// version is the built-in module's semantic version, without build metadata.
const version = "0.1.0"

// BuiltinVersion identifies the embedded module build.
func BuiltinVersion() string {
	b := Builtin()
	if b == nil {
		return ""
	}
	s := sha256.Sum256(b)
	return version + "+" + hex.EncodeToString(s[:4])
}
