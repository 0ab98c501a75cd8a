package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Phase is the phase a call runs in.
type Phase string

const (
	// PhaseRequest: on_request, before the backend (inbound and backend
	// sections).
	PhaseRequest Phase = "request"
	// PhaseResponse: on_response, with the backend's (or an early answer's)
	// status and headers (outbound section).
	PhaseResponse Phase = "response"
	// PhaseError: on_request called for the on-error section. Only
	// Context.Stage reports it.
	PhaseError Phase = "error"
)

// Context is the current request as one policy call sees it. The SDK reuses
// one Context for every call: do not keep it, or anything obtained from it,
// beyond the call it was passed to.
type Context struct {
	handle    uint32
	phase     Phase
	policy    string
	noHandler bool
	// rerun: a FillLease found the lease held; the host re-runs the stage,
	// so the plan ends after this policy.
	rerun   bool
	failure error
	req     Request
	resp    Response
}

// Phase returns PhaseRequest in OnRequest and PhaseResponse in OnResponse.
func (c *Context) Phase() Phase { return c.phase }

// Stage asks the host for the current stage: PhaseRequest, PhaseResponse, or
// PhaseError when the request phase runs for the on-error section.
func (c *Context) Stage() Phase { return Phase(c.field(abi.FieldPhase)) }

// Request returns the request: in the request phase it can be changed, and
// the changes are what the backend receives.
func (c *Context) Request() *Request {
	c.req.c = c
	return &c.req
}

// Response returns the response: the backend's in the response phase, the
// early answer being prepared in the request phase (its headers are the ones
// Context.Respond sends).
func (c *Context) Response() *Response {
	c.resp.c = c
	return &c.resp
}

// Respond answers the request early with status and body (send_response)
// and returns Stop, so a handler can end with `return c.Respond(401, body)`.
// Set the answer's headers first with c.Response().Header(). The backend and
// the rest of the section are skipped.
//
// Respond is for the request phase; in the response phase (where the host
// refuses it) change the response with Response().SetStatus and SetBody.
// If the host refuses the answer (a status outside 100–599, a body over the
// output cap, the response phase), the call fails as with Fail.
func (c *Context) Respond(status int, body []byte) Action {
	if status < 100 || status > 599 {
		return c.Fail(fmt.Errorf("respond: status %d is not in 100-599", status))
	}
	if st := imports.SendResponse(c.handle, int32(status), body); st < 0 {
		return c.Fail(fmt.Errorf("respond %d: %w", status, statusErr(st)))
	}
	return Stop
}

// Fail records that the policy could not do its job and returns Stop. The
// call then ends with a failure: the error is logged with the policy's name
// and the attachment's fail mode decides what the client gets (by default
// 500, or 413 when a body was over its limit). Use it for host errors a
// policy cannot handle, e.g. `return c.Fail(err)`.
func (c *Context) Fail(err error) Action {
	if err == nil {
		err = errors.New("failed")
	}
	if c.failure == nil {
		c.failure = err
	}
	return Stop
}

// Param returns a path parameter of the matched URL template, e.g. "id" for
// /pets/{id}, or "" if there is none.
func (c *Context) Param(name string) string {
	s, _ := readString(func(buf []byte) int32 { return imports.GetParam(c.handle, bytesOf(name), buf) })
	return s
}

func (c *Context) field(f int32) string {
	s, _ := readString(func(buf []byte) int32 { return imports.GetField(c.handle, f, buf) })
	return s
}

// ClientIP returns the client's IP address (the TCP peer).
func (c *Context) ClientIP() string { return c.field(abi.FieldClientIP) }

// RequestID returns the gateway's id of this request.
func (c *Context) RequestID() string { return c.field(abi.FieldRequestID) }

// API returns the name of the matched API.
func (c *Context) API() string { return c.field(abi.FieldAPI) }

// Operation returns the id of the matched operation, or "".
func (c *Context) Operation() string { return c.field(abi.FieldOperation) }

// SubscriptionID returns the id of the subscription bound to the request by
// a successful LookupSubscription (of this or an earlier policy), or "".
func (c *Context) SubscriptionID() string { return c.field(abi.FieldSubscription) }

// Product returns the product of the bound subscription, or "".
func (c *Context) Product() string { return c.field(abi.FieldProduct) }

// OriginalPath returns the canonical request path before any rewrite.
func (c *Context) OriginalPath() string { return c.field(abi.FieldOriginalPath) }

// RouteTemplate returns the URL template of the matched operation, e.g.
// "/pets/{id}".
func (c *Context) RouteTemplate() string { return c.field(abi.FieldRouteTemplate) }

// Scheme returns "http" or "https", as the client used.
func (c *Context) Scheme() string { return c.field(abi.FieldScheme) }

// Host returns the Host the client sent.
func (c *Context) Host() string { return c.field(abi.FieldHost) }

// LogLevel is the level of a log message.
type LogLevel int32

// Log levels.
const (
	LogDebug LogLevel = LogLevel(abi.LogDebug)
	LogInfo  LogLevel = LogLevel(abi.LogInfo)
	LogWarn  LogLevel = LogLevel(abi.LogWarn)
	LogError LogLevel = LogLevel(abi.LogError)
)

// logBuf holds "policy: message" while it is sent.
var logBuf []byte

// Log writes msg to the gateway log, prefixed with the policy's name. The
// host caps messages at 4 KiB and rate-limits them per module.
func (c *Context) Log(level LogLevel, msg string) { c.log(level, msg) }

// Logf is Log with fmt.Sprintf formatting.
func (c *Context) Logf(level LogLevel, format string, args ...any) {
	c.log(level, fmt.Sprintf(format, args...))
}

func (c *Context) logf(level LogLevel, format string, args ...any) {
	c.log(level, fmt.Sprintf(format, args...))
}

func (c *Context) log(level LogLevel, msg string) {
	logBuf = logBuf[:0]
	if c.policy != "" {
		logBuf = append(logBuf, c.policy...)
		logBuf = append(logBuf, ": "...)
	}
	logBuf = append(logBuf, msg...)
	if len(logBuf) > 4096 {
		logBuf = logBuf[:4096]
	}
	imports.Log(c.handle, int32(level), logBuf)
}

// Now returns the host's wall clock. (The WASI clocks inside a guest are
// deterministic and do not tell the real time.)
func (c *Context) Now() time.Time { return time.Unix(0, imports.Now()) }

// Random returns n cryptographically random bytes from the host.
func (c *Context) Random(n int) ([]byte, error) {
	if n < 0 {
		return nil, ErrInvalid
	}
	out := make([]byte, n)
	for b := out; len(b) > 0; {
		k := min(len(b), 1024)
		if st := imports.Random(b[:k]); st < 0 {
			return nil, statusErr(st)
		}
		b = b[k:]
	}
	return out, nil
}
