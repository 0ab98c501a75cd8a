// Package limitconcurrency is the limit-concurrency policy (Azure API
// Management's limit-concurrency): at most max_count requests per counter
// key are in flight at a time past this policy; the others are answered
// with 429 at once.
//
// Config:
//
//	{
//	  "max_count": 10,                   // required, ≥ 1
//	  "counter_key": "header:X-Tenant",  // required: subscription | ip | header:Name | var:name | claim:name
//	  "claims_variable": "jwt-claims"    // the variable with the JWT claims (for claim:name)
//	}
//
// counter_key uses the grammar of rate-limit-by-key (plugins/internal/limit):
// "subscription" ("" means the same) per subscription bound to the request
// and per client IP when none is bound; "ip" per client IP; "header:Name"
// per value of a request header; "var:name" per value of a variable;
// "claim:name" per value of a claim of the JWT claims JSON in
// claims_variable. Requests without the header, variable or claim share one
// semaphore. As in APIM (where key is required) the key must be given.
//
// In the request phase the policy takes one slot of the key's semaphore
// with the host's concurrency_acquire (ABI v1.1). The slot is held until
// the call ends — after the response was sent, or the backend failed or
// timed out, a later policy answered early or failed, or the client went
// away — and the gateway releases it then; the policy never releases it.
// Attachments with the same counter_key share the semaphore (APIM: "can be
// shared by multiple policies"), each checking its own max_count. A request
// that passes two such attachments holds two slots.
//
// When all max_count slots are taken the policy answers 429 with
// Retry-After: 1 and the body
//
//	{"statusCode":429,"message":"Too many concurrent requests. Try again later."}
//
// Attach it in the inbound (or backend) section: in the outbound section
// it does nothing (the backend call it would bound is already over).
package limitconcurrency

import (
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/limit"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "limit-concurrency"

// DefaultClaimsVariable is the default of claims_variable.
const DefaultClaimsVariable = "jwt-claims"

// Message is the message of the 429 answer.
const Message = "Too many concurrent requests. Try again later."

// Config is the policy's JSON config.
type Config struct {
	MaxCount       int64   `json:"max_count"`
	CounterKey     *string `json:"counter_key"`
	ClaimsVariable *string `json:"claims_variable"`
}

// Policy is a configured limit-concurrency.
type Policy struct {
	sdk.Base
	max     int64
	key     limit.Key
	keyBuf  []byte // reused for the semaphore key
	refusal limit.Refusal
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.MaxCount < 1 {
		return nil, fmt.Errorf("max_count must be at least 1, got %d", c.MaxCount)
	}
	if c.CounterKey == nil {
		return nil, errors.New("counter_key is required")
	}
	p := &Policy{max: c.MaxCount}
	var err error
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
	return p, nil
}

// OnRequest takes a slot or answers 429.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.keyBuf = p.key.Append(p.keyBuf[:0], c)
	ok, err := c.AcquireConcurrency(p.keyBuf, p.max)
	if err != nil {
		return c.Fail(err)
	}
	if ok {
		return sdk.Continue
	}
	return p.refusal.RespondMessage(c, "Retry-After", 1, Message)
}
