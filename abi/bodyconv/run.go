package bodyconv

import (
	"bytes"
	"errors"

	"github.com/gatehouse/gatehouse/abi"
)

// Run is body_convert (abi/body.go) once the host has the body in: it
// appends the conversion of in to dst and returns it with abi.OK; or the
// message of invalid input with a status of 1 (the body stays as it is); or
// an abi status. max bounds the input (the policy's max_body_bytes), outMax
// the result (the lesser of max and the host's output cap).
func Run(dst, in []byte, conversion, flags int32, max, outMax int) (out []byte, status int32, msg string) {
	if max <= 0 || outMax <= 0 {
		return dst, abi.ErrInvalid, ""
	}
	var err error
	switch conversion {
	case abi.ConvertJSONToXML:
		if flags&^abi.ConvertParseDate != 0 {
			return dst, abi.ErrInvalid, ""
		}
		if st := check(in, max); st != abi.OK {
			return dst, st, ""
		}
		out, err = JSONToXML(dst, in, flags&abi.ConvertParseDate != 0, outMax)
	case abi.ConvertXMLToJSON:
		if flags&^(abi.ConvertDirect|abi.ConvertAlwaysArray) != 0 {
			return dst, abi.ErrInvalid, ""
		}
		if st := check(in, max); st != abi.OK {
			return dst, st, ""
		}
		out, err = XMLToJSON(dst, in, XMLOptions{Direct: flags&abi.ConvertDirect != 0, AlwaysArray: flags&abi.ConvertAlwaysArray != 0}, outMax)
	default:
		return dst, abi.ErrInvalid, ""
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return out, abi.ErrTooLarge, ""
	case err != nil:
		msg = err.Error()
		if msg == "" {
			msg = "invalid input"
		}
		return out, 1, msg
	}
	return out, abi.OK, ""
}

// check is what the policies checked before converting: the input's size,
// and that there is something to convert (a GET, a 204 has no body).
func check(in []byte, max int) int32 {
	if len(in) > max {
		return abi.ErrTooLarge
	}
	if len(bytes.TrimSpace(in)) == 0 {
		return abi.ErrNotFound
	}
	return abi.OK
}
