// Package sdk is the Go guest SDK for Gatehouse policies: write a policy as a
// Go type, register it, build the package to WebAssembly and attach it to an
// API in the gateway.
//
// A policy implements Policy; embed Base to get no-op defaults for the phase
// it does not handle (the SDK then tells the host to stop calling that phase):
//
//	type addHeader struct {
//		sdk.Base
//		name, value string
//	}
//
//	func (p *addHeader) OnRequest(c *sdk.Context) sdk.Action {
//		if err := c.Request().Header().Set(p.name, p.value); err != nil {
//			return c.Fail(err)
//		}
//		return sdk.Continue
//	}
//
//	func init() {
//		sdk.Register("add-header", func(config []byte) (sdk.Policy, error) {
//			var cfg struct{ Name, Value string }
//			err := json.Unmarshal(config, &cfg)
//			return &addHeader{name: cfg.Name, value: cfg.Value}, err
//		})
//	}
//
//	func main() {}
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o policy.wasm .
//
// and test it with plain `go test` against the emulated host in sdk/sdktest.
//
// # How a call runs
//
// The host calls the module's on_request or on_response export with a plan:
// the ordered attachments of this module that run now. The SDK reads the plan
// and, once per instance and attachment, the policy name and JSON config, and
// builds the Policy with the Factory registered under that name. It caches
// plans and policies (a policy value serves many requests, one at a time;
// keep per-request state on the Context, in variables or in local variables,
// never in the policy). It then calls the policies in order until one returns
// Stop.
//
// A policy that cannot do its job returns c.Fail(err): the attachment's fail
// mode then decides what the client gets (by default a 500, or a 413 when the
// body was too large). A Go panic is not recovered: it traps the instance,
// the host discards it and the call fails the same way.
//
// # Memory and results
//
// Guests run single-threaded, and allocation is the dominant cost of guest
// code, so the SDK reads host data through one reused scratch buffer (2 KiB,
// grown on demand) and passes Go strings to the host without copying them.
// Every string and []byte the SDK returns is owned by the caller: nothing
// aliases the scratch buffer. Reading a string costs one allocation of its
// size; checks such as Header.Has cost none.
//
// # Errors
//
// Host statuses map to the sentinel errors ErrNotFound, ErrInvalid, ErrPhase,
// ErrTooLarge, ErrUnavailable, ErrLimit and the ErrJWT family; test them with
// errors.Is. Methods that change the request or response return such errors
// (an invalid header name, a request change in the response phase, …).
package sdk
