package catalog

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped) by every catalog store. Test for them
// with errors.Is.
var (
	// ErrNotFound reports that the addressed entity does not exist.
	ErrNotFound = errors.New("catalog: not found")
	// ErrConflict reports a uniqueness or referential-integrity violation:
	// a duplicate name, a reference to a missing entity, or a delete that
	// would leave dangling references.
	ErrConflict = errors.New("catalog: conflict")
	// ErrInvalid reports input that fails validation. Errors that wrap it
	// are usually a *FieldError naming the offending field.
	ErrInvalid = errors.New("catalog: invalid")
)

// FieldError is a validation failure of one field. Path is a dotted path
// into the entity, e.g. "backendUrl" or "inbound[2].config". It satisfies
// errors.Is(err, ErrInvalid).
type FieldError struct {
	Path string
	Msg  string
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return "invalid: " + e.Msg
	}
	return fmt.Sprintf("invalid %s: %s", e.Path, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf returns an error wrapping ErrNotFound with a formatted message.
func NotFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}

// Conflictf returns an error wrapping ErrConflict with a formatted message.
func Conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}
