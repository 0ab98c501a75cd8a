package gateway

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
)

// WebSockets on graceful shutdown.
//
// http.Server.Shutdown does not know hijacked connections, so without help
// a spliced WebSocket would be cut when the process exits, and neither side
// would learn why. CloseWebSockets sends both sides the close frame the
// protocol has for this, 1001 "going away" (RFC 6455 §7.4.1), then waits
// for the peers to finish the closing handshake, which ends the splice,
// until the shutdown's deadline, when what is left is closed.
//
// The gateway does not parse WebSocket messages; it only follows the frame
// boundaries of the bytes it writes to each side (frameTracker), so that
// the close frame goes between two frames, never inside one (control frames
// may come between the fragments of a message). A write that is inside a
// frame when the shutdown starts is completed first. After its close frame a
// side gets nothing more: the gateway keeps reading, so that the peers'
// own close frames and closes are read rather than reset.

// wsRegistry holds a gateway's open WebSocket sessions.
type wsRegistry struct {
	mu      sync.Mutex
	open    map[*wsSession]struct{}
	closing bool         // CloseWebSockets ran: later sessions end at once
	total   atomic.Int64 // sessions sent going-away frames, since the start
}

func (r *wsRegistry) add(s *wsSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = map[*wsSession]struct{}{}
	}
	r.open[s] = struct{}{}
	s.reg = r
}

func (r *wsRegistry) isClosing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closing
}

func (r *wsRegistry) remove(s *wsSession) {
	r.mu.Lock()
	delete(r.open, s)
	r.mu.Unlock()
}

// CloseWebSockets sends a close frame 1001 "going away" to both sides of
// every open WebSocket connection and waits until each has ended or ctx is
// done, then closes those left. WebSockets whose handshake completes later
// are closed at once. It returns the number of connections it closed.
// Call it when shutting down, alongside http.Server.Shutdown (which does
// not track hijacked connections).
func (g *Gateway) CloseWebSockets(ctx context.Context) int {
	r := &g.wsReg
	r.mu.Lock()
	r.closing = true
	list := make([]*wsSession, 0, len(r.open))
	for s := range r.open {
		list = append(list, s)
	}
	r.mu.Unlock()
	for _, s := range list {
		s.goingAway.Store(true)
		go s.toBackend.goAway()
		go s.toClient.goAway()
	}
	for _, s := range list {
		select {
		case <-s.done:
		case <-ctx.Done():
			s.close("shutdown")
		}
	}
	r.total.Add(int64(len(list)))
	if len(list) > 0 {
		g.log.Info("websockets closed for shutdown", "count", len(list))
	}
	return len(list)
}

// WebSocketsClosedOnShutdown counts the connections CloseWebSockets closed.
func (g *Gateway) WebSocketsClosedOnShutdown() int64 { return g.wsReg.total.Load() }

// wsDir is one direction of a spliced connection: what the gateway writes
// to one side.
type wsDir struct {
	mu      sync.Mutex
	w       io.Writer // nil until the side is known (the client's at hijack)
	mask    bool      // frames to the backend are masked: the gateway is its client
	f       frameTracker
	closing bool // send the close frame at the next frame boundary
	sent    bool // sent: write nothing more
}

func (d *wsDir) write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sent {
		return len(p), nil // the side is closing; keep reading the other
	}
	if !d.closing {
		n, err := d.w.Write(p)
		d.f.consume(p[:n], false)
		return n, err
	}
	k := d.f.consume(p, true)
	if k > 0 {
		if _, err := d.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	if d.f.boundary() {
		d.sendClose()
	}
	return len(p), nil
}

// goAway sends the close frame now if the side is between frames, else
// at the end of the frame being written.
func (d *wsDir) goAway() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closing = true
	if d.w != nil && !d.sent && d.f.boundary() {
		d.sendClose()
	}
}

func (d *wsDir) sendClose() {
	d.sent = true
	_, _ = d.w.Write(closeFrame(d.mask))
}

// goingAwayReason is the close frame's payload: status 1001 and a reason.
const goingAwayReason = "\x03\xe9going away"

// closeFrame is a final close frame with status 1001 (masked for a frame
// the gateway sends as the backend's client).
func closeFrame(mask bool) []byte {
	p := []byte(goingAwayReason)
	if !mask {
		return append([]byte{0x88, byte(len(p))}, p...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	out := append([]byte{0x88, 0x80 | byte(len(p))}, key[:]...)
	for i, b := range p {
		out = append(out, b^key[i%4])
	}
	return out
}

// frameTracker follows WebSocket frame boundaries in a byte stream
// (RFC 6455 §5.2: 2 header bytes, 0/2/8 length bytes, 0/4 mask bytes,
// payload).
type frameTracker struct {
	hdr     [14]byte
	have    int    // header bytes seen of the current frame
	need    int    // its header length, once its second byte is seen
	payload uint64 // payload bytes still to come
}

func (f *frameTracker) boundary() bool { return f.have == 0 && f.payload == 0 }

// consume follows p and returns how many of its bytes it took: all of
// them, or with stop, those up to the first frame boundary (0 when the
// stream is at one).
func (f *frameTracker) consume(p []byte, stop bool) int {
	i := 0
	for i < len(p) {
		if stop && f.boundary() {
			return i
		}
		if f.payload > 0 {
			k := min(uint64(len(p)-i), f.payload)
			f.payload -= k
			i += int(k)
			continue
		}
		f.hdr[f.have] = p[i]
		f.have++
		i++
		if f.have == 2 {
			f.need = 2
			switch f.hdr[1] & 0x7f {
			case 126:
				f.need += 2
			case 127:
				f.need += 8
			}
			if f.hdr[1]&0x80 != 0 {
				f.need += 4
			}
		}
		if f.have >= 2 && f.have == f.need {
			switch n := f.hdr[1] & 0x7f; n {
			case 126:
				f.payload = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
			case 127:
				f.payload = binary.BigEndian.Uint64(f.hdr[2:10])
			default:
				f.payload = uint64(n)
			}
			f.have, f.need = 0, 0
		}
	}
	return i
}
