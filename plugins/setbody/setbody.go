// Package setbody is the set-body policy (Azure API Management's set-body):
// it replaces the body of the request (sent to the backend) or of the
// response (sent to the client) with a template.
//
// Config:
//
//	{
//	  "template": "{\"user\":\"{header.X-User}\"}", // required: the body template
//	  "phase": "request",                           // request (default) | response
//	  "content_type": "application/json"            // optional: sets Content-Type
//	}
//
// The template may reference {header.X} (request header), {query.x},
// {path.x}, {var.x}, {request.method} and {request.path}; {{ and }} are
// literal braces (see plugins/internal/template). Values are inserted as
// they are, not escaped for JSON or XML. The host caps the body it accepts
// (the output limit): a larger body fails the call (ErrTooLarge), and the
// attachment's fail mode decides the answer. The host fixes Content-Length.
package setbody

import (
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-body"

// Config is the policy's JSON config.
type Config struct {
	// Template is the body template.
	Template *string `json:"template"`
	// Phase: "request" (default) or "response".
	Phase string `json:"phase"`
	// ContentType, when set, replaces the Content-Type header.
	ContentType string `json:"content_type"`
}

// Policy is a configured set-body.
type Policy struct {
	sdk.Base
	body        *template.Template
	contentType string
	response    bool
	buf         []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Template == nil {
		return nil, fmt.Errorf("template is required")
	}
	t, err := template.Parse("template", *c.Template)
	if err != nil {
		return nil, err
	}
	if err := conf.HeaderValue("content_type", c.ContentType); err != nil {
		return nil, err
	}
	p := &Policy{body: t, contentType: c.ContentType}
	if p.response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest replaces the request body when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.response {
		return p.Base.OnRequest(c)
	}
	var err error
	if p.buf, err = p.body.Render(p.buf[:0], c, 0); err == nil {
		err = c.Request().SetBody(p.buf)
	}
	if err == nil && p.contentType != "" {
		err = c.Request().Header().Set("Content-Type", p.contentType)
	}
	return p.done(c, err)
}

// OnResponse replaces the response body when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.response {
		return p.Base.OnResponse(c)
	}
	var err error
	if p.buf, err = p.body.Render(p.buf[:0], c, 0); err == nil {
		err = c.Response().SetBody(p.buf)
	}
	if err == nil && p.contentType != "" {
		err = c.Response().Header().Set("Content-Type", p.contentType)
	}
	return p.done(c, err)
}

func (p *Policy) done(c *sdk.Context, err error) sdk.Action {
	if cap(p.buf) > 64<<10 {
		p.buf = nil // do not keep a large body alive in the instance
	}
	if err != nil {
		return c.Fail(fmt.Errorf("set body: %w", err))
	}
	return sdk.Continue
}
