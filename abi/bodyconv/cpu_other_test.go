//go:build !unix

package bodyconv

import (
	"testing"
	"time"
)

// cpuTime is 0 where getrusage is missing (wasip1: the package's tests are
// vetted there as part of the abi module).
func cpuTime() time.Duration { return 0 }

// reportCPU reports nothing without a CPU clock.
func reportCPU(b *testing.B, start time.Duration) {}
