// Package setheader is the set-header policy (Azure API Management's
// set-header): it sets, appends, skips or deletes one header of the request
// (sent to the backend) or of the response (sent to the client).
//
// Config:
//
//	{
//	  "name": "X-Foo",              // required: the header name
//	  "value": "bar",               // required unless exists_action is "delete"
//	  "exists_action": "override",  // override (default) | skip | append | delete
//	  "phase": "request"            // request (default) | response
//	}
//
// exists_action says what happens when the header is already there:
// override replaces its values, skip leaves it as it is (and sets it only
// when it is absent), append adds the value to the existing ones, delete
// removes the header. A "response" set-header works in the inbound section
// (inbound attachments also get the response phase) or the outbound one. In
// the phase it does not act in, the policy tells the host it has nothing to
// do, so the host stops calling it there.
package setheader

import (
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-header"

// Config is the policy's JSON config.
type Config struct {
	// Name is the header name.
	Name string `json:"name"`
	// Value is the value to set or append. Required unless ExistsAction is
	// "delete", where it must be absent.
	Value *string `json:"value"`
	// ExistsAction: "override" (default), "skip", "append" or "delete".
	ExistsAction string `json:"exists_action"`
	// Phase: "request" (default) or "response".
	Phase string `json:"phase"`
}

// Policy is a configured set-header.
type Policy struct {
	sdk.Base
	name, value string
	action      conf.Action
	response    bool
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{name: c.Name}
	if err := conf.HeaderName("name", c.Name); err != nil {
		return nil, err
	}
	var err error
	if p.action, err = conf.ExistsAction(c.ExistsAction); err != nil {
		return nil, err
	}
	switch {
	case p.action == conf.Delete && c.Value != nil:
		return nil, fmt.Errorf(`value must not be set when exists_action is "delete"`)
	case p.action != conf.Delete && c.Value == nil:
		return nil, fmt.Errorf(`value is required (unless exists_action is "delete")`)
	case c.Value != nil:
		if err := conf.HeaderValue("value", *c.Value); err != nil {
			return nil, err
		}
		p.value = *c.Value
	}
	if p.response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest changes the request header when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.response {
		return p.Base.OnRequest(c)
	}
	return p.apply(c, c.Request().Header())
}

// OnResponse changes the response header when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.response {
		return p.Base.OnResponse(c)
	}
	return p.apply(c, c.Response().Header())
}

func (p *Policy) apply(c *sdk.Context, h sdk.Header) sdk.Action {
	var err error
	switch p.action {
	case conf.Override:
		err = h.Set(p.name, p.value)
	case conf.Skip:
		if !h.Has(p.name) {
			err = h.Set(p.name, p.value)
		}
	case conf.Append:
		err = h.Add(p.name, p.value)
	case conf.Delete:
		err = h.Del(p.name)
	}
	if err != nil {
		return c.Fail(fmt.Errorf("header %s: %w", p.name, err))
	}
	return sdk.Continue
}
