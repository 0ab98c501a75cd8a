// Package conf holds what the built-in policies share to read and check
// their JSON configs.
package conf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Decode decodes a policy config strictly into v: unknown fields, a value of
// the wrong type, and anything after the object are errors that name the
// field. An empty config is "{}".
func Decode(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if data[0] != '{' {
		return errors.New("config must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fmt.Errorf("field %q: expected %s, got %s", te.Field, typeName(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the config object")
	}
	return nil
}

func typeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "a list"
	case kind == "map", kind == "struct":
		return "an object"
	}
	return kind
}

// reserved are header names a policy may not set: the host refuses
// hop-by-hop headers and Content-Length.
var reserved = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true,
}

// HeaderName checks that name (the value of the config field field) is a
// header name a policy may set.
func HeaderName(field, name string) error {
	if name == "" {
		return fmt.Errorf("%s is required", field)
	}
	if !IsToken(name) {
		return fmt.Errorf("%s %q is not a valid header name", field, name)
	}
	if reserved[CanonicalHeader(name)] {
		return fmt.Errorf("%s %q: hop-by-hop headers and Content-Length cannot be set by a policy", field, name)
	}
	return nil
}

// HeaderValue checks that a header value has no CR, LF or NUL.
func HeaderValue(field, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("%s must not contain CR, LF or NUL", field)
	}
	return nil
}

// IsToken reports whether s is an RFC 9110 token (a valid header name).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// ErrorBody returns the APIM-style JSON error body
// {"statusCode":N,"message":"…"}.
func ErrorBody(status int, message string) []byte {
	b, _ := json.Marshal(struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	}{status, message})
	return b
}

// CanonicalHeader returns the canonical form of a header name, as
// net/textproto does for tokens ("x-foo" → "X-Foo"). (net/textproto is not
// used because it links package net into the guest.)
func CanonicalHeader(name string) string {
	b := []byte(name)
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return string(b)
}

// ResponsePhase parses a policy's "phase" field: "" and "request" → false,
// "response" → true, anything else an error naming the field.
func ResponsePhase(phase string) (bool, error) {
	switch phase {
	case "", "request":
		return false, nil
	case "response":
		return true, nil
	}
	return false, fmt.Errorf(`phase %q: want "request" or "response"`, phase)
}

// Action is a parsed "exists_action" field (set-header,
// set-query-parameter).
type Action int

// The exists_action values.
const (
	Override Action = iota // "override" (the default)
	Skip                   // "skip"
	Append                 // "append"
	Delete                 // "delete"
)

// ExistsAction parses a policy's "exists_action" field: "" and "override" →
// Override, "skip", "append", "delete", anything else an error naming the
// field.
func ExistsAction(s string) (Action, error) {
	switch s {
	case "", "override":
		return Override, nil
	case "skip":
		return Skip, nil
	case "append":
		return Append, nil
	case "delete":
		return Delete, nil
	}
	return 0, fmt.Errorf(`exists_action %q: want "override", "skip", "append" or "delete"`, s)
}
