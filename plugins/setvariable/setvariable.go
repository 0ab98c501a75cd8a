// Package setvariable is the set-variable policy (Azure API Management's
// set-variable): it sets a request variable that later policies read (for
// example rate-limit's counter key, or a template's {var.name}).
//
// Config:
//
//	{
//	  "name": "user",                      // required: 1–128 bytes
//	  "value": "{header.X-User}@{path.id}", // required: a template (plugins/internal/template)
//	  "phase": "request"                   // request (default) | response
//	}
//
// The value may reference {header.X} (request header), {query.x},
// {path.x}, {var.x}, {request.method} and {request.path}; {{ and }} are
// literal braces. Unknown references are rejected when the config is
// loaded. A value over 64 KiB fails the call (the host's variable cap).
package setvariable

import (
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-variable"

// maxValue is the host's cap on a variable's value.
const maxValue = 64 << 10

// Config is the policy's JSON config.
type Config struct {
	// Name is the variable's name.
	Name string `json:"name"`
	// Value is the template of the value.
	Value *string `json:"value"`
	// Phase: "request" (default) or "response".
	Phase string `json:"phase"`
}

// Policy is a configured set-variable.
type Policy struct {
	sdk.Base
	name     string
	value    *template.Template
	response bool
	buf      []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	switch {
	case c.Name == "":
		return nil, fmt.Errorf("name is required")
	case len(c.Name) > 128:
		return nil, fmt.Errorf("name is longer than 128 bytes")
	case c.Value == nil:
		return nil, fmt.Errorf("value is required")
	}
	t, err := template.Parse("value", *c.Value)
	if err != nil {
		return nil, err
	}
	p := &Policy{name: c.Name, value: t}
	if p.response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest sets the variable when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.response {
		return p.Base.OnRequest(c)
	}
	return p.apply(c)
}

// OnResponse sets the variable when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.response {
		return p.Base.OnResponse(c)
	}
	return p.apply(c)
}

func (p *Policy) apply(c *sdk.Context) sdk.Action {
	var err error
	p.buf, err = p.value.Render(p.buf[:0], c, maxValue)
	if err == nil {
		err = c.Vars().SetBytes(p.name, p.buf)
	}
	if err != nil {
		return c.Fail(fmt.Errorf("variable %s: %w", p.name, err))
	}
	return sdk.Continue
}
