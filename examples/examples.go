// Package examples carries example documents that the gatehouse binary
// uses for its demo (`gatehouse serve --demo`).
package examples

import _ "embed"

// EchoOpenAPI is examples/echo-openapi.yaml: the OpenAPI document of the
// demo's Echo API, imported into the catalog on the first demo start.
//
//go:embed echo-openapi.yaml
var EchoOpenAPI []byte
