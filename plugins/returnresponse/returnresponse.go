// Package returnresponse is the return-response policy (Azure API
// Management's return-response): it answers the request itself, in the
// request phase; the backend and the rest of the inbound section are
// skipped (the answer still goes through the response phase).
//
// Config:
//
//	{
//	  "status": 200,                          // 100–599, default 200
//	  "headers": {"X-Reason": "maintenance"}, // optional: name → value, static
//	  "body": "{\"path\":\"{request.path}\"}", // optional: a template, default empty
//	  "content_type": "application/json"      // optional: sets Content-Type
//	}
//
// The body may reference {header.X} (request header), {query.x}, {path.x},
// {var.x}, {request.method} and {request.path}; {{ and }} are literal
// braces (see plugins/internal/template). Header values are static and
// checked when the config is loaded (valid names, no hop-by-hop headers or
// Content-Length, no CR, LF or NUL). A body over the host's output cap fails
// the call.
package returnresponse

import (
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "return-response"

// Config is the policy's JSON config.
type Config struct {
	// Status is the status code, default 200.
	Status *int `json:"status"`
	// Headers are the answer's headers.
	Headers map[string]string `json:"headers"`
	// Body is the body template.
	Body string `json:"body"`
	// ContentType, when set, is the Content-Type header.
	ContentType string `json:"content_type"`
}

type header struct{ name, value string }

// Policy is a configured return-response.
type Policy struct {
	sdk.Base
	status  int
	headers []header
	body    *template.Template
	buf     []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{status: 200}
	if c.Status != nil {
		if *c.Status < 100 || *c.Status > 599 {
			return nil, fmt.Errorf("status %d: want 100-599", *c.Status)
		}
		p.status = *c.Status
	}
	for name, value := range c.Headers {
		if err := conf.HeaderName("headers", name); err != nil {
			return nil, err
		}
		if err := conf.HeaderValue("headers["+name+"]", value); err != nil {
			return nil, err
		}
		p.headers = append(p.headers, header{name, value})
	}
	slices.SortFunc(p.headers, func(a, b header) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	if c.ContentType != "" {
		if err := conf.HeaderValue("content_type", c.ContentType); err != nil {
			return nil, err
		}
		p.headers = append(p.headers, header{"Content-Type", c.ContentType})
	}
	t, err := template.Parse("body", c.Body)
	if err != nil {
		return nil, err
	}
	p.body = t
	return p, nil
}

// OnRequest answers.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	h := c.Response().Header()
	for _, kv := range p.headers {
		if err := h.Set(kv.name, kv.value); err != nil {
			return c.Fail(fmt.Errorf("header %s: %w", kv.name, err))
		}
	}
	var err error
	if p.buf, err = p.body.Render(p.buf[:0], c, 0); err != nil {
		return c.Fail(fmt.Errorf("body: %w", err))
	}
	a := c.Respond(p.status, p.buf)
	if cap(p.buf) > 64<<10 {
		p.buf = nil
	}
	return a
}
