// Package retry is the retry policy (Azure API Management's retry around
// forward-request): the gateway sends the request to the backend again
// while the backend answers with a retryable status.
//
// Config:
//
//	{
//	  "condition": [502, 503, "504", "5xx"],   // required: status codes or classes that are retried
//	  "count": 3,                              // required: retries, 1–50
//	  "interval": 1,                           // required: seconds between attempts, 0–300 (fractions allowed)
//	  "max_interval": 30,                      // with delta: exponential waits capped here
//	  "delta": 1,                              // linear (alone) or exponential (with max_interval) increment
//	  "first_fast_retry": false,               // the first retry runs at once
//	  "retry_non_idempotent": false,           // also retry POST, PATCH, … (the body is sent again)
//	  "retry_on_error": false                  // also retry connection failures and attempt timeouts
//	}
//
// Waits follow APIM: interval alone gives fixed waits; interval and delta
// linear waits interval + (n−1)·delta; with max_interval too, exponential
// waits interval + (2^(n−1) − 1)·random(0.8·delta, 1.2·delta), at most
// max_interval. Only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE,
// TRACE) are retried unless retry_non_idempotent. A retried request is sent
// again with the same body: the gateway buffers it, up to the API's body
// limit (over it the client gets 413). Each attempt has the backend timeout
// (forward-request's, else the API's); the client going away ends the loop.
// After the last attempt the client gets the last response. It acts in the
// request phase only.
package retry

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "retry"

// Limits.
const (
	MaxCount = 50
	MaxWait  = 300 // seconds
)

// Config is the policy's JSON config.
type Config struct {
	Condition          []json.RawMessage `json:"condition"`
	Count              *int              `json:"count"`
	Interval           *float64          `json:"interval"`
	MaxInterval        *float64          `json:"max_interval"`
	Delta              *float64          `json:"delta"`
	FirstFastRetry     bool              `json:"first_fast_retry"`
	RetryNonIdempotent bool              `json:"retry_non_idempotent"`
	RetryOnError       bool              `json:"retry_on_error"`
}

// Policy is a configured retry.
type Policy struct {
	sdk.Base
	spec []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	r := sdk.Retry{FirstFast: c.FirstFastRetry, NonIdempotent: c.RetryNonIdempotent, OnError: c.RetryOnError}
	if c.Condition == nil {
		return nil, fmt.Errorf("condition is required")
	}
	if len(c.Condition) == 0 {
		return nil, fmt.Errorf("condition: list at least one status code or class")
	}
	seen := map[string]bool{}
	for _, raw := range c.Condition {
		code, class, key, err := parseCondition(raw)
		if err != nil {
			return nil, fmt.Errorf("condition: %v", err)
		}
		if seen[key] {
			return nil, fmt.Errorf("condition: %s is listed twice", key)
		}
		seen[key] = true
		if class > 0 {
			r.Classes = append(r.Classes, class)
		} else {
			r.Statuses = append(r.Statuses, code)
		}
	}
	switch {
	case c.Count == nil:
		return nil, fmt.Errorf("count is required")
	case *c.Count < 1 || *c.Count > MaxCount:
		return nil, fmt.Errorf("count must be 1 to %d", MaxCount)
	case c.Interval == nil:
		return nil, fmt.Errorf("interval is required")
	}
	r.Count = *c.Count
	var err error
	if r.Interval, err = seconds("interval", *c.Interval, true); err != nil {
		return nil, err
	}
	if c.Delta != nil {
		if r.Delta, err = seconds("delta", *c.Delta, false); err != nil {
			return nil, err
		}
	}
	if c.MaxInterval != nil {
		if c.Delta == nil {
			return nil, fmt.Errorf("max_interval needs delta (exponential waits)")
		}
		if r.MaxInterval, err = seconds("max_interval", *c.MaxInterval, false); err != nil {
			return nil, err
		}
	}
	return &Policy{spec: r.Encode()}, nil
}

// seconds converts a config number of seconds to a whole-millisecond
// duration within 0 (or above 0) to MaxWait.
func seconds(field string, v float64, zero bool) (time.Duration, error) {
	if math.IsNaN(v) || v < 0 || v > MaxWait || (!zero && v == 0) {
		if zero {
			return 0, fmt.Errorf("%s must be 0 to %d seconds", field, MaxWait)
		}
		return 0, fmt.Errorf("%s must be above 0 and at most %d seconds", field, MaxWait)
	}
	return time.Duration(math.Round(v*1000)) * time.Millisecond, nil
}

// parseCondition reads one condition item: a status code 100–599 (number
// or string) or a class "1xx"–"5xx".
func parseCondition(raw json.RawMessage) (code, class int, key string, err error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n < 100 || n > 599 {
			return 0, 0, "", fmt.Errorf("%d is not a status code 100-599", n)
		}
		return n, 0, fmt.Sprint(n), nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, 0, "", fmt.Errorf("%s is not a status code or a class like \"5xx\"", raw)
	}
	bad := fmt.Errorf("%q is not a status code 100-599 or a class like \"5xx\"", s)
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return 0, 0, "", bad
	}
	if s[1:] == "xx" {
		return 0, int(s[0] - '0'), s, nil
	}
	if s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return 0, 0, "", bad
	}
	code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	return code, 0, s, nil
}

// OnRequest hands the retry spec to the host.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if err := c.Backend().SetRetrySpec(p.spec); err != nil {
		return c.Fail(fmt.Errorf("set retry: %w", err))
	}
	return sdk.Continue
}
