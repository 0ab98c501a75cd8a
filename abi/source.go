//go:build !wasip1

package abi

import (
	"embed"
	"io/fs"
)

// source is the abi module's own source, carried by the gatehouse binary so
// that `gatehouse plugin new` writes it into a new project next to the SDK.
// Never in a guest (this file is not built for wasip1).
//
//go:embed *
var source embed.FS

// Source returns the abi module's files (test files and test data
// included; the caller picks).
func Source() fs.FS { return source }
