package body

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// ErrTooLarge is what a converter returns when its output would exceed
// max_body_bytes: the call fails (it is not the client's fault).
var ErrTooLarge = errors.New("body over max_body_bytes")

// Format is a body format known by its media types.
type Format struct {
	Name        string   // in messages: "JSON"
	Suffix      string   // structured-syntax suffix: "+json"
	Types       []string // media types: "application/json", "text/json"
	ContentType string   // the Content-Type of a converted body
}

// The formats the converters work with.
var (
	JSON = Format{"JSON", "+json", []string{"application/json", "text/json"}, "application/json"}
	XML  = Format{"XML", "+xml", []string{"application/xml", "text/xml"}, "application/xml"}
)

// Conversion is what json-to-xml and xml-to-json share: when to convert
// the target body, reading it, the size bound, the answers to bad input and
// the relabelled result.
type Conversion struct {
	Target   Target
	From, To Format
	// OnlyFrom converts only a body whose Content-Type is From (APIM's
	// apply="content-type-…").
	OnlyFrom bool
	// Accept converts only when the request's Accept names To (APIM's
	// consider-accept-header).
	Accept bool
	Max    int
	// GarbagePerByte estimates the garbage a conversion leaves per input
	// byte (passed to Collect with the output's size).
	GarbagePerByte int
	// Convert appends the converted in to dst and returns ErrTooLarge when
	// the result would exceed max.
	Convert func(dst, in []byte, max int) ([]byte, error)
	buf     []byte // output buffer reused between calls
}

// Run converts the target body with cv.Convert. Bad input is a 400 in the
// request phase and leaves the body unchanged in the response phase.
func (cv *Conversion) Run(c *sdk.Context) sdk.Action {
	t := &cv.Target
	if cv.OnlyFrom && !t.ContentTypeIs(c, cv.From.Suffix, cv.From.Types...) {
		return sdk.Continue
	}
	if cv.Accept && !t.Accepts(c, cv.To.Suffix, cv.To.Types...) {
		return sdk.Continue
	}
	if t.Encoded(c) {
		c.Log(sdk.LogWarn, "body has a Content-Encoding: not converted")
		return sdk.Continue
	}
	in, err := t.Read(c)
	if err != nil {
		return c.Fail(fmt.Errorf("read body: %w", err))
	}
	if len(in) > cv.Max {
		return c.Fail(fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(in)))
	}
	if len(bytes.TrimSpace(in)) == 0 {
		return sdk.Continue // no body (a GET, a 204): nothing to convert
	}
	out, err := cv.Convert(cv.buf[:0], in, cv.Max)
	Collect(cv.GarbagePerByte*len(in) + len(out))
	defer func() {
		if cap(out) <= 64<<10 {
			cv.buf = out[:0]
		} else {
			cv.buf = nil
		}
	}()
	switch {
	case errors.Is(err, ErrTooLarge):
		return c.Fail(err)
	case err != nil && t.Response:
		c.Logf(sdk.LogWarn, "response body is not valid %s, left unchanged: %v", cv.From.Name, err)
		return sdk.Continue
	case err != nil:
		if herr := c.Response().Header().Set("Content-Type", "application/json"); herr != nil {
			return c.Fail(herr)
		}
		return c.Respond(400, conf.ErrorBody(400, "The request body is not valid "+cv.From.Name+": "+err.Error()))
	}
	if err := t.Write(c, out); err != nil {
		return c.Fail(fmt.Errorf("set body: %w", err))
	}
	if err := t.Header(c).Set("Content-Type", cv.To.ContentType); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}
