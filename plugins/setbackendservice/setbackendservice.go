// Package setbackendservice is the set-backend-service policy (Azure API
// Management's set-backend-service with base-url): it sends this call to
// another backend than the API's.
//
// Config:
//
//	{
//	  "base_url": "https://eu.backend.example.com/v2"   // required: absolute http(s) URL
//	}
//
// The request's path (relative to the API's path prefix, after any
// rewrite-uri) is appended to base_url as to the API's backend, and the
// query is kept. The URL must not carry credentials, a query or a fragment,
// and an IP address only in canonical form; the host also refuses
// loopback, private, link-local and metadata addresses other than the
// API's own backend unless the API's egress allow-list names them
// (docs/egress.md; the call then fails, fail mode closed: 500). It acts in
// the request phase only (inbound or backend section).
package setbackendservice

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-backend-service"

// MaxURLLen is the longest base URL the host accepts.
const MaxURLLen = 2048

// Config is the policy's JSON config.
type Config struct {
	// BaseURL is the backend base URL for this call.
	BaseURL string `json:"base_url"`
}

// Policy is a configured set-backend-service.
type Policy struct {
	sdk.Base
	url string
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.BaseURL == "" {
		return nil, fmt.Errorf("base_url is required")
	}
	if err := CheckURL(c.BaseURL); err != nil {
		return nil, fmt.Errorf("base_url: %v", err)
	}
	return &Policy{url: c.BaseURL}, nil
}

// CheckURL checks what the policy can know about a backend URL, with the
// host's own egress syntax (abi/egress.ParseBackend): an absolute http(s)
// URL with a host in canonical form, no user info, query or fragment.
// Which addresses it may reach is the host's call, with the API's egress
// allow-list (docs/egress.md).
func CheckURL(s string) error {
	if _, err := egress.ParseBackend(s); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), egress.ErrInvalidURL.Error()+": "))
	}
	return nil
}

// OnRequest sets the backend.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if err := c.Backend().SetURL(p.url); err != nil {
		return c.Fail(fmt.Errorf("set backend %s: %w", p.url, err))
	}
	return sdk.Continue
}
