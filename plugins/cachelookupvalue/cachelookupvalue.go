// Package cachelookupvalue is the cache-lookup-value policy (Azure API
// Management's cache-lookup-value): it looks a key up in the gateway's
// value cache and puts the value in a variable.
//
// Config:
//
//	{
//	  "key": "userprofile-{var.enduserid}", // required: the key, a template
//	  "variable_name": "userprofile",       // required: the variable to set, 1 to 128 bytes
//	  "default_value": "{}"                 // optional: the variable's value on a miss
//	}
//
// The key may reference {header.X}, {query.x}, {path.x}, {var.x},
// {request.method} and {request.path} (see plugins/internal/template); it
// is looked up under the prefix "gatehouse-value:", where cache-store-value
// stores values (a rendered key over 256 bytes is hashed). On a miss the
// variable is set to default_value, or left unset (as in APIM) when there is
// none. The cache is shared by every gateway instance on the node and
// volatile; an unavailable cache is a miss, logged.
package cachelookupvalue

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/plugins/internal/valuecache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-lookup-value"

// Config is the policy's JSON config.
type Config struct {
	Key          string  `json:"key"`
	VariableName string  `json:"variable_name"`
	DefaultValue *string `json:"default_value"`
}

// Policy is a configured cache-lookup-value.
type Policy struct {
	sdk.Base
	key    *template.Template
	name   string
	def    *string
	keyBuf []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	t, err := valuecache.ParseKey(c.Key)
	if err != nil {
		return nil, err
	}
	if c.VariableName == "" || len(c.VariableName) > 128 {
		return nil, fmt.Errorf("variable_name is required: 1 to 128 bytes")
	}
	if c.DefaultValue != nil && len(*c.DefaultValue) > valuecache.MaxValue {
		return nil, fmt.Errorf("default_value is %d bytes, at most %d", len(*c.DefaultValue), valuecache.MaxValue)
	}
	return &Policy{key: t, name: c.VariableName, def: c.DefaultValue}, nil
}

// OnRequest looks the value up.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.keyBuf = valuecache.AppendKey(p.keyBuf[:0], p.key, c)
	// The host only reads the key; p.keyBuf does not change until it returns.
	v, err := c.Cache().Get(unsafe.String(unsafe.SliceData(p.keyBuf), len(p.keyBuf)))
	if err == nil {
		if err := c.Vars().SetBytes(p.name, v); err != nil {
			return c.Fail(fmt.Errorf("set %s: %w", p.name, err))
		}
		return sdk.Continue
	}
	if !errors.Is(err, sdk.ErrNotFound) {
		c.Logf(sdk.LogWarn, "cache lookup failed, treated as a miss: %v", err)
	}
	if p.def != nil {
		if err := c.Vars().Set(p.name, *p.def); err != nil {
			return c.Fail(fmt.Errorf("set %s: %w", p.name, err))
		}
	}
	return sdk.Continue
}
