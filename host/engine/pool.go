package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a bounded set of instances of one module version. Idle instances
// are a LIFO stack: the instance that just finished is the next one used, so
// its linear memory is still in the CPU caches (a FIFO rotation through all
// instances measurably cost throughput). When every instance is busy and
// the pool is at its maximum, callers queue in arrival order.
//
// It is deliberately not a sync.Pool: that drops instances at GC while wazero
// keeps them registered (a leak plus 4 ms refills).
//
// One API holds at most opts.MaxPerAPI instances at once (by default all but
// one): a caller of an API at its share waits for one of its own API's
// instances, so one API whose calls are slow (or stuck until their deadline)
// cannot take the instances every other API needs.
type pool struct {
	m    *Module
	opts LoadOptions

	mu      sync.Mutex
	idle    []*instance
	waiters []waiter
	busy    map[string]int // instances borrowed, by API
	total   int            // instances alive or being made
	closed  bool
	wg      sync.WaitGroup // background refills

	exhausted atomic.Int64 // calls refused: no instance before the queue timeout
}

type waiter struct {
	ch  chan *instance
	api string
}

func newPool(m *Module, o LoadOptions) *pool {
	return &pool{m: m, opts: o, idle: make([]*instance, 0, o.Max), busy: map[string]int{}}
}

// borrowLocked marks inst as borrowed by api.
func (p *pool) borrowLocked(inst *instance, api string) {
	inst.api, inst.borrowed = api, true
	p.busy[api]++
}

// unborrowLocked ends inst's borrow.
func (p *pool) unborrowLocked(inst *instance) {
	if !inst.borrowed {
		return
	}
	if n := p.busy[inst.api] - 1; n > 0 {
		p.busy[inst.api] = n
	} else {
		delete(p.busy, inst.api)
	}
	inst.api, inst.borrowed = "", false
}

// start puts the eagerly made instance in and warms up to Min in the background.
func (p *pool) start(ctx context.Context, first *instance) {
	p.mu.Lock()
	p.total = 1
	p.idle = append(p.idle, first)
	p.mu.Unlock()
	p.refill()
}

// refill makes instances in the background until total reaches Min.
func (p *pool) refill() {
	p.mu.Lock()
	n := p.opts.Min - p.total
	if p.closed || n <= 0 {
		p.mu.Unlock()
		return
	}
	p.total += n
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		for i := 0; i < n; i++ {
			inst, err := p.m.newInstance(context.Background())
			if err != nil {
				p.m.e.log.Error("policy instance refill failed", "module", p.m.Name, "version", p.m.Version, "err", err)
				p.mu.Lock()
				p.total -= n - i
				p.mu.Unlock()
				return
			}
			p.put(inst)
		}
	}()
}

// get borrows an instance for api, growing the pool up to Max, or waiting
// for one at most wait. An API holding its share (MaxPerAPI) waits even when
// instances are idle: those are the other APIs'. idle reports that an idle
// instance was taken at once (none made, no wait): the caller's clock
// reading from before get still holds after it.
func (p *pool) get(ctx context.Context, api string, wait time.Duration) (inst *instance, idle bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, ErrClosed
	}
	if p.busy[api] < p.opts.MaxPerAPI {
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.borrowLocked(inst, api)
			p.mu.Unlock()
			return inst, true, nil
		}
		if p.total < p.opts.Max {
			p.total++
			p.busy[api]++ // reserved while the instance is made
			p.mu.Unlock()
			inst, err := p.m.newInstance(ctx)
			p.mu.Lock()
			p.busy[api]--
			if p.busy[api] <= 0 {
				delete(p.busy, api)
			}
			if err != nil {
				p.total--
				p.mu.Unlock()
				return nil, false, err
			}
			p.borrowLocked(inst, api)
			p.mu.Unlock()
			return inst, false, nil
		}
	}
	ch := make(chan *instance, 1)
	p.waiters = append(p.waiters, waiter{ch, api})
	p.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case inst := <-ch:
		if inst == nil { // serveWaiter could not make one
			return nil, false, fmt.Errorf("instance for a waiting call could not be made")
		}
		return inst, false, nil
	case <-t.C:
		p.exhausted.Add(1)
		p.mu.Lock()
		err = fmt.Errorf("pool exhausted: waited %v; API %q holds %d of its %d, %d of %d instances alive", wait, api, p.busy[api], p.opts.MaxPerAPI, p.total, p.opts.Max)
		p.mu.Unlock()
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Give up our place; if an instance was handed to us meanwhile, pass it on.
	p.mu.Lock()
	for i, w := range p.waiters {
		if w.ch == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, false, err
		}
	}
	p.mu.Unlock()
	if inst := <-ch; inst != nil {
		p.put(inst)
	}
	return nil, false, err
}

// put returns a healthy instance: to the longest waiter whose API is under
// its share, else to the stack.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	p.unborrowLocked(inst)
	if p.closed {
		p.mu.Unlock()
		p.drop(inst)
		return
	}
	for i, w := range p.waiters {
		if p.busy[w.api] >= p.opts.MaxPerAPI {
			continue
		}
		p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
		p.borrowLocked(inst, w.api)
		p.mu.Unlock()
		w.ch <- inst // buffered: never blocks
		return
	}
	p.idle = append(p.idle, inst)
	p.mu.Unlock()
}

// discard closes a broken instance and refills off the request path.
func (p *pool) discard(inst *instance) {
	p.m.e.stats.Discards.Add(1)
	p.mu.Lock()
	p.unborrowLocked(inst)
	p.mu.Unlock()
	p.drop(inst)
	p.refill()
	p.serveWaiter()
}

// serveWaiter makes an instance, off the request path, for the longest
// waiter whose API is under its share, when a discard left room in the pool
// (a waiter is otherwise served only by a put, and would wait its whole
// queue timeout although the pool could grow). On failure the waiter gets
// nil.
func (p *pool) serveWaiter() {
	p.mu.Lock()
	if p.closed || p.total >= p.opts.Max {
		p.mu.Unlock()
		return
	}
	for i, w := range p.waiters {
		if p.busy[w.api] >= p.opts.MaxPerAPI {
			continue
		}
		p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
		p.total++
		p.busy[w.api]++ // reserved while the instance is made
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			inst, err := p.m.newInstance(context.Background())
			p.mu.Lock()
			if p.busy[w.api]--; p.busy[w.api] <= 0 {
				delete(p.busy, w.api)
			}
			if err != nil {
				p.total--
				p.mu.Unlock()
				p.m.e.log.Error("policy instance for a waiting call failed", "module", p.m.Name, "version", p.m.Version, "err", err)
				w.ch <- nil // buffered: never blocks
				return
			}
			p.borrowLocked(inst, w.api)
			p.mu.Unlock()
			w.ch <- inst
		}()
		return
	}
	p.mu.Unlock()
}

func (p *pool) drop(inst *instance) {
	inst.close(context.Background())
	p.mu.Lock()
	p.total--
	p.mu.Unlock()
}

func (p *pool) stats() (idle, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), p.total
}

func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	p.wg.Wait()
	for _, inst := range idle {
		p.drop(inst)
	}
}
