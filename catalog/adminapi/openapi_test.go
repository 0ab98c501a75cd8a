package adminapi

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// muxVarRe matches the pattern part of a mux variable, "{scope:a|b}".
var muxVarRe = regexp.MustCompile(`\{([A-Za-z]+):[^}]*\}`)

// TestOpenAPIDocument checks that openapi.json is a valid OpenAPI 3
// document describing exactly the router's routes.
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	r := e.must(200, "GET", "/openapi.json", nil, nil)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	documented := map[Route]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[Route{method, Prefix + path}] = true
		}
	}
	routed := map[Route]bool{}
	walkRoutes(t, func(method, tpl, _ string) {
		rt := Route{method, muxVarRe.ReplaceAllString(tpl, "{$1}")}
		routed[rt] = true
		if !documented[rt] {
			t.Errorf("openapi.json does not describe %s %s", rt.Method, strings.TrimPrefix(rt.Path, Prefix))
		}
	})
	for rt := range documented {
		if !routed[rt] {
			t.Errorf("openapi.json describes %s %s, which is not routed", rt.Method, strings.TrimPrefix(rt.Path, Prefix))
		}
	}
}
