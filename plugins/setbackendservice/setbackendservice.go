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
// query is kept. The URL must not carry credentials, a query or a fragment;
// the host also refuses link-local and metadata addresses unless the API
// allows private backends (the call then fails, fail mode closed: 500). It
// acts in the request phase only (inbound or backend section).
package setbackendservice

import (
	"fmt"
	"net/url"

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

// CheckURL checks what the policy can know about a backend URL: an
// absolute http(s) URL with a host, no credentials, query or fragment, no
// spaces or control characters. (Private addresses are the host's call.)
func CheckURL(s string) error {
	if len(s) > MaxURLLen {
		return fmt.Errorf("longer than %d bytes", MaxURLLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%q has a space or control character", s)
		}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: the scheme must be http or https", s)
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return fmt.Errorf("%q must not carry credentials", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "":
		return fmt.Errorf("%q must not have a query or fragment", s)
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
