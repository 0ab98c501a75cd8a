// Package xmltojson is the xml-to-json policy (Azure API Management's
// xml-to-json): it converts the request body (sent to the backend) or the
// response body (sent to the client) from XML to JSON.
//
// Config:
//
//	{
//	  "kind": "javascript-friendly",          // required: javascript-friendly | direct
//	  "apply": "always",                      // required: always | content-type-xml
//	  "consider_accept_header": true,         // convert only when the request's Accept asks for JSON
//	  "always_array_child_elements": false,   // true: every child element becomes an array
//	  "phase": "request",                     // request (default) | response
//	  "max_body_bytes": 1048576               // larger bodies (before or after) are not converted
//	}
//
// apply "content-type-xml" converts only a body whose Content-Type is
// application/xml, text/xml or */*+xml. consider_accept_header (true by
// default, as in APIM) converts only when the request's Accept header names
// application/json, text/json or a */*+json type (a missing Accept or */*
// does not count). APIM picks the body by section (inbound: request,
// outbound: response); in Gatehouse the phase field does.
//
// The mapping is Json.NET's SerializeXmlNode, which APIM uses: the root
// element becomes the one property of the result; an element with only
// text becomes a string, an empty one null; otherwise an object with
// attributes as "@name", child elements by name (repeated names, or every
// child with always_array_child_elements, as arrays, in document order of
// their first occurrence) and text as "#text". Whitespace-only text,
// comments, processing instructions and the DOCTYPE are dropped. "direct"
// keeps the XML declaration ("?xml": {"@version": …}), namespace prefixes
// in names and xmlns attributes; "javascript-friendly" drops all three
// (our reading of APIM's kinds, which its documentation does not specify).
// All values are strings, as in APIM. Content-Type becomes
// application/json.
//
// Parsing is encoding/xml's, strict: only the five predefined entities and
// character references are known; entities declared in a DTD are never
// expanded (a reference to one is an error), so billion-laughs documents
// are refused, and external entities are never fetched. Documents must be
// UTF-8, with one root element, at most 64 levels deep and 100000
// elements and attributes. An empty body (a GET, a 204) is left as it is.
// Malformed XML in the request phase is answered with 400 and
// {"statusCode":400,"message":"…"}; in the response phase the body is left
// as it is and a warning is logged. A body with a
// Content-Encoding other than identity is left as it is. A body over
// max_body_bytes before or after conversion fails the call (the
// attachment's fail mode decides, 500 by default).
package xmltojson

import (
	"fmt"

	"github.com/gatehouse/gatehouse/abi/bodyconv"
	"github.com/gatehouse/gatehouse/plugins/internal/body"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "xml-to-json"

// Limits of the documents converted.
const (
	MaxDepth = bodyconv.MaxXMLDepth
	MaxNodes = bodyconv.MaxXMLNodes
)

// Config is the policy's JSON config.
type Config struct {
	Kind                     string `json:"kind"`
	Apply                    string `json:"apply"`
	ConsiderAcceptHeader     *bool  `json:"consider_accept_header"`
	AlwaysArrayChildElements bool   `json:"always_array_child_elements"`
	Phase                    string `json:"phase"`
	MaxBodyBytes             *int   `json:"max_body_bytes"`
}

// Options select the mapping.
type Options = bodyconv.XMLOptions

// Policy is a configured xml-to-json.
type Policy struct {
	sdk.Base
	opts Options
	conv body.Conversion
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{opts: Options{AlwaysArray: c.AlwaysArrayChildElements}}
	p.conv = body.Conversion{From: body.XML, To: body.JSON, Accept: true, Kind: sdk.XMLToJSON}
	if c.AlwaysArrayChildElements {
		p.conv.Flags |= sdk.ConvertAlwaysArray
	}
	switch c.Kind {
	case "javascript-friendly":
	case "direct":
		p.opts.Direct = true
		p.conv.Flags |= sdk.ConvertDirect
	case "":
		return nil, fmt.Errorf(`kind is required: "javascript-friendly" or "direct"`)
	default:
		return nil, fmt.Errorf(`kind %q: want "javascript-friendly" or "direct"`, c.Kind)
	}
	switch c.Apply {
	case "always":
	case "content-type-xml":
		p.conv.OnlyFrom = true
	case "":
		return nil, fmt.Errorf(`apply is required: "always" or "content-type-xml"`)
	default:
		return nil, fmt.Errorf(`apply %q: want "always" or "content-type-xml"`, c.Apply)
	}
	if c.ConsiderAcceptHeader != nil {
		p.conv.Accept = *c.ConsiderAcceptHeader
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

// Convert appends the JSON for the XML document in in to dst, as the host
// converts it for the policy (abi/bodyconv, body_convert). max > 0 bounds
// the output (body.ErrTooLarge).
func Convert(dst, in []byte, o Options, max int) ([]byte, error) {
	return bodyconv.XMLToJSON(dst, in, o, max)
}
