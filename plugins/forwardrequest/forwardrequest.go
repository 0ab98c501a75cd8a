// Package forwardrequest is the forward-request policy (Azure API
// Management's forward-request): it tunes how the gateway calls the
// backend. The gateway always forwards a request no policy answered; this
// policy sets the call's timeout and redirect handling.
//
// Config:
//
//	{
//	  "timeout": 20,                 // seconds, 1–600 (default: the API's backend_timeout)
//	  "timeout_ms": 1500,            // or milliseconds, 1–600000 (not both)
//	  "follow_redirects": false,     // the gateway follows the backend's redirects itself
//	  "buffer_request_body": false   // read the whole request body before forwarding
//	}
//
// A backend that does not answer within the timeout fails the call: the
// on-error section runs with gatehouse.error.source "backend", and without
// an answer from it the client gets 504. With follow_redirects the gateway
// follows up to 10 redirects (301, 302, 303 as GET; 307, 308 with the same
// method and a buffered body) to targets that pass the backend URL rules;
// others are passed to the client. buffer_request_body buffers the body (up
// to the API's body limit: over it the client gets 413) so that a 307/308
// can be followed. It acts in the request phase only.
package forwardrequest

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "forward-request"

// Limits of the timeout.
const (
	MaxTimeout   = 600
	MaxTimeoutMS = MaxTimeout * 1000
)

// Config is the policy's JSON config.
type Config struct {
	Timeout           *int `json:"timeout"`
	TimeoutMS         *int `json:"timeout_ms"`
	FollowRedirects   bool `json:"follow_redirects"`
	BufferRequestBody bool `json:"buffer_request_body"`
}

// Policy is a configured forward-request.
type Policy struct {
	sdk.Base
	timeout  time.Duration
	follow   bool
	buffer   bool
	noChange bool
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{follow: c.FollowRedirects, buffer: c.BufferRequestBody}
	switch {
	case c.Timeout != nil && c.TimeoutMS != nil:
		return nil, fmt.Errorf("timeout and timeout_ms: set one, not both")
	case c.Timeout != nil:
		if *c.Timeout < 1 || *c.Timeout > MaxTimeout {
			return nil, fmt.Errorf("timeout must be 1 to %d seconds", MaxTimeout)
		}
		p.timeout = time.Duration(*c.Timeout) * time.Second
	case c.TimeoutMS != nil:
		if *c.TimeoutMS < 1 || *c.TimeoutMS > MaxTimeoutMS {
			return nil, fmt.Errorf("timeout_ms must be 1 to %d milliseconds", MaxTimeoutMS)
		}
		p.timeout = time.Duration(*c.TimeoutMS) * time.Millisecond
	}
	p.noChange = p.timeout == 0 && !p.follow && !p.buffer
	return p, nil
}

// OnRequest configures the backend call.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.noChange {
		return sdk.Continue
	}
	b := c.Backend()
	if p.timeout > 0 {
		if err := b.SetTimeout(p.timeout); err != nil {
			return c.Fail(fmt.Errorf("set backend timeout: %w", err))
		}
	}
	if p.follow {
		if err := b.SetFollowRedirects(true); err != nil {
			return c.Fail(fmt.Errorf("set follow redirects: %w", err))
		}
	}
	if p.buffer {
		// Reading the body makes the host buffer it; the copy is dropped.
		if _, err := c.Request().Body(); err != nil {
			return c.Fail(fmt.Errorf("buffer request body: %w", err))
		}
	}
	return sdk.Continue
}
