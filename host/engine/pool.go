package engine

import (
	"context"
	"sync"
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
type pool struct {
	m    *Module
	opts LoadOptions

	mu      sync.Mutex
	idle    []*instance
	waiters []chan *instance
	total   int // instances alive or being made
	closed  bool
	wg      sync.WaitGroup // background refills
}

func newPool(m *Module, o LoadOptions) *pool {
	return &pool{m: m, opts: o, idle: make([]*instance, 0, o.Max)}
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

// get borrows an instance, growing the pool up to Max, or waiting for one
// at most wait.
func (p *pool) get(ctx context.Context, wait time.Duration) (*instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	if p.total < p.opts.Max {
		p.total++
		p.mu.Unlock()
		inst, err := p.m.newInstance(ctx)
		if err != nil {
			p.mu.Lock()
			p.total--
			p.mu.Unlock()
			return nil, err
		}
		return inst, nil
	}
	ch := make(chan *instance, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case inst := <-ch:
		return inst, nil
	case <-t.C:
		err = ErrNoInstance
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Give up our place; if an instance was handed to us meanwhile, pass it on.
	p.mu.Lock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, err
		}
	}
	p.mu.Unlock()
	p.put(<-ch)
	return nil, err
}

// put returns a healthy instance: to the longest waiter, else to the stack.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.drop(inst)
		return
	}
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- inst // buffered: never blocks
		return
	}
	p.idle = append(p.idle, inst)
	p.mu.Unlock()
}

// discard closes a broken instance and refills off the request path.
func (p *pool) discard(inst *instance) {
	p.m.e.stats.Discards.Add(1)
	p.drop(inst)
	p.refill()
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
