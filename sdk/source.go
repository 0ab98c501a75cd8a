//go:build !wasip1

package sdk

import (
	"embed"
	"io/fs"
)

// source is the SDK's own source, carried by the gatehouse binary so that
// `gatehouse plugin new` writes it into a new project (with a replace line):
// a plugin builds without a module proxy or a checkout. Never in a guest
// (this file is not built for wasip1).
//
//go:embed go.mod *.go internal sdktest
var source embed.FS

// Source returns the SDK module's files (go.mod, the package's .go files,
// internal/ and the emulator sdktest/), test files included; the caller
// picks.
func Source() fs.FS { return source }
