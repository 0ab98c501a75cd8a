// Package ratelimitbykey is the rate-limit-by-key policy (Azure API
// Management's rate-limit-by-key): it allows at most calls requests per
// renewal period per value of a counter key (the subscription, the client
// IP, a request header, a variable or a JWT claim) and answers the rest
// with 429. The client IP is the address the gateway resolved at its edge
// (trusted proxies); an IPv6 client is counted per /64 prefix
// (plugins/internal/limit.IPKey), as one client normally holds a whole /64.
//
// Config:
//
//	{
//	  "calls": 100,                          // required, ≥ 1
//	  "renewal_period": 60,                  // required, seconds, 1 to 31622400 (366 days)
//	  "counter_key": "header:X-Tenant",      // required: subscription | ip | header:Name | var:name | claim:name
//	  "claims_variable": "jwt-claims",       // the variable with the JWT claims (for claim:name)
//	  "increment_condition": ["2xx"],        // count only responses with these statuses ([]: every request)
//	  "increment_count": 1,                  // how much a counted request adds, 1 to calls
//	  "sliding": false,                      // true: sliding window instead of fixed windows
//	  "retry_after_header": "Retry-After",   // header of the 429 with the seconds to wait ("": none)
//	  "retry_after_variable": "",            // variable set to the seconds to wait on a 429
//	  "remaining_calls_header": "",          // response header reporting the calls left
//	  "remaining_calls_variable": "",        // variable set to the calls left
//	  "total_calls_header": ""               // response header reporting calls
//	}
//
// counter_key is the grammar of rate-limit (plugins/internal/limit) plus
// "claim:name": the top-level claim name of the JWT claims that
// validate-jwt stored in claims_variable (set validate-jwt's
// output_token_variable_name to the same name, "jwt-claims" by default); a
// string claim is used as it is, any other value as its JSON text.
// Requests without the header, variable or claim share one counter. The
// counter is keyed by the policy, calls, renewal_period and key value: two
// attachments with the same three settings share their counters.
//
// A counted request adds increment_count (1 by default), and a request is
// refused when it would take the count past calls. Without
// increment_condition every request is counted when it arrives. With it
// (status codes "404" or classes "2xx"), the request phase only checks the
// count and the response phase counts the request when the final status
// matches; as in APIM, concurrent requests can then pass the limit by the
// number in flight. The policy's own 429 is never counted.
//
// Over the limit the policy answers 429 with retry_after_header set to
// the seconds until the window resets (at least 1) and the body
//
//	{"statusCode":429,"message":"Rate limit is exceeded. Try again in N seconds."}
//
// remaining_calls_header reports the calls left (the smallest value of the
// request's rate-limit-by-key policies, kept in the variable
// "rate-limit-by-key.remaining") and total_calls_header the configured
// calls; both are set in the response phase.
package ratelimitbykey

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/limit"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "rate-limit-by-key"

// RemainingVar holds the calls left for remaining_calls_header.
const RemainingVar = "rate-limit-by-key.remaining"

// refusedVar marks a request this policy answered with 429, so that the
// response phase does not count it.
const refusedVar = "rate-limit-by-key.refused"

// DefaultClaimsVariable is the default of claims_variable.
const DefaultClaimsVariable = "jwt-claims"

// Config is the policy's JSON config.
type Config struct {
	Calls                  int64    `json:"calls"`
	RenewalPeriod          int64    `json:"renewal_period"`
	CounterKey             *string  `json:"counter_key"`
	ClaimsVariable         *string  `json:"claims_variable"`
	IncrementCondition     []string `json:"increment_condition"`
	IncrementCount         *int64   `json:"increment_count"`
	Sliding                bool     `json:"sliding"`
	RetryAfterHeader       *string  `json:"retry_after_header"`
	RetryAfterVariable     string   `json:"retry_after_variable"`
	RemainingCallsHeader   string   `json:"remaining_calls_header"`
	RemainingCallsVariable string   `json:"remaining_calls_variable"`
	TotalCallsHeader       string   `json:"total_calls_header"`
}

// Policy is a configured rate-limit-by-key.
type Policy struct {
	sdk.Base
	calls        int64
	incr         int64
	window       time.Duration
	mode         sdk.CounterMode
	key          limit.Key
	prefix       string
	statuses     limit.Statuses // empty: count every request on arrival
	retryHeader  string
	retryVar     string
	remHeader    string
	remVar       string
	totalHeader  string
	totalValue   string
	keyBuf, num  []byte
	refusal      limit.Refusal
	respondPhase bool
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
	if c.RenewalPeriod < 1 || c.RenewalPeriod > limit.MaxPeriod {
		return nil, fmt.Errorf("renewal_period must be 1 to %d seconds, got %d", limit.MaxPeriod, c.RenewalPeriod)
	}
	if c.CounterKey == nil {
		return nil, fmt.Errorf("counter_key is required")
	}
	p := &Policy{
		calls:       c.Calls,
		incr:        1,
		window:      time.Duration(c.RenewalPeriod) * time.Second,
		mode:        sdk.FixedWindow,
		prefix:      fmt.Sprintf("%d/%d|", c.Calls, c.RenewalPeriod),
		retryHeader: "Retry-After",
		totalValue:  strconv.FormatInt(c.Calls, 10),
	}
	if c.Sliding {
		p.mode = sdk.SlidingWindow
	}
	var err error
	if p.key, err = limit.ParseKey("counter_key", *c.CounterKey, true); err != nil {
		return nil, err
	}
	p.key.ClaimsVar = DefaultClaimsVariable
	if c.ClaimsVariable != nil {
		if err := varName("claims_variable", *c.ClaimsVariable, false); err != nil {
			return nil, err
		}
		p.key.ClaimsVar = *c.ClaimsVariable
	}
	if p.statuses, err = limit.ParseStatuses("increment_condition", c.IncrementCondition); err != nil {
		return nil, err
	}
	if c.IncrementCount != nil {
		if *c.IncrementCount < 1 || *c.IncrementCount > c.Calls {
			return nil, fmt.Errorf("increment_count must be 1 to calls (%d), got %d", c.Calls, *c.IncrementCount)
		}
		p.incr = *c.IncrementCount
	}
	if c.RetryAfterHeader != nil {
		if *c.RetryAfterHeader != "" {
			if err := conf.HeaderName("retry_after_header", *c.RetryAfterHeader); err != nil {
				return nil, err
			}
		}
		p.retryHeader = *c.RetryAfterHeader
	}
	for _, h := range []struct{ field, v string }{
		{"remaining_calls_header", c.RemainingCallsHeader}, {"total_calls_header", c.TotalCallsHeader},
	} {
		if h.v != "" {
			if err := conf.HeaderName(h.field, h.v); err != nil {
				return nil, err
			}
		}
	}
	for _, v := range []struct{ field, v string }{
		{"retry_after_variable", c.RetryAfterVariable}, {"remaining_calls_variable", c.RemainingCallsVariable},
	} {
		if err := varName(v.field, v.v, true); err != nil {
			return nil, err
		}
	}
	p.retryVar, p.remHeader, p.remVar, p.totalHeader = c.RetryAfterVariable, c.RemainingCallsHeader, c.RemainingCallsVariable, c.TotalCallsHeader
	p.respondPhase = len(p.statuses) > 0 || p.remHeader != "" || p.totalHeader != ""
	return p, nil
}

func varName(field, v string, empty bool) error {
	if (v == "" && !empty) || len(v) > limit.MaxVarName {
		return fmt.Errorf("%s: a variable name is 1 to %d bytes", field, limit.MaxVarName)
	}
	return nil
}

func (p *Policy) counter(c *sdk.Context) sdk.Counter {
	p.keyBuf = p.key.Append(append(p.keyBuf[:0], p.prefix...), c)
	return c.CounterBytes(p.keyBuf)
}

// OnRequest counts the request (or, with increment_condition, checks the
// count) and refuses it over the limit.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	var r sdk.CounterResult
	var err error
	left := int64(0)
	if len(p.statuses) == 0 {
		r, err = p.counter(c).Add(p.incr, p.calls, p.window, p.mode)
		left = max(p.calls-r.Count, 0)
	} else {
		r, err = p.counter(c).Add(0, 0, p.window, p.mode)
		r.Allowed = r.Count+p.incr <= p.calls
		left = max(p.calls-r.Count-p.incr, 0)
	}
	if err != nil {
		return c.Fail(err)
	}
	if p.remVar != "" {
		if err := limit.SetInt(c, p.remVar, left, &p.num); err != nil {
			return c.Fail(err)
		}
	}
	if p.remHeader != "" {
		if err := limit.SetMin(c, RemainingVar, left, &p.num); err != nil {
			return c.Fail(err)
		}
	}
	if r.Allowed {
		return sdk.Continue
	}
	secs := limit.RetryAfter(c, r.ResetAt)
	if p.retryVar != "" {
		if err := limit.SetInt(c, p.retryVar, secs, &p.num); err != nil {
			return c.Fail(err)
		}
	}
	if len(p.statuses) > 0 {
		if err := c.Vars().Set(refusedVar, "1"); err != nil {
			return c.Fail(err)
		}
	}
	return p.refusal.Respond(c, p.retryHeader, secs)
}

// OnResponse counts the request when its status matches increment_condition
// and sets the remaining and total calls headers.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.respondPhase {
		return p.Base.OnResponse(c)
	}
	if len(p.statuses) > 0 && p.statuses.Match(c.Response().Status()) {
		if _, refused := c.Vars().Get(refusedVar); !refused {
			if _, err := p.counter(c).Add(p.incr, 0, p.window, p.mode); err != nil {
				return c.Fail(err)
			}
		}
	}
	h := c.Response().Header()
	if p.remHeader != "" {
		if v, ok := c.Vars().Get(RemainingVar); ok {
			if err := h.Set(p.remHeader, v); err != nil {
				return c.Fail(err)
			}
		}
	}
	if p.totalHeader != "" {
		if err := h.Set(p.totalHeader, p.totalValue); err != nil {
			return c.Fail(err)
		}
	}
	return sdk.Continue
}
