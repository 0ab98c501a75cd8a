// Package cacheremovevalue is the cache-remove-value policy (Azure API
// Management's cache-remove-value): it removes a value that
// cache-store-value stored in the gateway's value cache.
//
// Config:
//
//	{
//	  "key": "userprofile-{var.enduserid}", // required: the key, a template (as cache-store-value's)
//	  "phase": "request"                    // request (default) | response
//	}
//
// A missing key is not an error; an unavailable cache is logged and the
// request goes on (caching is best effort).
package cacheremovevalue

import (
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/plugins/internal/valuecache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-remove-value"

// Config is the policy's JSON config.
type Config struct {
	Key   string `json:"key"`
	Phase string `json:"phase"`
}

// Policy is a configured cache-remove-value.
type Policy struct {
	sdk.Base
	key      *template.Template
	response bool
	keyBuf   []byte
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
	p := &Policy{key: k}
	if p.response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest removes the value when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.response {
		return p.Base.OnRequest(c)
	}
	return p.remove(c)
}

// OnResponse removes the value when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.response {
		return p.Base.OnResponse(c)
	}
	return p.remove(c)
}

func (p *Policy) remove(c *sdk.Context) sdk.Action {
	p.keyBuf = valuecache.AppendKey(p.keyBuf[:0], p.key, c)
	// The host only reads the key; p.keyBuf does not change until it returns.
	if err := c.Cache().Delete(unsafe.String(unsafe.SliceData(p.keyBuf), len(p.keyBuf))); err != nil {
		c.Logf(sdk.LogWarn, "value not removed: %v", err)
	}
	return sdk.Continue
}
