//go:build linux && cgo

package main

import (
	"runtime"
	"sync"
	"testing"
)

// TestOneCArena: the C heap stays in one glibc arena however many threads
// call into C (the constructor in malloctrim_linux.go). Without it, each
// of these threads' first malloc makes an arena of its own.
func TestOneCArena(t *testing.T) {
	if cArenas() < 0 {
		t.Skip("no malloc_info: not glibc")
	}
	const threads = 8
	var ready, done sync.WaitGroup
	ready.Add(threads)
	release := make(chan struct{})
	for range threads {
		done.Go(func() {
			runtime.LockOSThread() // one OS thread each, held until all have malloc'd
			defer runtime.UnlockOSThread()
			mallocHere()
			ready.Done()
			<-release
		})
	}
	ready.Wait()
	close(release)
	done.Wait()
	if n := cArenas(); n != 1 {
		t.Fatalf("the C heap has %d arenas after mallocs from %d threads; want 1", n, threads)
	}
}
