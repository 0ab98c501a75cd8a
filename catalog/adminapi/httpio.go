package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// httpError is an error answered with its own status and code.
type httpError struct {
	status int
	code   string
	msg    string
	fields []fieldMsg
}

type fieldMsg struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *httpError) Error() string { return e.msg }

type errorBody struct {
	Error struct {
		Code    string     `json:"code"`
		Message string     `json:"message"`
		Fields  []fieldMsg `json:"fields,omitempty"`
	} `json:"error"`
}

// invalid returns a 400 error naming one field (path may be empty).
func invalid(path, format string, args ...any) *httpError {
	msg := fmt.Sprintf(format, args...)
	e := &httpError{status: http.StatusBadRequest, code: "invalid", msg: msg}
	if path != "" {
		e.msg = "invalid " + path + ": " + msg
		e.fields = []fieldMsg{{Path: path, Message: msg}}
	}
	return e
}

func notFound(format string, args ...any) *httpError {
	return &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *httpError {
	return &httpError{status: http.StatusConflict, code: "conflict", msg: fmt.Sprintf(format, args...)}
}

// fail answers err, mapping catalog errors to statuses. Anything not
// recognised is a 500 whose detail is only logged.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var fe *catalog.FieldError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &fe):
		he = &httpError{status: http.StatusBadRequest, code: "invalid", msg: fe.Error()}
		if fe.Path != "" {
			he.fields = []fieldMsg{{Path: fe.Path, Message: fe.Msg}}
		}
	case errors.Is(err, catalog.ErrInvalid):
		he = &httpError{status: http.StatusBadRequest, code: "invalid", msg: trimCatalog(err)}
	case errors.Is(err, catalog.ErrNotFound):
		he = &httpError{status: http.StatusNotFound, code: "not_found", msg: trimCatalog(err)}
	case errors.Is(err, catalog.ErrConflict):
		he = &httpError{status: http.StatusConflict, code: "conflict", msg: trimCatalog(err)}
	default:
		s.log.Error("admin api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		he = &httpError{status: http.StatusInternalServerError, code: "internal", msg: "internal error (see the server log)"}
	}
	writeError(w, he)
}

// trimCatalog drops the "catalog: " prefix of the sentinel errors.
func trimCatalog(err error) string {
	return strings.TrimPrefix(err.Error(), "catalog: ")
}

func writeError(w http.ResponseWriter, e *httpError) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Fields = e.code, e.msg, e.fields
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// items is the shape of every list answer.
type items[T any] struct {
	Items []T `json:"items"`
}

func list[T any](v []T) items[T] {
	if v == nil {
		v = []T{}
	}
	return items[T]{v}
}

// decode reads one JSON value from the body into v: at most limit bytes,
// no unknown fields, no trailing data. Errors are 400 (413 when too large)
// naming the offending field where known.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if err != nil {
			if e := jsonError(err, limit); e.status == http.StatusRequestEntityTooLarge {
				return e
			}
		}
		return invalid("", "trailing data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a 400 or 413 answer.
func jsonError(err error, limit int64) *httpError {
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("body larger than %d bytes", limit)}
	case err == io.EOF:
		return invalid("", "empty body; a JSON value is required")
	case errors.As(err, &te):
		// An embedded struct's name is not part of the JSON (API's transport).
		path := strings.TrimPrefix(te.Field, "APITransport.")
		if path == "" {
			return invalid("", "body must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		return invalid(path, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return invalid("", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "malformed JSON: unexpected end of body")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return invalid(f, "unknown field")
	}
	// Errors of custom unmarshalers (time.Time, ...).
	return invalid("", "malformed JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a " + k
}
