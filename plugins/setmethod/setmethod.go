// Package setmethod is the set-method policy (Azure API Management's
// set-method): it changes the HTTP method sent to the backend.
//
// Config:
//
//	{
//	  "method": "POST"   // required: an HTTP method token, at most 32 bytes (upper-cased)
//	}
//
// It acts in the request phase only.
package setmethod

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-method"

// Config is the policy's JSON config.
type Config struct {
	// Method is the method to send to the backend.
	Method string `json:"method"`
}

// Policy is a configured set-method.
type Policy struct {
	sdk.Base
	method string
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	switch {
	case c.Method == "":
		return nil, fmt.Errorf("method is required")
	case len(c.Method) > 32 || !conf.IsToken(c.Method):
		return nil, fmt.Errorf("method %q is not a valid HTTP method", c.Method)
	}
	return &Policy{method: strings.ToUpper(c.Method)}, nil
}

// OnRequest sets the method.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if err := c.Request().SetMethod(p.method); err != nil {
		return c.Fail(fmt.Errorf("set method %s: %w", p.method, err))
	}
	return sdk.Continue
}
