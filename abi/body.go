package abi

// body_convert (ABI v1.2, capability body): a body converted by the host.
//
//	body_convert(ctx, kind, conversion, flags, max, buf, cap) -> 0 | msg_len | status
//
// It converts the body of kind (KindRequest in the request phase,
// KindResponse in the response phase, as set_body) with the host's
// converter and replaces it; the guest never copies the body. max (> 0)
// bounds the body before and after conversion, together with the host's own
// limits (get_body's and set_body's). The result:
//   - 0: converted; the body is replaced (the caller sets Content-Type);
//   - n > 0: the body is not valid input; the message is n bytes, in
//     buf[:n] when n <= cap (the buffer convention), the body is unchanged;
//   - ErrNotFound: the body is empty or only whitespace, left as it is;
//   - ErrTooLarge: the body or the result over max or a host limit;
//   - ErrUnavail: the body was not received for this policy (as get_body);
//   - ErrPhase, ErrInvalid: wrong phase; unknown kind, conversion or flags,
//     max <= 0.
//
// The conversions are those of the json-to-xml and xml-to-json policies
// (docs/policies/json-to-xml.md, xml-to-json.md).
const FnBodyConvert = "body_convert"

// Conversions of body_convert.
const (
	ConvertJSONToXML int32 = 1
	ConvertXMLToJSON int32 = 2
)

// Flags of body_convert.
const (
	// ConvertParseDate (JSON to XML) rewrites RFC 3339 strings in canonical form.
	ConvertParseDate int32 = 1 << 0
	// ConvertDirect (XML to JSON) keeps the declaration, prefixes and xmlns
	// attributes.
	ConvertDirect int32 = 1 << 1
	// ConvertAlwaysArray (XML to JSON) makes every child element an array.
	ConvertAlwaysArray int32 = 1 << 2
)

// bodyConvert is body_convert's entry in HostFuncs.
var bodyConvert = HostFunc{FnBodyConvert, Signature{i32x7, i32x1}, CapBody} // (ctx, kind, conversion, flags, max, buf, cap) -> 0|msg_len|status (v1.2)
