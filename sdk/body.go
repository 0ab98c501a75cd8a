package sdk

import (
	"math"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Body conversions the host runs (ConvertBody; ABI v1.2 body_convert).
const (
	// JSONToXML is the json-to-xml policy's conversion.
	JSONToXML = abi.ConvertJSONToXML
	// XMLToJSON is the xml-to-json policy's conversion.
	XMLToJSON = abi.ConvertXMLToJSON
)

// Flags of ConvertBody.
const (
	// ConvertParseDate (JSONToXML) rewrites RFC 3339 strings in canonical form.
	ConvertParseDate = abi.ConvertParseDate
	// ConvertDirect (XMLToJSON) keeps the declaration, prefixes and xmlns
	// attributes.
	ConvertDirect = abi.ConvertDirect
	// ConvertAlwaysArray (XMLToJSON) makes every child element an array.
	ConvertAlwaysArray = abi.ConvertAlwaysArray
)

// InvalidBodyError is ConvertBody's error for a body that is not valid
// input of the conversion; the body is unchanged.
type InvalidBodyError struct {
	// Msg is the converter's message ("unexpected end of JSON input").
	Msg string
}

func (e *InvalidBodyError) Error() string { return e.Msg }

// ConvertBody converts the request body in the host (request phase) and
// replaces it, without copying it into the guest. It returns false for an
// empty body (left as it is), an *InvalidBodyError for input the converter
// refuses, ErrTooLarge for a body or a result over max (> 0) or the host's
// limits. The caller sets Content-Type.
func (r *Request) ConvertBody(conversion, flags int32, max int) (bool, error) {
	return convertBody(r.c, abi.KindRequest, conversion, flags, max)
}

// ConvertBody is Request.ConvertBody for the response body (response
// phase only).
func (r *Response) ConvertBody(conversion, flags int32, max int) (bool, error) {
	return convertBody(r.c, abi.KindResponse, conversion, flags, max)
}

func convertBody(c *Context, kind, conversion, flags int32, max int) (bool, error) {
	if max > math.MaxInt32 {
		max = math.MaxInt32
	}
	n := read(func(buf []byte) int32 {
		return imports.BodyConvert(c.handle, kind, conversion, flags, int32(max), buf)
	})
	switch {
	case n == abi.OK:
		return true, nil
	case n == abi.ErrNotFound:
		return false, nil
	case n < 0:
		return false, statusErr(n)
	}
	return false, &InvalidBodyError{string(scratch[:n])}
}

// AppendBody appends the whole request body to dst and returns the
// result, as Body does but into the caller's buffer: a policy that keeps its
// buffer between calls reads a body without allocating (Body's slice is new
// garbage on every call, and a Go guest's collections are slow).
func (r *Request) AppendBody(dst []byte) ([]byte, error) {
	return appendBody(r.c, abi.KindRequest, dst)
}

// AppendBody is Request.AppendBody for the response body (response phase
// only).
func (r *Response) AppendBody(dst []byte) ([]byte, error) {
	return appendBody(r.c, abi.KindResponse, dst)
}

func appendBody(c *Context, kind int32, dst []byte) ([]byte, error) {
	n := imports.GetBody(c.handle, kind, dst[len(dst):cap(dst)])
	if n < 0 {
		return dst, statusErr(n)
	}
	if int(n) <= cap(dst)-len(dst) {
		return dst[:len(dst)+int(n)], nil
	}
	grown := make([]byte, len(dst), len(dst)+int(n))
	copy(grown, dst)
	m := imports.GetBody(c.handle, kind, grown[len(grown):cap(grown)])
	if m < 0 {
		return dst, statusErr(m)
	}
	if int(m) > cap(grown)-len(grown) {
		return dst, ErrInvalid // the needed length must be stable within a call
	}
	return grown[:len(grown)+int(m)], nil
}
