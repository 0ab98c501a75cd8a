//go:build !wasip1

package main

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time: on a loaded machine the
// wall time of a benchmark counts the time other processes held the CPU,
// its CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
