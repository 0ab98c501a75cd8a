// Package ratelimit is the rate-limit policy (Azure API Management's
// rate-limit and rate-limit-by-key): it allows at most calls requests per
// renewal period per counter key and answers the rest with 429.
//
// Config:
//
//	{
//	  "calls": 100,                  // required, ≥ 1
//	  "renewal_period": 60,          // required, seconds, 1 to 31622400 (366 days)
//	  "counter_key": "subscription", // subscription (default) | ip | header:Name | var:name
//	  "sliding": false,              // true: sliding window instead of fixed windows
//	  "remaining_calls_header": ""   // optional response header reporting the calls left
//	}
//
// counter_key selects what is counted: "subscription" counts per
// subscription bound to the request (put subscription-key before this
// policy) and per client IP when none is bound; "ip" per client IP;
// "header:Name" per value of a request header and "var:name" per value of a
// variable set by an earlier policy (requests without it share one counter).
// Counters are shared by every gateway instance on the node; two
// attachments with the same calls, renewal_period and counter_key count into
// the same counter.
//
// Over the limit the policy answers 429 with Retry-After (seconds until
// the window resets, at least 1) and the body
//
//	{"statusCode":429,"message":"Rate limit is exceeded. Try again in N seconds."}
//
// With remaining_calls_header set, the policy stores the calls left in the
// variable "rate-limit.remaining" (the smallest of all rate-limit policies of
// the request) and, in the response phase, copies it into that response
// header (an inbound attachment also gets the response phase).
package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "rate-limit"

// RemainingVar is the variable holding the calls left in the current window.
const RemainingVar = "rate-limit.remaining"

// maxPeriod is the longest renewal period: the host's longest window.
const maxPeriod = 366 * 24 * 60 * 60

// maxKeyValue is the longest counter key value used as it is; longer ones
// (header values, variables) are hashed so that keys stay under the host's
// 512-byte limit.
const maxKeyValue = 256

// Config is the policy's JSON config.
type Config struct {
	Calls                int64  `json:"calls"`
	RenewalPeriod        int64  `json:"renewal_period"`
	CounterKey           string `json:"counter_key"`
	Sliding              bool   `json:"sliding"`
	RemainingCallsHeader string `json:"remaining_calls_header"`
}

type keyKind int

const (
	bySubscription keyKind = iota
	byIP
	byHeader
	byVar
)

// Policy is a configured rate-limit.
type Policy struct {
	sdk.Base
	calls     int64
	window    time.Duration
	mode      sdk.CounterMode
	kind      keyKind
	keyName   string // the header or variable name
	prefix    string // "<calls>/<period>|"
	remaining string // response header, or ""
	keyBuf    []byte // reused for the counter key
	num       []byte // reused to format Retry-After and the calls left
	body      []byte // reused for the 429 body
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Calls < 1 {
		return nil, fmt.Errorf("calls must be at least 1, got %d", c.Calls)
	}
	if c.RenewalPeriod < 1 || c.RenewalPeriod > maxPeriod {
		return nil, fmt.Errorf("renewal_period must be 1 to %d seconds, got %d", maxPeriod, c.RenewalPeriod)
	}
	p := &Policy{
		calls:  c.Calls,
		window: time.Duration(c.RenewalPeriod) * time.Second,
		mode:   sdk.FixedWindow,
		prefix: fmt.Sprintf("%d/%d|", c.Calls, c.RenewalPeriod),
	}
	if c.Sliding {
		p.mode = sdk.SlidingWindow
	}
	switch k := c.CounterKey; {
	case k == "" || k == "subscription":
		p.kind = bySubscription
	case k == "ip":
		p.kind = byIP
	case strings.HasPrefix(k, "header:"):
		p.kind, p.keyName = byHeader, strings.TrimPrefix(k, "header:")
		if !conf.IsToken(p.keyName) {
			return nil, fmt.Errorf("counter_key %q: %q is not a valid header name", k, p.keyName)
		}
	case strings.HasPrefix(k, "var:"):
		p.kind, p.keyName = byVar, strings.TrimPrefix(k, "var:")
		if p.keyName == "" || len(p.keyName) > 128 {
			return nil, fmt.Errorf("counter_key %q: a variable name is 1 to 128 bytes", k)
		}
	default:
		return nil, fmt.Errorf(`counter_key %q: want "subscription", "ip", "header:Name" or "var:name"`, k)
	}
	if c.RemainingCallsHeader != "" {
		if err := conf.HeaderName("remaining_calls_header", c.RemainingCallsHeader); err != nil {
			return nil, err
		}
		p.remaining = c.RemainingCallsHeader
	}
	return p, nil
}

// key builds the counter key into p.keyBuf without allocating: the
// attachment's prefix, a kind tag and the value.
func (p *Policy) key(c *sdk.Context) []byte {
	k := append(p.keyBuf[:0], p.prefix...)
	mark := len(k)
	switch p.kind {
	case bySubscription:
		k = c.AppendField(append(k, "s:"...), sdk.FieldSubscription)
		if len(k) == mark+2 {
			k = c.AppendField(append(k[:mark], "i:"...), sdk.FieldClientIP)
		}
	case byIP:
		k = c.AppendField(append(k, "i:"...), sdk.FieldClientIP)
	case byHeader:
		k, _ = c.Request().Header().AppendGet(append(k, "h:"...), p.keyName)
	case byVar:
		v, _ := c.Vars().Get(p.keyName)
		k = append(append(k, "v:"...), v...)
	}
	if v := k[mark+2:]; len(v) > maxKeyValue {
		sum := sha256.Sum256(v)
		k = hex.AppendEncode(append(k[:mark+2], '#'), sum[:])
	}
	p.keyBuf = k
	return k
}

func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	r, err := c.CounterBytes(p.key(c)).Add(1, p.calls, p.window, p.mode)
	if err != nil {
		return c.Fail(err)
	}
	if p.remaining != "" {
		if err := p.setRemaining(c, max(p.calls-r.Count, 0)); err != nil {
			return c.Fail(err)
		}
	}
	if r.Allowed {
		return sdk.Continue
	}
	secs := int64((r.ResetAt.Sub(c.Now()) + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	p.num = strconv.AppendInt(p.num[:0], secs, 10)
	h := c.Response().Header()
	// The host only reads the value; p.num does not change until it returns.
	if err := h.Set("Retry-After", unsafe.String(&p.num[0], len(p.num))); err != nil {
		return c.Fail(err)
	}
	if err := h.Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	p.body = append(p.body[:0], `{"statusCode":429,"message":"Rate limit is exceeded. Try again in `...)
	p.body = strconv.AppendInt(p.body, secs, 10)
	p.body = append(p.body, ` seconds."}`...)
	return c.Respond(429, p.body)
}

// setRemaining stores the calls left, keeping the smallest value of the
// request's rate limits.
func (p *Policy) setRemaining(c *sdk.Context, left int64) error {
	if s, ok := c.Vars().Get(RemainingVar); ok {
		if prev, err := strconv.ParseInt(s, 10, 64); err == nil && prev <= left {
			return nil
		}
	}
	p.num = strconv.AppendInt(p.num[:0], left, 10)
	return c.Vars().SetBytes(RemainingVar, p.num)
}

// OnResponse reports the calls left in the configured header.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if p.remaining == "" {
		return p.Base.OnResponse(c)
	}
	if v, ok := c.Vars().Get(RemainingVar); ok {
		if err := c.Response().Header().Set(p.remaining, v); err != nil {
			return c.Fail(err)
		}
	}
	return sdk.Continue
}
