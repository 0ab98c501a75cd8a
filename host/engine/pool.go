package engine

import (
	"context"
	"sync"
	"time"
)

// pool is a bounded set of instances of one module version. Idle instances
// wait in a channel; the total (idle + busy + being made) never exceeds max.
// It is deliberately not a sync.Pool: that drops instances at GC while wazero
// keeps them registered (a leak plus 4 ms refills).
type pool struct {
	m    *Module
	opts LoadOptions
	idle chan *instance

	mu     sync.Mutex
	total  int // instances alive or being made
	closed bool
	wg     sync.WaitGroup // background refills
}

func newPool(m *Module, o LoadOptions) *pool {
	return &pool{m: m, opts: o, idle: make(chan *instance, o.Max)}
}

// start puts the eagerly made instance in and warms up to Min in the background.
func (p *pool) start(ctx context.Context, first *instance) {
	p.mu.Lock()
	p.total = 1
	p.mu.Unlock()
	p.idle <- first
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
// until deadline.
func (p *pool) get(ctx context.Context, deadline time.Time) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
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
	p.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case inst := <-p.idle:
		return inst, nil
	case <-t.C:
		return nil, ErrNoInstance
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns a healthy instance.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.drop(inst)
		return
	}
	select {
	case p.idle <- inst:
	default: // cannot happen while total <= Max; be safe
		p.drop(inst)
	}
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
	p.mu.Unlock()
	p.wg.Wait()
	for {
		select {
		case inst := <-p.idle:
			p.drop(inst)
		default:
			return
		}
	}
}
