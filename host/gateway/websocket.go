package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WebSocket pass-through.
//
// A request that asks to upgrade to websocket (HTTP/1.1 GET with
// Connection: Upgrade and Upgrade: websocket) goes through the API's
// inbound and backend sections like any call (a policy can refuse the
// handshake: 401, 403, 429 …). Connection and Upgrade are hop-by-hop and
// are removed at the edge as always; the gateway itself sends them again to
// the backend after the chain, so no policy can make a plain request an
// upgrade. When the backend answers 101 Switching Protocols the reverse
// proxy hijacks the client's connection and copies bytes both ways; the
// outbound section does not run on the 101 (it has no body, and its
// headers go to the client as the backend sent them, hop-by-hop removed).
// Any other answer to the handshake (400, 404, …) is an ordinary response
// and goes through the outbound section.
//
// The spliced connection is closed when either side closes it, when no
// byte moved in either direction for the API's idle timeout, or when it
// has lasted the API's maximum duration. The call is recorded once, when
// the connection ends: status 101, BytesIn the bytes the client sent,
// BytesOut the bytes the backend sent, Total the whole duration.
//
// Other upgrades (h2c aside, which a server may ignore and the gateway
// does) are refused with 400 before any policy runs.

// Defaults of WebSocketConfig.
const (
	DefaultWebSocketIdle        = 2 * time.Minute
	DefaultWebSocketMaxDuration = time.Hour
)

// WebSocketConfig limits an API's WebSocket connections.
type WebSocketConfig struct {
	// IdleTimeout closes a connection when no byte moved in either
	// direction for this long (2m when 0).
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout,omitempty"`
	// MaxDuration closes a connection this long after the handshake, busy
	// or not (1h when 0).
	MaxDuration Duration `yaml:"max_duration" json:"max_duration,omitempty"`
}

func (w WebSocketConfig) limits() (idle, maxDur time.Duration) {
	idle, maxDur = time.Duration(w.IdleTimeout), time.Duration(w.MaxDuration)
	if idle <= 0 {
		idle = DefaultWebSocketIdle
	}
	if maxDur <= 0 {
		maxDur = DefaultWebSocketMaxDuration
	}
	return idle, maxDur
}

// upgradeKind classifies a request's upgrade: "" (none), "websocket",
// "ignore" (h2c, which the gateway does not speak here and may ignore) or
// "refuse" (any other protocol, or websocket not on an HTTP/1.1 GET).
func upgradeKind(r *http.Request) string {
	up := r.Header["Upgrade"]
	if len(up) == 0 || !headerHasToken(r.Header["Connection"], "upgrade") {
		return ""
	}
	proto := strings.TrimSpace(up[0])
	switch {
	case len(up) == 1 && strings.EqualFold(proto, "websocket"):
		if r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Method != http.MethodGet {
			return "refuse"
		}
		return "websocket"
	case len(up) == 1 && strings.EqualFold(proto, "h2c"):
		return "ignore"
	}
	return "refuse"
}

// headerHasToken reports whether any comma-separated element of vs equals
// token (ASCII case-insensitive).
func headerHasToken(vs []string, token string) bool {
	for _, v := range vs {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// wsSession is one spliced WebSocket connection.
type wsSession struct {
	up, down atomic.Int64 // bytes client → backend, backend → client
	last     atomic.Int64 // unix nanoseconds of the last byte moved
	started  time.Time

	mu      sync.Mutex
	closers []io.Closer
	reason  string // why the gateway closed it ("" : a side closed it)
	done    chan struct{}
	ended   bool

	// Shutdown (wsshutdown.go): what the gateway writes to each side, the
	// registry it is in, and whether it was sent going-away frames.
	toBackend, toClient wsDir
	reg                 *wsRegistry
	goingAway           atomic.Bool
}

func newWSSession() *wsSession {
	s := &wsSession{started: time.Now(), done: make(chan struct{})}
	s.toBackend.mask = true
	s.last.Store(s.started.UnixNano())
	return s
}

// add registers a side to close when a limit ends the connection.
func (s *wsSession) add(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		_ = c.Close()
		return
	}
	s.closers = append(s.closers, c)
}

// close ends the connection for reason, once.
func (s *wsSession) close(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.ended, s.reason = true, reason
	close(s.done)
	for _, c := range s.closers {
		_ = c.Close()
	}
	if s.reg != nil {
		s.reg.remove(s)
	}
}

// watch enforces the limits until the session ends.
func (s *wsSession) watch(idle, maxDur time.Duration) {
	tick := min(max(idle/4, 5*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	deadline := time.NewTimer(maxDur)
	defer deadline.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-deadline.C:
			s.close("max duration")
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, s.last.Load())) >= idle {
				s.close("idle")
				return
			}
		}
	}
}

// wsCount counts the bytes read from one side.
type wsCount struct {
	s *wsSession
	n *atomic.Int64
}

func (c wsCount) moved(n int) {
	if n > 0 {
		c.n.Add(int64(n))
		c.s.last.Store(time.Now().UnixNano())
	}
}

// wsBackend wraps the backend's side (the 101 response's body).
type wsBackend struct {
	io.ReadWriteCloser
	wsCount
}

func (b *wsBackend) Read(p []byte) (int, error) {
	n, err := b.ReadWriteCloser.Read(p)
	b.moved(n)
	return n, err
}

// Write sends the client's bytes to the backend (wsshutdown.go).
func (b *wsBackend) Write(p []byte) (int, error) { return b.s.toBackend.write(p) }

// wsClient wraps the client's hijacked connection.
type wsClient struct {
	net.Conn
	wsCount
}

func (c *wsClient) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.moved(n)
	return n, err
}

// Write sends the backend's bytes to the client (wsshutdown.go).
func (c *wsClient) Write(p []byte) (int, error) { return c.s.toClient.write(p) }

// startWebSocket prepares the splice of a 101 answer: the backend side is
// wrapped for counting and limits; the client side is wrapped when the
// reverse proxy hijacks it (recWriter.Hijack).
func (c *call) startWebSocket(resp *http.Response) {
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return // the reverse proxy answers 502 for this itself
	}
	s := newWSSession()
	c.ws = s
	c.rw.ws = s
	resp.Body = &wsBackend{ReadWriteCloser: rwc, wsCount: wsCount{s: s, n: &s.down}}
	s.toBackend.w = rwc
	s.add(rwc)
	c.g.wsReg.add(s)
	go s.watch(c.rt.api.cfg.WebSocket.limits())
}

// hijacked wraps the client's connection of a WebSocket session.
func (s *wsSession) hijacked(conn net.Conn, brw *bufio.ReadWriter) (net.Conn, *bufio.ReadWriter) {
	s.toClient.mu.Lock()
	s.toClient.w = conn
	s.toClient.mu.Unlock()
	s.add(conn)
	if s.reg != nil {
		s.reg.mu.Lock()
		closing := s.reg.closing
		s.reg.mu.Unlock()
		if closing { // the shutdown began during the handshake
			s.close("shutdown")
		}
	}
	return &wsClient{Conn: conn, wsCount: wsCount{s: s, n: &s.up}}, brw
}

// endWebSocket is called when the call finishes: it stops the watcher and
// records the session's bytes and duration, and logs it.
func (c *call) endWebSocket() {
	s := c.ws
	s.close("")
	c.g.log.Info("websocket closed", "request_id", c.reqID, "api", c.ex.API,
		"bytes_in", s.up.Load(), "bytes_out", s.down.Load(),
		"duration", time.Since(s.started).Round(time.Millisecond), "closed_by", wsCloser(s))
}

func wsCloser(s *wsSession) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason == "" {
		if s.goingAway.Load() {
			return "shutdown"
		}
		return "peer"
	}
	return s.reason
}
