package analytics

import "sync"

// recordQueue is the writer's bounded queue: Log appends to one buffer
// under a mutex; the writer takes the whole buffer at once and hands back
// an empty one (two buffers, swapped).
//
// It replaces a channel of QueueSize records. A channel's buffer is
// allocated whole when it is made — 16,384 records of ≈ 300 bytes, 5 MB —
// and, since a record holds pointers, the garbage collector scans all of
// it in every cycle, full or empty. The buffers here grow with what is
// actually queued between two takes (at the gateway's rates, a few
// thousand records) and are let go after a quiet spell, so an idle
// gateway holds a few kilobytes and a busy one what its rate needs
// (RATIONALE.md "The request log's queue grows with its use").
//
// Appending copies the record in place, as a channel send does, and
// allocates only while a buffer grows past its largest size so far.
type recordQueue struct {
	mu     sync.Mutex
	buf    []queued
	max    int  // the bound (QueueSize): a push past it is refused
	closed bool // set by close: every later push is refused
}

// push appends *r (with Time set to now by the caller when zero) and
// returns the queue's length after it, or ok false when the queue is full
// or closed (the record is not kept).
func (q *recordQueue) push(r *Record) (n int, ok bool) {
	q.mu.Lock()
	if q.closed || len(q.buf) >= q.max {
		q.mu.Unlock()
		return 0, false
	}
	if len(q.buf) == cap(q.buf) {
		q.grow()
	}
	q.buf = append(q.buf, queued{r: *r})
	n = len(q.buf)
	q.mu.Unlock()
	return n, true
}

// grow doubles the buffer (from minCap), never past the bound: append's
// own growth would overshoot it by up to a quarter.
func (q *recordQueue) grow() {
	c := min(q.max, max(minCap, 2*cap(q.buf)))
	b := make([]queued, len(q.buf), c)
	copy(b, q.buf)
	q.buf = b
}

// take returns everything queued and installs empty (length 0, its
// capacity kept) for the pushes that follow. The caller owns the returned
// buffer until it passes it back to a later take.
func (q *recordQueue) take(empty []queued) []queued {
	q.mu.Lock()
	got := q.buf
	q.buf = empty[:0]
	q.mu.Unlock()
	return got
}

// close refuses every push from now on and returns what was queued (the
// last take).
func (q *recordQueue) close() []queued {
	q.mu.Lock()
	q.closed = true
	got := q.buf
	q.buf = nil
	q.mu.Unlock()
	return got
}

// len is the number of records queued now.
func (q *recordQueue) len() int {
	q.mu.Lock()
	n := len(q.buf)
	q.mu.Unlock()
	return n
}

// bufferKeeper decides when a buffer that grew for a burst is let go: after
// quietTakes takes of large buffers in a row that used less than a quarter
// of them (the writer's two queue buffers take turns through one keeper;
// a small one in between neither counts nor resets). Buffers of at most
// keepCap records are always kept (they cost little and are scanned fast).
type bufferKeeper struct {
	quiet int
}

const (
	minCap     = 64
	keepCap    = 256
	quietTakes = 16 // at the default FlushInterval, ≥ 4 s of low traffic
)

// keep returns buf emptied (cleared, so it holds no strings for the
// collector), or nil when it should be let go because it has been mostly
// unused for quietTakes takes.
func (k *bufferKeeper) keep(buf []queued, used int) []queued {
	clear(buf[:used])
	if cap(buf) <= keepCap {
		return buf[:0] // small: kept, and says nothing about the traffic
	}
	if used*4 >= cap(buf) {
		k.quiet = 0
		return buf[:0]
	}
	k.quiet++
	if k.quiet < quietTakes {
		return buf[:0]
	}
	k.quiet = 0
	return nil
}
