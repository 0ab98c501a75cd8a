// Package bodyconv holds the body converters of the json-to-xml and
// xml-to-json policies, run by the host for the guest (the body_convert
// host function, abi/body.go) and by sdk/sdktest's emulator.
//
// Each converter has two paths: a fast one, written for the common shape of
// documents (one pass, no reflection, no token allocations), and the
// reference one (the guest converter of earlier versions: encoding/json's
// validator, encoding/xml's tokenizer). The fast path either produces
// exactly the reference's output or gives up, and then the reference runs:
// every error, and every construct the fast path does not handle (a DOCTYPE,
// CDATA, a non-ASCII name …), is the reference's. The differential tests
// and fuzz targets of this package check that agreement.
//
// The input is untrusted: both paths bound nesting, node counts and the
// output (max), never panic on any input (fuzzed), and take time linear in
// the input.
package bodyconv

import "errors"

// ErrTooLarge is returned when the output would exceed max.
var ErrTooLarge = errors.New("body over max_body_bytes")
