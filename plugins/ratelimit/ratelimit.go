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
//
// The counter_key grammar and the 429 answer live in plugins/internal/limit,
// shared with rate-limit-by-key (plugins/ratelimitbykey), which adds JWT
// claim keys, status-based counting and APIM's header and variable options.
package ratelimit

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/limit"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "rate-limit"

// RemainingVar is the variable holding the calls left in the current window.
const RemainingVar = "rate-limit.remaining"

// maxPeriod is the longest renewal period: the host's longest window.
const maxPeriod = limit.MaxPeriod

// Config is the policy's JSON config.
type Config struct {
	Calls                int64  `json:"calls"`
	RenewalPeriod        int64  `json:"renewal_period"`
	CounterKey           string `json:"counter_key"`
	Sliding              bool   `json:"sliding"`
	RemainingCallsHeader string `json:"remaining_calls_header"`
}

// Policy is a configured rate-limit.
type Policy struct {
	sdk.Base
	calls     int64
	window    time.Duration
	mode      sdk.CounterMode
	key       limit.Key
	prefix    string // "<calls>/<period>|"
	remaining string // response header, or ""
	keyBuf    []byte // reused for the counter key
	num       []byte // reused to format the calls left
	refusal   limit.Refusal
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
	var err error
	if p.key, err = limit.ParseKey("counter_key", c.CounterKey, false); err != nil {
		return nil, err
	}
	if c.RemainingCallsHeader != "" {
		if err := conf.HeaderName("remaining_calls_header", c.RemainingCallsHeader); err != nil {
			return nil, err
		}
		p.remaining = c.RemainingCallsHeader
	}
	return p, nil
}

func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.keyBuf = p.key.Append(append(p.keyBuf[:0], p.prefix...), c)
	r, err := c.CounterBytes(p.keyBuf).Add(1, p.calls, p.window, p.mode)
	if err != nil {
		return c.Fail(err)
	}
	if p.remaining != "" {
		if err := limit.SetMin(c, RemainingVar, max(p.calls-r.Count, 0), &p.num); err != nil {
			return c.Fail(err)
		}
	}
	if r.Allowed {
		return sdk.Continue
	}
	return p.refusal.Respond(c, "Retry-After", limit.RetryAfter(c, r.ResetAt))
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
