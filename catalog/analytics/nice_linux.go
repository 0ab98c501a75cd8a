//go:build linux

package analytics

import "syscall"

const niceSupported = true

func gettid() int { return syscall.Gettid() }

// setThreadNice sets the calling OS thread's nice value (on Linux a
// thread's priority is its own: PRIO_PROCESS with a thread ID).
func setThreadNice(n int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
}
