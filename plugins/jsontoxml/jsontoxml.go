// Package jsontoxml is the json-to-xml policy (Azure API Management's
// json-to-xml): it converts the request body (sent to the backend) or the
// response body (sent to the client) from JSON to XML.
//
// Config:
//
//	{
//	  "apply": "always",              // required: always | content-type-json
//	  "consider_accept_header": true, // convert only when the request's Accept asks for XML
//	  "parse_date": true,             // normalize RFC 3339 date strings; false copies them
//	  "phase": "request",             // request (default) | response
//	  "max_body_bytes": 1048576       // larger bodies (before or after) are not converted
//	}
//
// apply "content-type-json" converts only a body whose Content-Type is
// application/json, text/json or */*+json. consider_accept_header (true by
// default, as in APIM) converts only when the request's Accept header names
// application/xml, text/xml or a */*+xml type (a missing Accept or */* does
// not count). APIM picks the body by section (inbound: request, outbound:
// response); in Gatehouse the phase field does.
//
// The output is the XML document APIM produces: a declaration and a
// <Document> root; an object's properties become child elements in order,
// an array becomes one element per item under the property's name (a
// top-level array's items are <Item> elements), null and {} an empty
// element, strings, numbers and booleans text. Names that are not XML
// names are encoded as XmlConvert.EncodeName does ("a b" → a_x0020_b).
// With parse_date, strings that are RFC 3339 times are rewritten in
// canonical RFC 3339 form. Content-Type becomes application/xml.
//
// An empty body (a GET, a 204) is left as it is. Malformed JSON in the
// request phase is answered with 400 and
// {"statusCode":400,"message":"…"}; in the response phase (the backend's
// fault, and the status can no longer be answered) the body is left as it
// is and a warning is logged. Nesting is limited to 64 levels. A body with a
// Content-Encoding other than identity is left as it is. A body over
// max_body_bytes before or after conversion fails the call (the
// attachment's fail mode decides, 500 by default).
package jsontoxml

import (
	"fmt"

	"github.com/gatehouse/gatehouse/abi/bodyconv"
	"github.com/gatehouse/gatehouse/plugins/internal/body"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "json-to-xml"

// MaxDepth is the deepest nesting of arrays and objects converted.
const MaxDepth = bodyconv.MaxJSONDepth

// Config is the policy's JSON config.
type Config struct {
	Apply                string `json:"apply"`
	ConsiderAcceptHeader *bool  `json:"consider_accept_header"`
	ParseDate            *bool  `json:"parse_date"`
	Phase                string `json:"phase"`
	MaxBodyBytes         *int   `json:"max_body_bytes"`
}

// Policy is a configured json-to-xml.
type Policy struct {
	sdk.Base
	parseDate bool
	conv      body.Conversion
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{parseDate: true}
	p.conv = body.Conversion{From: body.JSON, To: body.XML, Accept: true, Kind: sdk.JSONToXML}
	switch c.Apply {
	case "always":
	case "content-type-json":
		p.conv.OnlyFrom = true
	case "":
		return nil, fmt.Errorf(`apply is required: "always" or "content-type-json"`)
	default:
		return nil, fmt.Errorf(`apply %q: want "always" or "content-type-json"`, c.Apply)
	}
	if c.ConsiderAcceptHeader != nil {
		p.conv.Accept = *c.ConsiderAcceptHeader
	}
	if c.ParseDate != nil {
		p.parseDate = *c.ParseDate
	}
	if p.parseDate {
		p.conv.Flags = sdk.ConvertParseDate
	}
	var err error
	if p.conv.Target.Response, err = conf.ResponsePhase(c.Phase); err != nil {
		return nil, err
	}
	if p.conv.Max, err = body.CheckMax(c.MaxBodyBytes); err != nil {
		return nil, err
	}
	return p, nil
}

// OnRequest converts the request body when the phase is "request".
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	if p.conv.Target.Response {
		return p.Base.OnRequest(c)
	}
	return p.conv.Run(c)
}

// OnResponse converts the response body when the phase is "response".
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if !p.conv.Target.Response {
		return p.Base.OnResponse(c)
	}
	return p.conv.Run(c)
}

// Convert appends the XML document for the JSON in in to dst, as the host
// converts it for the policy (abi/bodyconv, body_convert). max > 0 bounds
// the output (body.ErrTooLarge).
func Convert(dst, in []byte, parseDate bool, max int) ([]byte, error) {
	return bodyconv.JSONToXML(dst, in, parseDate, max)
}
