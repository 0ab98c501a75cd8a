package oasimport

import "github.com/getkin/kin-openapi/openapi3"

// Load reads a stored document (JSON or YAML; Swagger 2.0 converted) into
// OpenAPI 3 without validating it, for rendering (the developer portal's
// API reference). Errors are *catalog.FieldError; a panic inside
// kin-openapi on hostile input becomes an error.
func Load(doc []byte) (d *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, docErr("", "cannot be parsed: %v", r)
		}
	}()
	d, _, _, err = load(doc)
	return d, err
}
