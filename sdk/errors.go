package sdk

import (
	"errors"

	"github.com/gatehouse/gatehouse/abi"
)

// StatusError is a host call that returned an ABI status. The sentinel errors
// of this package are StatusErrors; compare with errors.Is.
type StatusError struct {
	// Status is the negative abi status, e.g. abi.ErrNotFound.
	Status int32
}

// Error returns the status text, e.g. "gatehouse: not found".
func (e *StatusError) Error() string { return "gatehouse: " + abi.StatusText(e.Status) }

// Is reports whether e belongs to target: every JWT status is also ErrJWT.
func (e *StatusError) Is(target error) bool {
	return target == ErrJWT && e.Status <= abi.ErrJWTFormat && e.Status >= abi.ErrJWTKeys
}

// Sentinel errors for the host statuses of abi/ABI.md §6.
var (
	// ErrNotFound: absent header, variable, parameter, cache key or subscription.
	ErrNotFound error = &StatusError{abi.ErrNotFound}
	// ErrInvalid: a malformed name or value, an unknown field, kind or mode.
	ErrInvalid error = &StatusError{abi.ErrInvalid}
	// ErrPhase: not allowed in this phase (e.g. changing the request in the
	// response phase).
	ErrPhase error = &StatusError{abi.ErrPhase}
	// ErrTooLarge: a body or value over its cap.
	ErrTooLarge error = &StatusError{abi.ErrTooLarge}
	// ErrUnavailable: the capability is not configured on this host (no
	// subscription catalog, no JWT keys, …).
	ErrUnavailable error = &StatusError{abi.ErrUnavail}
	// ErrLimit: a counter refused an increment. Counter.Add reports it as
	// CounterResult.Allowed == false rather than as an error.
	ErrLimit error = &StatusError{abi.ErrLimit}

	// ErrJWT matches every JWT verification failure below.
	ErrJWT = errors.New("gatehouse: jwt verification failed")
	// ErrJWTFormat: the token is not a well-formed compact JWS.
	ErrJWTFormat error = &StatusError{abi.ErrJWTFormat}
	// ErrJWTSignature: the signature is invalid, or no key matches.
	ErrJWTSignature error = &StatusError{abi.ErrJWTSig}
	// ErrJWTExpired: expired, not yet valid, or without exp.
	ErrJWTExpired error = &StatusError{abi.ErrJWTExpiry}
	// ErrJWTIssuer: the issuer is not accepted.
	ErrJWTIssuer error = &StatusError{abi.ErrJWTIssuer}
	// ErrJWTAudience: no audience is accepted.
	ErrJWTAudience error = &StatusError{abi.ErrJWTAud}
	// ErrJWTAlgorithm: the algorithm is not in the allowed list.
	ErrJWTAlgorithm error = &StatusError{abi.ErrJWTAlg}
	// ErrJWTClaim: a required claim is missing or has another value.
	ErrJWTClaim error = &StatusError{abi.ErrJWTClaim}
	// ErrJWTConfig: the verification config is invalid.
	ErrJWTConfig error = &StatusError{abi.ErrJWTConfig}
	// ErrJWTKeys: the keys are unavailable (JWKS fetch failed, nothing cached).
	ErrJWTKeys error = &StatusError{abi.ErrJWTKeys}
)

// statusErr maps a negative status to its sentinel without allocating.
func statusErr(s int32) error {
	switch s {
	case abi.ErrNotFound:
		return ErrNotFound
	case abi.ErrInvalid:
		return ErrInvalid
	case abi.ErrPhase:
		return ErrPhase
	case abi.ErrTooLarge:
		return ErrTooLarge
	case abi.ErrUnavail:
		return ErrUnavailable
	case abi.ErrLimit:
		return ErrLimit
	case abi.ErrJWTFormat:
		return ErrJWTFormat
	case abi.ErrJWTSig:
		return ErrJWTSignature
	case abi.ErrJWTExpiry:
		return ErrJWTExpired
	case abi.ErrJWTIssuer:
		return ErrJWTIssuer
	case abi.ErrJWTAud:
		return ErrJWTAudience
	case abi.ErrJWTAlg:
		return ErrJWTAlgorithm
	case abi.ErrJWTClaim:
		return ErrJWTClaim
	case abi.ErrJWTConfig:
		return ErrJWTConfig
	case abi.ErrJWTKeys:
		return ErrJWTKeys
	}
	return &StatusError{s}
}

// errOf returns nil for a non-negative status and its error otherwise.
func errOf(s int32) error {
	if s >= 0 {
		return nil
	}
	return statusErr(s)
}
