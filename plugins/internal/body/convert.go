package body

import (
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/abi/bodyconv"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// ErrTooLarge is the failure for a body, or a converted body, over
// max_body_bytes (or the host's limits): the call fails (it is not the
// client's fault). It is the converters' own error value.
var ErrTooLarge = bodyconv.ErrTooLarge

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
// the target body, the size bound, the answers to bad input and the
// relabelled result. The host converts the body (body_convert, with the
// converters of abi/bodyconv): it never crosses into the guest.
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
	// Kind and Flags are the host's conversion (sdk.JSONToXML, …) and its
	// flags (sdk.ConvertParseDate, …).
	Kind, Flags int32
}

// Run converts the target body. Bad input is a 400 in the request phase
// and leaves the body unchanged in the response phase.
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
	var converted bool
	var err error
	if t.Response {
		converted, err = c.Response().ConvertBody(cv.Kind, cv.Flags, cv.Max)
	} else {
		converted, err = c.Request().ConvertBody(cv.Kind, cv.Flags, cv.Max)
	}
	var invalid *sdk.InvalidBodyError
	switch {
	case errors.Is(err, sdk.ErrTooLarge):
		return c.Fail(ErrTooLarge)
	case errors.As(err, &invalid) && t.Response:
		c.Logf(sdk.LogWarn, "response body is not valid %s, left unchanged: %v", cv.From.Name, err)
		return sdk.Continue
	case errors.As(err, &invalid):
		if herr := c.Response().Header().Set("Content-Type", "application/json"); herr != nil {
			return c.Fail(herr)
		}
		return c.Respond(400, conf.ErrorBody(400, "The request body is not valid "+cv.From.Name+": "+err.Error()))
	case err != nil:
		return c.Fail(fmt.Errorf("convert body: %w", err))
	case !converted:
		return sdk.Continue // no body (a GET, a 204): nothing to convert
	}
	if err := t.Header(c).Set("Content-Type", cv.To.ContentType); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}
