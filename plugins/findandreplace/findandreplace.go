// Package findandreplace is the find-and-replace policy (Azure API
// Management's find-and-replace): it replaces every occurrence of a string
// in the request body (sent to the backend) or in the response body (sent
// to the client).
//
// Config:
//
//	{
//	  "from": "http://internal:8080", // required: the string to find, not empty
//	  "to": "https://api.example.com", // required: its replacement ("" deletes it)
//	  "phase": "request",             // request (default) | response
//	  "max_body_bytes": 1048576       // larger bodies, before or after the change, fail the call
//	}
//
// APIM picks the body by the section the policy is in (inbound: request,
// outbound: response); in Gatehouse the phase field does (as for set-body).
// Matching is byte for byte and case-sensitive; replacements do not
// overlap and are not rescanned. A body without a match is left as it is
// (and not copied back to the host). A body with a Content-Encoding other
// than identity (gzip, …) is left as it is, with a warning in the log. A body
// over max_body_bytes, or one the replacement would grow past it, fails the
// call (the attachment's fail mode decides the answer; 500 by default), as
// does a body over the host's own limit (413).
package findandreplace

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/body"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "find-and-replace"

// Config is the policy's JSON config.
type Config struct {
	From         *string `json:"from"`
	To           *string `json:"to"`
	Phase        string  `json:"phase"`
	MaxBodyBytes *int    `json:"max_body_bytes"`
}

// ErrTooLarge is the failure for a body over max_body_bytes.
var ErrTooLarge = errors.New("body over max_body_bytes")

// Policy is a configured find-and-replace.
type Policy struct {
	sdk.Base
	from, to []byte
	max      int
	target   body.Target
	in, buf  []byte // the body read, the result: kept between calls
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.From == nil || *c.From == "" {
		return nil, fmt.Errorf("from is required and must not be empty")
	}
	if c.To == nil {
		return nil, fmt.Errorf("to is required")
	}
	p := &Policy{from: []byte(*c.From), to: []byte(*c.To)}
	var err error
	if p.target.Response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	if p.max, err = body.CheckMax(c.MaxBodyBytes); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest changes the request body when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.target.Response {
		return p.Base.OnRequest(c)
	}
	return p.run(c)
}

// OnResponse changes the response body when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.target.Response {
		return p.Base.OnResponse(c)
	}
	return p.run(c)
}

func (p *Policy) run(c *sdk.Context) sdk.Action {
	if p.target.Encoded(c) {
		c.Log(sdk.LogWarn, "body has a Content-Encoding: left unchanged")
		return sdk.Continue
	}
	// The body and the result go into buffers kept between calls (up to
	// 64 KiB each): a Go guest's garbage costs far more than the copy.
	b, err := p.target.ReadInto(c, p.in[:0])
	read := b
	defer func() { p.in = keep(read, len(read)) }()
	if err != nil {
		return c.Fail(fmt.Errorf("read body: %w", err))
	}
	if len(b) > p.max {
		return c.Fail(fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(b)))
	}
	i := bytes.Index(b, p.from)
	if i < 0 {
		return sdk.Continue
	}
	// One pass: replace while the result fits max; past it only count,
	// for the size in the error.
	out := p.buf[:0]
	grow := len(p.to) - len(p.from)
	size := len(b)
	for i >= 0 {
		size += grow
		if size <= p.max {
			out = append(append(out, b[:i]...), p.to...)
		}
		b = b[i+len(p.from):]
		i = bytes.Index(b, p.from)
	}
	if size > p.max {
		p.buf = keep(out, len(out))
		return c.Fail(fmt.Errorf("%w after replacing (%d bytes)", ErrTooLarge, size))
	}
	out = append(out, b...)
	err = p.target.Write(c, out)
	p.buf = keep(out, len(out))
	if err != nil {
		return c.Fail(fmt.Errorf("set body: %w", err))
	}
	return sdk.Continue
}

// keep returns b to be reused by the next call, or nil for a buffer over
// 64 KiB (then garbage, counted for body.Collect).
func keep(b []byte, n int) []byte {
	if cap(b) <= 64<<10 {
		return b[:0]
	}
	body.Collect(n)
	return nil
}
