package engine

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context a guarded call runs under. wazero's per-call
// watcher closes the instance when Done is closed (deferring the release of
// its resources to the call's goroutine) and picks the exit code from Err.
// One callCtx and one timer belong to each instance and are re-armed per
// call, so a guarded call allocates no context, timer or cancel func; the
// done channel is replaced only after it fired (and then the instance is
// discarded anyway).
type callCtx struct {
	mu       sync.Mutex
	done     chan struct{}
	fired    bool
	armed    uint32 // sequence of the armed call; 0 when idle
	deadline time.Time
	timer    *time.Timer
}

func newCallCtx() *callCtx {
	c := &callCtx{done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, c.fire)
	c.timer.Stop()
	return c
}

// arm starts the deadline for call seq.
func (c *callCtx) arm(seq uint32, deadline time.Time) {
	c.mu.Lock()
	if c.fired {
		c.done, c.fired = make(chan struct{}), false
	}
	c.armed, c.deadline = seq, deadline
	c.mu.Unlock()
	c.timer.Reset(time.Until(deadline))
}

// disarm ends the call; it reports whether the deadline fired.
func (c *callCtx) disarm() bool {
	c.timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = 0
	return c.fired
}

// fire runs on the timer's goroutine. A late firing for a finished call, or
// one racing a re-arm, finds another call armed with a later deadline and
// does nothing.
func (c *callCtx) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == 0 || c.fired || time.Now().Before(c.deadline) {
		return
	}
	c.fired = true
	close(c.done)
}

func (c *callCtx) stop() { c.timer.Stop() }

func (c *callCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fired {
		return context.DeadlineExceeded
	}
	return nil
}
func (c *callCtx) Value(any) any { return nil }
