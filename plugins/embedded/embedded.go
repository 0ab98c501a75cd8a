// Package embedded carries the built-in policy module inside the gatehouse
// binary. The Makefile builds plugins/builtin to wasm/builtin.wasm before
// compiling the binary; a binary built without that step has no built-ins
// and says so when a config uses them.
package embedded

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"reflect"
	"sync"
	"unsafe"
)

//go:embed wasm
var files embed.FS

const builtinPath = "wasm/builtin.wasm"

// builtin is the module's bytes, found once.
var builtin = sync.OnceValue(func() []byte {
	if b := inPlace(builtinPath); b != nil {
		return b
	}
	b, err := files.ReadFile(builtinPath)
	if err != nil {
		return nil
	}
	return b
})

// Builtin returns the built-in module, or nil when it was not built.
//
// The bytes are the binary's own read-only data, not a copy (5 MB of heap
// fewer for the life of the process, and no garbage per call: RATIONALE.md
// "Memory and start"): callers must not write to them — a write faults.
// Every user reads them (hashing, compiling, storing).
func Builtin() []byte { return builtin() }

// inPlace returns the embedded file name as a slice over the binary's
// read-only data, or nil if the embed.FS layout is not the one this was
// written for (then Builtin falls back to a copy; TestBuiltinInPlace
// notices). embed.FS is {files *[]file}, file is {name, data string, hash};
// reflect reads unexported strings without copying them.
func inPlace(name string) []byte {
	v := reflect.ValueOf(files)
	if v.Kind() != reflect.Struct || v.NumField() != 1 {
		return nil
	}
	p := v.Field(0)
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Slice {
		return nil
	}
	list := p.Elem()
	for i := 0; i < list.Len(); i++ {
		f := list.Index(i)
		if f.Kind() != reflect.Struct || f.NumField() < 2 || f.Field(0).Kind() != reflect.String || f.Field(1).Kind() != reflect.String {
			return nil
		}
		if f.Field(0).String() != name {
			continue
		}
		data := f.Field(1).String()
		if len(data) == 0 {
			return nil
		}
		return unsafe.Slice(unsafe.StringData(data), len(data))
	}
	return nil
}

const seedPath = "wasm/builtin.seed"

// BuiltinSeed returns the built-in module precompiled at build time (a
// compilation-cache seed made by cmd/builtinseed, host/engine BuildSeed),
// or nil when the binary was built without it (`go build` without make:
// the module is then compiled at the first start). Like Builtin, the bytes
// are the binary's read-only data.
func BuiltinSeed() []byte { return builtinSeed() }

var builtinSeed = sync.OnceValue(func() []byte {
	if b := inPlace(seedPath); b != nil {
		return b
	}
	b, err := files.ReadFile(seedPath)
	if err != nil {
		return nil
	}
	return b
})

// ReleasePages takes the pages of the built-in module and its seed out of
// this process's resident set (Linux), once they have been read at start:
// they are the binary's read-only file pages, so they stay in the page
// cache and are read back if touched again (a reload hashes the module).
// Nothing is dropped for bytes that are a heap copy (see inPlace).
// RATIONALE.md "A precompiled built-in module".
func ReleasePages() {
	for _, p := range []string{builtinPath, seedPath} {
		if b := inPlace(p); b != nil {
			dropResident(b)
		}
	}
}

// version is the built-in module's semantic version, without build metadata.
const version = "0.1.0"

var builtinVersion = sync.OnceValue(func() string {
	b := Builtin()
	if b == nil {
		return ""
	}
	s := sha256.Sum256(b)
	return version + "+" + hex.EncodeToString(s[:4])
})

// BuiltinVersion identifies the embedded module build.
func BuiltinVersion() string { return builtinVersion() }
