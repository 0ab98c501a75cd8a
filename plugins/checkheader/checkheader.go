// Package checkheader is the check-header policy (Azure API Management's
// check-header): it requires a request header and, optionally, one of a list
// of values, and answers the request itself when the check fails.
//
// Config:
//
//	{
//	  "name": "X-Api-Version",            // required: the header to check
//	  "values": ["1", "2"],               // accepted values; empty: presence only
//	  "ignore_case": false,               // compare values case-insensitively
//	  "failed_check_httpcode": 401,       // status of the answer, 400–599 (default 401)
//	  "failed_check_error_message": "…"   // message of the answer (default "Unauthorized")
//	}
//
// A request without the header, or whose header value is none of values,
// gets failed_check_httpcode with the JSON body
//
//	{"statusCode":401,"message":"Unauthorized"}
//
// The first value of the header is checked (as the host returns it: a
// header sent twice is checked on its first line).
package checkheader

import (
	"bytes"
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "check-header"

// Defaults of the config.
const (
	DefaultStatus  = 401
	DefaultMessage = "Unauthorized"
)

// Config is the policy's JSON config.
type Config struct {
	Name                    string   `json:"name"`
	Values                  []string `json:"values"`
	IgnoreCase              bool     `json:"ignore_case"`
	FailedCheckHTTPCode     int      `json:"failed_check_httpcode"`
	FailedCheckErrorMessage *string  `json:"failed_check_error_message"`
}

// Policy is a configured check-header.
type Policy struct {
	sdk.Base
	name       string
	values     [][]byte
	ignoreCase bool
	status     int
	body       []byte
	buf        []byte // reused for the header value
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	c := Config{FailedCheckHTTPCode: DefaultStatus}
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	if !conf.IsToken(c.Name) {
		return nil, fmt.Errorf("name %q is not a valid header name", c.Name)
	}
	if c.FailedCheckHTTPCode < 400 || c.FailedCheckHTTPCode > 599 {
		return nil, fmt.Errorf("failed_check_httpcode must be 400 to 599, got %d", c.FailedCheckHTTPCode)
	}
	msg := DefaultMessage
	if c.FailedCheckErrorMessage != nil {
		msg = *c.FailedCheckErrorMessage
	}
	p := &Policy{
		name:       c.Name,
		ignoreCase: c.IgnoreCase,
		status:     c.FailedCheckHTTPCode,
		body:       conf.ErrorBody(c.FailedCheckHTTPCode, msg),
		buf:        make([]byte, 0, 256),
	}
	for i, v := range c.Values {
		if err := conf.HeaderValue(fmt.Sprintf("values[%d]", i), v); err != nil {
			return nil, err
		}
		p.values = append(p.values, []byte(v))
	}
	return p, nil
}

// OnRequest checks the header.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	v, ok := c.Request().Header().AppendGet(p.buf[:0], p.name)
	p.buf = v[:0]
	if ok && p.match(v) {
		return sdk.Continue
	}
	if err := c.Response().Header().Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(p.status, p.body)
}

func (p *Policy) match(v []byte) bool {
	if len(p.values) == 0 {
		return true
	}
	for _, want := range p.values {
		if p.ignoreCase && bytes.EqualFold(v, want) || !p.ignoreCase && bytes.Equal(v, want) {
			return true
		}
	}
	return false
}
