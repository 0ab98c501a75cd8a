// Package quota is the quota and quota-by-key policies (Azure API
// Management's quota and quota-by-key): a renewable call volume and/or
// bandwidth quota per renewal period, per subscription (quota) or per value
// of a counter key (quota-by-key). Over the quota the policy answers 403.
//
// quota config:
//
//	{
//	  "calls": 10000,           // calls per renewal period; calls and/or bandwidth required
//	  "bandwidth": 40000,       // kilobytes (1024 bytes) per renewal period
//	  "renewal_period": 3600    // required, seconds, 1 to 31622400 (366 days)
//	}
//
// quota-by-key config: the same fields and
//
//	{
//	  "counter_key": "ip",               // required: subscription | ip | header:Name | var:name | claim:name
//	  "claims_variable": "jwt-claims",   // the variable with the JWT claims (for claim:name)
//	  "increment_count": 1,              // how much a counted request adds to the calls (≥ 1)
//	  "increment_condition": ["2xx"]     // count only responses with these statuses ([]: every request)
//	}
//
// quota counts per subscription bound to the request (put subscription-key
// before it), and per client IP when none is bound. counter_key has the
// grammar of rate-limit-by-key (plugins/internal/limit).
//
// Windows are fixed, aligned to multiples of renewal_period since the Unix
// epoch (quota-by-key's default first-period-start; APIM's quota starts them
// at the subscription's creation), and the counters are asked to
// persist (sdk.Persist): a host with a counter file (host/counter
// Options.PersistPath) keeps them across restarts, for windows of at least
// its PersistMinWindow (1 minute by default). The counter is keyed by the
// policy, the renewal period and the key value, not by the limits, so that
// raising a quota does not reset what was used: two attachments of the same
// policy with the same renewal_period and key share their counters (APIM:
// one counter per key value for every scope the policy is configured at).
//
// Calls: without increment_condition the request phase adds
// increment_count and refuses the request (nothing counted) when that would
// pass calls. With increment_condition the request phase only checks (a
// request is refused once calls were counted) and the response phase adds
// increment_count when the final status matches; concurrent requests can
// then pass the quota by the number in flight, as in APIM.
//
// Bandwidth is the request's and the response's Content-Length (bodies,
// not headers), added in the response phase (for the requests that count,
// with increment_condition); the request phase refuses a request once the
// bandwidth used reaches the quota, so the last request may go over it, as
// in APIM. A body sent without a Content-Length (chunked) is not counted.
//
// Over the quota the policy answers 403 with Retry-After (seconds until the
// window resets, at least 1) and the body
//
//	{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 00:08:24."}
//
// ("Out of bandwidth quota." for bandwidth); the time is [d.]hh:mm:ss.
// The policy's own 403 is not counted in the response phase, nor is an
// early answer given before any quota policy ran (e.g. subscription-key's
// 401).
package quota

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/limit"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the quota policy's name in attachments.
const Name = "quota"

// ByKeyName is the quota-by-key policy's name in attachments.
const ByKeyName = "quota-by-key"

// DefaultClaimsVariable is the default of claims_variable.
const DefaultClaimsVariable = "jwt-claims"

// RefusedVar is set to "1" when a quota policy refused the request, so
// that no quota policy counts the refusal's bandwidth or status.
const RefusedVar = "quota.refused"

// PassedVar is set to "1" when a quota policy that counts in the response
// phase let the request through: the response phase counts only requests
// a quota saw (not, say, the 401 of a subscription-key placed before it).
const PassedVar = "quota.passed"

// maxKB is the largest bandwidth, in kilobytes, whose byte count fits an
// int64.
const maxKB = (1<<63 - 1) / 1024

// Config is the quota policy's JSON config.
type Config struct {
	Calls         *int64 `json:"calls"`
	Bandwidth     *int64 `json:"bandwidth"`
	RenewalPeriod int64  `json:"renewal_period"`
}

// ByKeyConfig is the quota-by-key policy's JSON config.
type ByKeyConfig struct {
	Calls              *int64   `json:"calls"`
	Bandwidth          *int64   `json:"bandwidth"`
	RenewalPeriod      int64    `json:"renewal_period"`
	CounterKey         *string  `json:"counter_key"`
	ClaimsVariable     *string  `json:"claims_variable"`
	IncrementCount     *int64   `json:"increment_count"`
	IncrementCondition []string `json:"increment_condition"`
}

// status matches a status code or a class ("2xx").
type status struct{ lo, hi int }

// Policy is a configured quota or quota-by-key.
type Policy struct {
	sdk.Base
	calls     int64 // 0: no call quota
	bandwidth int64 // bytes; 0: no bandwidth quota
	window    time.Duration
	key       limit.Key
	prefix    string // "<period>|"
	incr      int64
	statuses  []status // empty: count calls on arrival

	keyBuf []byte
	num    []byte
	body   []byte
}

const mode = sdk.FixedWindow | sdk.Persist

// New parses and checks a quota config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p, err := newPolicy(c.Calls, c.Bandwidth, c.RenewalPeriod)
	if err != nil {
		return nil, err
	}
	p.key = limit.Key{Kind: limit.BySubscription}
	return p, nil
}

// NewByKey parses and checks a quota-by-key config.
func NewByKey(config []byte) (sdk.Policy, error) {
	var c ByKeyConfig
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p, err := newPolicy(c.Calls, c.Bandwidth, c.RenewalPeriod)
	if err != nil {
		return nil, err
	}
	if c.CounterKey == nil {
		return nil, fmt.Errorf("counter_key is required")
	}
	if p.key, err = limit.ParseKey("counter_key", *c.CounterKey, true); err != nil {
		return nil, err
	}
	p.key.ClaimsVar = DefaultClaimsVariable
	if c.ClaimsVariable != nil {
		if v := *c.ClaimsVariable; v == "" || len(v) > limit.MaxVarName {
			return nil, fmt.Errorf("claims_variable: a variable name is 1 to %d bytes", limit.MaxVarName)
		}
		p.key.ClaimsVar = *c.ClaimsVariable
	}
	if c.IncrementCount != nil {
		if *c.IncrementCount < 1 {
			return nil, fmt.Errorf("increment_count must be at least 1, got %d", *c.IncrementCount)
		}
		p.incr = *c.IncrementCount
	}
	seen := map[string]bool{}
	for _, s := range c.IncrementCondition {
		st, err := parseStatus(s)
		if err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, fmt.Errorf("increment_condition: %q is listed twice", s)
		}
		seen[s] = true
		p.statuses = append(p.statuses, st)
	}
	return p, nil
}

func newPolicy(callsp, kbp *int64, period int64) (*Policy, error) {
	var calls, kb int64
	if callsp != nil {
		calls = *callsp
		if calls < 1 {
			return nil, fmt.Errorf("calls must be at least 1, got %d", calls)
		}
	}
	if kbp != nil {
		kb = *kbp
		if kb < 1 || kb > maxKB {
			return nil, fmt.Errorf("bandwidth must be 1 to %d kilobytes, got %d", int64(maxKB), kb)
		}
	}
	switch {
	case callsp == nil && kbp == nil:
		return nil, fmt.Errorf("calls or bandwidth (or both) is required")
	case period < 1 || period > limit.MaxPeriod:
		return nil, fmt.Errorf("renewal_period must be 1 to %d seconds, got %d", limit.MaxPeriod, period)
	}
	return &Policy{
		calls:     calls,
		bandwidth: kb * 1024,
		window:    time.Duration(period) * time.Second,
		prefix:    strconv.FormatInt(period, 10) + "|",
		incr:      1,
	}, nil
}

func parseStatus(s string) (status, error) {
	bad := fmt.Errorf(`increment_condition: %q is not a status code 100-599 or a class like "2xx"`, s)
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return status{}, bad
	}
	if s[1:] == "xx" {
		lo := int(s[0]-'0') * 100
		return status{lo, lo + 99}, nil
	}
	if s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return status{}, bad
	}
	n, _ := strconv.Atoi(s)
	return status{n, n}, nil
}

// counter returns the counter of kind tag ('c' calls, 'b' bandwidth) for
// the request: "<period>|<tag>|<key kind>:<value>".
func (p *Policy) counter(c *sdk.Context, tag byte) sdk.Counter {
	k := append(p.keyBuf[:0], p.prefix...)
	k = append(k, tag, '|')
	p.keyBuf = p.key.Append(k, c)
	return c.CounterBytes(p.keyBuf)
}

// OnRequest refuses the request when a quota is used up and, without
// increment_condition, counts the call.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.bandwidth > 0 {
		r, err := p.counter(c, 'b').Add(0, 0, p.window, mode)
		if err != nil {
			return c.Fail(err)
		}
		if r.Count >= p.bandwidth {
			return p.refuse(c, "Out of bandwidth quota.", r.ResetAt)
		}
	}
	if p.calls > 0 {
		var r sdk.CounterResult
		var err error
		if len(p.statuses) == 0 {
			r, err = p.counter(c, 'c').Add(p.incr, p.calls, p.window, mode)
		} else {
			r, err = p.counter(c, 'c').Add(0, 0, p.window, mode)
			r.Allowed = r.Count < p.calls
		}
		if err != nil {
			return c.Fail(err)
		}
		if !r.Allowed {
			return p.refuse(c, "Out of call volume quota.", r.ResetAt)
		}
	}
	if p.bandwidth > 0 || len(p.statuses) > 0 {
		if err := c.Vars().Set(PassedVar, "1"); err != nil {
			return c.Fail(err)
		}
	}
	return sdk.Continue
}

// refuse answers 403 with Retry-After and the APIM body.
func (p *Policy) refuse(c *sdk.Context, what string, resetAt time.Time) sdk.Action {
	secs := limit.RetryAfter(c, resetAt)
	if err := c.Vars().Set(RefusedVar, "1"); err != nil {
		return c.Fail(err)
	}
	h := c.Response().Header()
	p.num = strconv.AppendInt(p.num[:0], secs, 10)
	// The host only reads the value; p.num does not change until it returns.
	if err := h.Set("Retry-After", unsafe.String(&p.num[0], len(p.num))); err != nil {
		return c.Fail(err)
	}
	if err := h.Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	p.body = append(p.body[:0], `{"statusCode":403,"message":"`...)
	p.body = append(p.body, what...)
	p.body = append(p.body, ` Quota will be replenished in `...)
	p.body = AppendDuration(p.body, secs)
	p.body = append(p.body, `."}`...)
	return c.Respond(403, p.body)
}

// AppendDuration appends secs as .NET's TimeSpan does ([d.]hh:mm:ss), the
// form of APIM's quota messages.
func AppendDuration(dst []byte, secs int64) []byte {
	if d := secs / 86400; d > 0 {
		dst = append(strconv.AppendInt(dst, d, 10), '.')
		secs %= 86400
	}
	for i, v := range [3]int64{secs / 3600, secs / 60 % 60, secs % 60} {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, byte('0'+v/10), byte('0'+v%10))
	}
	return dst
}

// OnResponse counts the call (with increment_condition) and the bandwidth.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if p.bandwidth == 0 && len(p.statuses) == 0 {
		return p.Base.OnResponse(c)
	}
	if _, passed := c.Vars().Get(PassedVar); !passed {
		return sdk.Continue
	}
	if _, refused := c.Vars().Get(RefusedVar); refused {
		return sdk.Continue
	}
	if len(p.statuses) > 0 {
		st := c.Response().Status()
		match := false
		for _, s := range p.statuses {
			if st >= s.lo && st <= s.hi {
				match = true
				break
			}
		}
		if !match {
			return sdk.Continue
		}
		if p.calls > 0 {
			if _, err := p.counter(c, 'c').Add(p.incr, 0, p.window, mode); err != nil {
				return c.Fail(err)
			}
		}
	}
	if p.bandwidth > 0 {
		n := contentLength(c.Request().Header().Get("Content-Length")) +
			contentLength(c.Response().Header().Get("Content-Length"))
		if n > 0 {
			if _, err := p.counter(c, 'b').Add(n, 0, p.window, mode); err != nil {
				return c.Fail(err)
			}
		}
	}
	return sdk.Continue
}

// contentLength parses a Content-Length value; anything else is 0.
func contentLength(v string) int64 {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 18 {
		return 0
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n
}
