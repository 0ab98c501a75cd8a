// Package cachestorevalue is the cache-store-value policy (Azure API
// Management's cache-store-value): it stores a value in the gateway's value
// cache under a key, for a duration.
//
// Config:
//
//	{
//	  "key": "userprofile-{var.enduserid}", // required: the key, a template
//	  "value": "{var.userprofile}",         // required: the value, a template
//	  "duration": 300,                      // required: seconds, 1 to 86400
//	  "phase": "request"                    // request (default) | response
//	}
//
// Key and value may reference {header.X}, {query.x}, {path.x}, {var.x},
// {request.method} and {request.path} (see plugins/internal/template); with
// phase "response" the value can use variables set in the outbound section.
// cache-lookup-value reads the value back. Caching is best effort, as in
// APIM: a value over 64 KiB (the largest a variable holds), a full or
// unavailable cache is logged and the request goes on.
package cachestorevalue

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/plugins/internal/valuecache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-store-value"

// MaxDuration is the longest duration in seconds (the host's longest TTL).
const MaxDuration = 86400

// Config is the policy's JSON config.
type Config struct {
	Key      string  `json:"key"`
	Value    *string `json:"value"`
	Duration int64   `json:"duration"`
	Phase    string  `json:"phase"`
}

// Policy is a configured cache-store-value.
type Policy struct {
	sdk.Base
	key, value     *template.Template
	ttl            time.Duration
	response       bool
	keyBuf, valBuf []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	k, err := valuecache.ParseKey(c.Key)
	if err != nil {
		return nil, err
	}
	if c.Value == nil {
		return nil, fmt.Errorf("value is required")
	}
	v, err := template.Parse("value", *c.Value)
	if err != nil {
		return nil, err
	}
	if c.Duration < 1 || c.Duration > MaxDuration {
		return nil, fmt.Errorf("duration must be 1 to %d seconds, got %d", MaxDuration, c.Duration)
	}
	p := &Policy{key: k, value: v, ttl: time.Duration(c.Duration) * time.Second}
	if p.response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest stores the value when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.response {
		return p.Base.OnRequest(c)
	}
	return p.store(c)
}

// OnResponse stores the value when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.response {
		return p.Base.OnResponse(c)
	}
	return p.store(c)
}

func (p *Policy) store(c *sdk.Context) sdk.Action {
	var err error
	p.valBuf, err = p.value.Render(p.valBuf[:0], c, valuecache.MaxValue)
	if err != nil {
		c.Logf(sdk.LogWarn, "value not stored: %v (at most %d bytes)", err, valuecache.MaxValue)
		p.valBuf = nil
		return sdk.Continue
	}
	p.keyBuf = valuecache.AppendKey(p.keyBuf[:0], p.key, c)
	// The host only reads the key; p.keyBuf does not change until it returns.
	if err := c.Cache().Set(unsafe.String(unsafe.SliceData(p.keyBuf), len(p.keyBuf)), p.valBuf, p.ttl); err != nil {
		c.Logf(sdk.LogWarn, "value not stored: %v", err)
	}
	return sdk.Continue
}
