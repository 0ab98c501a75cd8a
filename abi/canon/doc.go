// Package canon holds the request-path and query rules the gateway's edge
// and the host functions share (abi/hostcall: set_field of the path,
// subscription_check's query key): one canonical path for routing, policies,
// cache keys and forwarding, and byte-preserving query parameter edits. The
// SDK's emulator runs the same code, so a policy tested with sdktest sees the
// gateway's rules (the `..;` refusal included).
//
// It imports only the standard library.
package canon
