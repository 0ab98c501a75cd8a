// Package mockresponse is the mock-response policy (Azure API Management's
// mock-response): it answers the request itself with a fixed status, content
// type and example body; the backend and the rest of the inbound section
// are skipped (the answer still goes through the response phase).
//
// Config:
//
//	{
//	  "status_code": 200,                 // 100–599, default 200
//	  "content_type": "application/json", // default application/json; "" sends none
//	  "example": "{\"id\":1}"             // the body, sent as it is (default empty)
//	}
//
// APIM answers with the example of the operation's OpenAPI response for the
// status code and content type. The policy itself only sends its config's
// example (static text: no template references); when the gateway is fed
// from the catalog, host/catalogsource fills "example" (and "content_type"
// when absent) of an operation-scope entry without one from the API's
// OpenAPI document (see docs/policies/mock-response.md). Without an example
// the body is empty, as in APIM when the operation has no example.
package mockresponse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "mock-response"

// MaxExample is the largest example accepted, in bytes (the host's default
// output cap).
const MaxExample = 1 << 20

// Config is the policy's JSON config.
type Config struct {
	StatusCode  *int    `json:"status_code"`
	ContentType *string `json:"content_type"`
	Example     string  `json:"example"`
}

// Policy is a configured mock-response.
type Policy struct {
	sdk.Base
	status      int
	contentType string
	example     []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{status: 200, contentType: "application/json", example: []byte(c.Example)}
	if c.StatusCode != nil {
		if *c.StatusCode < 100 || *c.StatusCode > 599 {
			return nil, fmt.Errorf("status_code %d: want 100-599", *c.StatusCode)
		}
		p.status = *c.StatusCode
	}
	if c.ContentType != nil {
		if err := conf.HeaderValue("content_type", *c.ContentType); err != nil {
			return nil, err
		}
		p.contentType = *c.ContentType
	}
	if len(c.Example) > MaxExample {
		return nil, fmt.Errorf("example is %d bytes, at most %d", len(c.Example), MaxExample)
	}
	return p, nil
}

// OnRequest answers with the mock.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.contentType != "" {
		if err := c.Response().Header().Set("Content-Type", p.contentType); err != nil {
			return c.Fail(fmt.Errorf("content type: %w", err))
		}
	}
	return c.Respond(p.status, p.example)
}
