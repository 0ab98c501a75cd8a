// Package setstatus is the set-status policy (Azure API Management's
// set-status): it changes the status code of the response sent to the
// client.
//
// Config:
//
//	{
//	  "code": 200,       // required: 100–599
//	  "reason": "OK"     // optional: the reason phrase (see below)
//	}
//
// It acts in the response phase only (an inbound attachment also gets the
// response phase). The ABI's set_status takes only a code, so the host
// writes the standard reason phrase for the code (HTTP/2 has none at all);
// "reason" is checked (no CR, LF or NUL, at most 256 bytes) and kept for
// APIM compatibility, but it is not sent.
package setstatus

import (
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-status"

// Config is the policy's JSON config.
type Config struct {
	// Code is the status code, 100–599.
	Code int `json:"code"`
	// Reason is the reason phrase (accepted, not sent: see the package doc).
	Reason string `json:"reason"`
}

// Policy is a configured set-status.
type Policy struct {
	sdk.Base
	code int
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Code < 100 || c.Code > 599 {
		return nil, fmt.Errorf("code %d: want 100-599", c.Code)
	}
	if err := conf.HeaderValue("reason", c.Reason); err != nil {
		return nil, err
	}
	if len(c.Reason) > 256 {
		return nil, fmt.Errorf("reason is longer than 256 bytes")
	}
	return &Policy{code: c.Code}, nil
}

// OnResponse sets the status.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if err := c.Response().SetStatus(p.code); err != nil {
		return c.Fail(fmt.Errorf("set status %d: %w", p.code, err))
	}
	return sdk.Continue
}
