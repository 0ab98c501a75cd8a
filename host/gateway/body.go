package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
)

// Bodies a policy reads are received by the gateway before any guest call
// borrows an instance (issue 9, "no client or network I/O inside a guest
// call"): a slow client or backend then holds a goroutine and at most the
// body limit in memory, never an instance of a module whose pool other APIs
// share. Chains that read no body stream it, unbuffered. See RATIONALE.md,
// "Bodies are received before the guest call".

// bodyUse says which bodies a stage's policies may read with get_body.
type bodyUse uint8

const (
	readsRequestBody bodyUse = 1 << iota
	readsResponseBody
)

// builtinBodyReaders are the built-in policies that call get_body, each
// with which message it reads for a given config: the message its "phase"
// names (request by default), forward-request's request only with
// buffer_request_body, cache-store's response. A config that does not
// decode reads both (the attach-time schema check refuses it anyway).
// plugins/builtin's TestBodyReadersDeclared checks the names against the
// policies' sources: a built-in that reads a body without being listed
// would get ErrUnavail from get_body.
var builtinBodyReaders = map[string]func(config []byte) bodyUse{
	"find-and-replace": byPhase,
	"json-to-xml":      byPhase,
	"xml-to-json":      byPhase,
	"forward-request": func(config []byte) bodyUse {
		var c struct {
			Buffer bool `json:"buffer_request_body"`
		}
		if len(config) > 0 && json.Unmarshal(config, &c) != nil {
			return readsRequestBody
		}
		if c.Buffer {
			return readsRequestBody
		}
		return 0
	},
	"cache-store": func([]byte) bodyUse { return readsResponseBody },
}

// byPhase is the body of a policy whose "phase" field names the message it
// works on (plugins/internal/conf.ResponsePhase: "request" by default).
func byPhase(config []byte) bodyUse {
	var c struct {
		Phase string `json:"phase"`
	}
	if len(config) > 0 && json.Unmarshal(config, &c) != nil {
		return readsRequestBody | readsResponseBody
	}
	if c.Phase == "response" {
		return readsResponseBody
	}
	return readsRequestBody
}

// BuiltinBodyReaders returns the names of the built-in policies whose
// bodies the gateway receives before their guest calls.
func BuiltinBodyReaders() []string {
	out := make([]string, 0, len(builtinBodyReaders))
	for n := range builtinBodyReaders {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// stageBodyUse is what one step of a module may read: for the built-in
// module its policy's entry in builtinBodyReaders; for any other module,
// both bodies if it imports get_body (an uploaded module's policies are
// opaque to the host), none otherwise.
func stageBodyUse(ref *moduleRef, st Step) bodyUse {
	if ref.name == "builtin" {
		if f := builtinBodyReaders[st.Policy]; f != nil {
			return f(st.Config)
		}
		return 0
	}
	if slices.Contains(ref.mod.Info().HostImports, "get_body") {
		return readsRequestBody | readsResponseBody
	}
	return 0
}

// readsBody reports whether any stage of the given sections may read the
// body u names.
func (ch *chain) readsBody(u bodyUse, secs ...int) bool {
	for _, sec := range secs {
		for _, st := range ch[sec] {
			if st.body&u != 0 {
				return true
			}
		}
	}
	return false
}

// Defaults of the body receive limits (Options).
const (
	defaultBodyReadTimeout = 10 * time.Second
	defaultMinBodyRate     = 1 << 10   // bytes per second
	defaultBodyMemory      = 256 << 20 // bytes held by received bodies, node-wide
)

// errBodyMemory: the node's budget for received bodies is spent.
var errBodyMemory = errors.New("received-body memory budget exhausted")

// receiveRequestBody reads the request body into the exchange before the
// request phase, bounded by the API's body limit (413), a deadline that
// starts at BodyReadTimeout and grows by one second per MinBodyRate bytes
// received (408: a client trickling bytes cannot hold the request open
// indefinitely) and the node-wide BodyMemory budget (503). It answers and
// returns false when the body cannot be received.
func (c *call) receiveRequestBody() bool {
	ex := &c.ex
	r := c.r
	if ex.ReqBody.Received() {
		return true
	}
	if r.ContentLength == 0 && r.Body == http.NoBody {
		return true
	}
	rc := http.NewResponseController(c.rawW)
	g := c.g
	start := time.Now()
	deadlineFor := func(n int) time.Time {
		return start.Add(g.opts.BodyReadTimeout + time.Duration(int64(n)*int64(time.Second)/g.opts.MinBodyRate))
	}
	canDeadline := rc.SetReadDeadline(deadlineFor(0)) == nil
	buf, err := c.readBody(r.Body, ex.ReqBody.Bytes[:0], ex.ReqBody.Limit, r.ContentLength, func(n int) {
		if canDeadline {
			_ = rc.SetReadDeadline(deadlineFor(n))
		}
	})
	if canDeadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		ex.ReqBody.Bytes = buf[:0]
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, errBodyTooLarge) || errors.As(err, &mbe):
			ex.ReqBody.TooLarge = true
			c.fail(&failure{status: http.StatusRequestEntityTooLarge, source: "gateway", reason: "request body over the API's limit"})
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.g.bodyTimeouts.Add(1)
			c.g.log.Info("request body too slow", "request_id", c.reqID, "api", ex.API, "received", len(buf), "elapsed", time.Since(start))
			c.w.Header().Set("Connection", "close")
			c.fail(&failure{status: http.StatusRequestTimeout, source: "gateway", reason: "request body not received in time (too slow)"})
		case errors.Is(err, errBodyMemory):
			c.g.log.Warn("request body refused: received-body memory budget exhausted", "request_id", c.reqID, "api", ex.API, "budget", g.opts.BodyMemory)
			c.w.Header().Set("Connection", "close")
			c.fail(&failure{status: http.StatusServiceUnavailable, source: "gateway", reason: "received-body memory budget exhausted"})
		default:
			c.g.log.Debug("request body unreadable", "request_id", c.reqID, "err", err)
			c.w.Header().Set("Connection", "close")
			c.fail(&failure{status: http.StatusBadRequest, source: "gateway", reason: "request body unreadable"})
		}
		return false
	}
	ex.ReqBody.Load(buf)
	return true
}

var errBodyTooLarge = errors.New("body over its limit")

// initialBodyBuffer is the most a receive buffer starts with.
const initialBodyBuffer = 64 << 10

// readBody reads src into buf (reused), at most limit bytes (more is
// errBodyTooLarge), reserving what it holds from the node's body budget
// (released by putCall). progress is called with the bytes read so far
// after each read.
func (c *call) readBody(src io.Reader, buf []byte, limit, contentLength int64, progress func(int)) ([]byte, error) {
	if contentLength > limit {
		return buf, errBodyTooLarge
	}
	// The first buffer is the declared length (+1: see EOF without a
	// second grow) up to 64 KiB, at least 4 KiB; beyond that the buffer doubles as bytes
	// actually arrive, so a client declaring a large body and trickling it
	// reserves 64 KiB of the node's budget, not its Content-Length.
	// Without a declared length (chunked) the buffer starts at 4 KiB.
	want := 4 << 10
	if contentLength >= 0 {
		want = int(min(contentLength+1, initialBodyBuffer))
	}
	// A buffer kept by the pooled call counts against the budget too.
	if cap(buf) > 0 && !c.reserveBody(int64(cap(buf))) {
		return buf, errBodyMemory
	}
	for {
		if len(buf) == cap(buf) {
			grow := max(want-len(buf), len(buf), 4<<10)
			if int64(len(buf)+grow) > limit+1 {
				grow = int(limit + 1 - int64(len(buf)))
			}
			if !c.reserveBody(int64(grow)) {
				return buf, errBodyMemory
			}
			old := cap(buf)
			buf = slices.Grow(buf, grow)
			// the allocator rounds up to a size class: count what is held
			c.bodyHeld += int64(cap(buf) - old - grow)
			c.g.bodyMem.Add(int64(cap(buf) - old - grow))
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errBodyTooLarge
		}
		if n > 0 && progress != nil {
			progress(len(buf))
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// reserveBody takes n bytes of the node's received-body budget for this
// call; false (nothing taken) when the budget would be exceeded.
func (c *call) reserveBody(n int64) bool {
	g := c.g
	if g.bodyMem.Add(n) > g.opts.BodyMemory {
		g.bodyMem.Add(-n)
		return false
	}
	c.bodyHeld += n
	return true
}

// releaseBody gives back the call's share of the received-body budget. A
// pooled call keeps its body buffers for reuse only up to the first
// buffer's size, so what the budget released is really free.
func (c *call) releaseBody() {
	if c.bodyHeld != 0 {
		c.g.bodyMem.Add(-c.bodyHeld)
		c.bodyHeld = 0
	}
	if cap(c.ex.ReqBody.Bytes) > initialBodyBuffer {
		c.ex.ReqBody.Bytes = nil
	}
	if cap(c.ex.RespBody.Bytes) > initialBodyBuffer {
		c.ex.RespBody.Bytes = nil
	}
}

// BodyMemory returns the bytes the node holds in received bodies now.
func (g *Gateway) BodyMemory() int64 { return g.bodyMem.Load() }

// BodyTimeouts returns how many request bodies were refused with 408.
func (g *Gateway) BodyTimeouts() int64 { return g.bodyTimeouts.Load() }

// receiveResponseBody reads the backend's response body before the response
// phase borrows an instance, bounded by ResponseBodyLimit and the backend
// timeout. Over the limit the body is not an error: policies get
// ErrTooLarge from get_body and the response streams on whole (the bytes
// already read first). A failure (timeout, reset) is returned for the
// caller to answer 504/502.
func (c *call) receiveResponseBody(resp *http.Response) error {
	ex := &c.ex
	limit := c.g.opts.ResponseBodyLimit
	ex.RespBody = engine.Body{Src: resp.Body, Limit: limit, Bytes: ex.RespBody.Bytes[:0]}
	if resp.Body == nil || resp.Body == http.NoBody {
		ex.RespBody.Src = nil
		return nil
	}
	timeout := c.rt.api.timeout
	if ex.Backend.Timeout > 0 {
		timeout = ex.Backend.Timeout
	}
	body := resp.Body
	timedOut := make(chan struct{})
	t := time.AfterFunc(timeout, func() {
		close(timedOut)
		_ = body.Close() // unblocks a read in progress
	})
	buf, err := c.readBody(body, ex.RespBody.Bytes, limit, resp.ContentLength, nil)
	stopped := t.Stop()
	if !stopped {
		<-timedOut
		return errResponseBodyTimeout
	}
	switch {
	case err == nil:
		ex.RespBody.Load(buf)
		return nil
	case errors.Is(err, errBodyTooLarge):
		// Policies see ErrTooLarge; the client gets the whole body.
		ex.RespBody.TooLarge = true
		ex.RespBody.Bytes = buf
		resp.Body = prefixedBody{io.MultiReader(bytes.NewReader(buf), body), body}
		ex.RespBody.Src = resp.Body
		return nil
	}
	return err
}

var errResponseBodyTimeout = errors.New("backend response body not received within the backend timeout")

type prefixedBody struct {
	io.Reader
	io.Closer
}

// backendBodyFailure turns a failed receive of the backend's body into the
// call's failure (answered by proxyError).
func (c *call) backendBodyFailure(err error) {
	c.g.log.Warn("backend response body not received", "request_id", c.reqID, "api", c.ex.API, "err", err)
	switch {
	case errors.Is(err, errResponseBodyTimeout) || errors.Is(err, context.DeadlineExceeded):
		c.failed = &failure{status: http.StatusGatewayTimeout, source: "backend", reason: err.Error()}
	case errors.Is(err, errBodyMemory):
		c.failed = &failure{status: http.StatusServiceUnavailable, source: "gateway", reason: err.Error()}
	default:
		c.failed = &failure{status: http.StatusBadGateway, source: "backend", reason: "backend response body: " + err.Error()}
	}
}
