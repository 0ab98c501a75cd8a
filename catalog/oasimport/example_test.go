package oasimport_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/examples"
)

func TestExampleEcho(t *testing.T) {
	for _, tc := range []struct {
		method, tmpl string
		status       int
		body, ct     string // body "" : not found
	}{
		{"GET", "/get", 200, `{"args":{"q":"1"},"headers":{"User-Agent":"curl/8.5.0"},"method":"GET","url":"/get?q=1"}`, "application/json"},
		{"POST", "/post", 200, `{"json":{"hello":"world"},"method":"POST","url":"/post"}`, "application/json"},
		{"get", "/items/{id}", 200, `{"id":"42","name":"Item 42"}`, "application/json"},
		{"GET", "/items/{itemId}", 200, `{"id":"42","name":"Item 42"}`, "application/json"}, // parameter names ignored
		{"GET", "/status/{code}", 200, `200 OK`, "text/plain"},
		{"GET", "/items/{id}", 404, "", ""},
		{"POST", "/get", 200, "", ""},
		{"GET", "/nope", 200, "", ""},
	} {
		body, ct, ok := oasimport.Example(examples.EchoOpenAPI, tc.method, tc.tmpl, tc.status)
		if tc.body == "" {
			if ok {
				t.Errorf("%s %s %d: found %q %q", tc.method, tc.tmpl, tc.status, body, ct)
			}
			continue
		}
		if !ok || string(body) != tc.body || ct != tc.ct {
			t.Errorf("%s %s %d = %q %q %v, want %q %q", tc.method, tc.tmpl, tc.status, body, ct, ok, tc.body, tc.ct)
		}
	}
}

const oas30 = `openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /pets/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/xml:
              example: "<pet id=\"1\"/>"
            application/problem+json:
              example: {type: about:blank}
            application/json:
              examples:
                zebra: {value: {name: first}}
                alpha: {value: {name: second}}
        "4XX":
          description: client error
          content:
            text/plain:
              examples:
                ext: {externalValue: "https://example.com/x"}
                plain: {value: "bad <request> & more"}
        default:
          description: other
          content:
            application/json:
              schema:
                type: object
                example: {code: 500, message: "a < b"}
    post:
      responses:
        "201":
          description: created
          content:
            application/json:
              example: '{"id": 7}'
            text/csv:
              example: "a,b"
        "202":
          description: accepted
          content:
            application/json:
              example: "queued"
        "204":
          description: no content
`

func TestExampleSelection(t *testing.T) {
	x, err := oasimport.LoadExamples([]byte(oas30))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method string
		status int
		want   string // media type
		body   string
		ct     string // "" : not found
	}{
		// application/json first; the first of "examples" in document order.
		{"GET", 200, "", `{"name":"first"}`, "application/json"},
		{"GET", 200, "application/xml", `<pet id="1"/>`, "application/xml"},
		{"GET", 200, "Application/XML; charset=utf-8", `<pet id="1"/>`, "application/xml"},
		{"GET", 200, "application/problem+json", `{"type":"about:blank"}`, "application/problem+json"},
		{"GET", 200, "text/html", "", ""},
		// A range, an example without a value skipped, text as written.
		{"GET", 404, "", "bad <request> & more", "text/plain"},
		// default, the schema's example, no HTML escaping.
		{"GET", 500, "", `{"code":500,"message":"a < b"}`, "application/json"},
		// A string holding JSON is the body; other strings are JSON strings.
		{"POST", 201, "", `{"id": 7}`, "application/json"},
		{"POST", 201, "text/csv", `a,b`, "text/csv"},
		{"POST", 202, "", `"queued"`, "application/json"},
		{"POST", 204, "", "", ""},
		{"POST", 200, "", "", ""},
	} {
		body, ct, ok := x.Example(tc.method, "/pets/{id}", tc.status, tc.want)
		if tc.ct == "" {
			if ok {
				t.Errorf("%s %d %q: found %q %q", tc.method, tc.status, tc.want, body, ct)
			}
			continue
		}
		if !ok || string(body) != tc.body || ct != tc.ct {
			t.Errorf("%s %d %q = %q %q %v, want %q %q", tc.method, tc.status, tc.want, body, ct, ok, tc.body, tc.ct)
		}
	}
}

func TestExampleSwagger2(t *testing.T) {
	doc := `{"swagger":"2.0","info":{"title":"T","version":"1"},"produces":["application/json"],"paths":{"/pets":{"get":{
		"responses":{"200":{"description":"ok","schema":{"type":"array","items":{"type":"object"}},
		"examples":{"application/json":[{"id":1,"name":"Rex"}],"text/plain":"Rex"}}}}}}}`
	body, ct, ok := oasimport.Example([]byte(doc), "GET", "/pets", 200)
	if !ok || string(body) != `[{"id":1,"name":"Rex"}]` || ct != "application/json" {
		t.Errorf("swagger 2.0: %q %q %v", body, ct, ok)
	}
	x, err := oasimport.LoadExamples([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if body, ct, ok := x.Example("GET", "/pets", 200, "text/plain"); !ok || string(body) != "Rex" || ct != "text/plain" {
		t.Errorf("swagger 2.0 text: %q %q %v", body, ct, ok)
	}
}

func TestExampleOAS31JSON(t *testing.T) {
	doc := `{"openapi":"3.1.0","info":{"title":"T","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok",
		"content":{"application/json":{"examples":{"b":{"value":{"n":2}},"a":{"value":{"n":1}}}}}}}}}}}`
	body, _, ok := oasimport.Example([]byte(doc), "GET", "/a", 200)
	if !ok || string(body) != `{"n":2}` { // document order, not name order
		t.Errorf("3.1: %q %v", body, ok)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Error(err)
	}
}

func TestExampleBadDocuments(t *testing.T) {
	for _, doc := range []string{"", "nonsense", "openapi: 3.0.0", `{"swagger":"1.2"}`, strings.Repeat("[", 10000)} {
		if body, ct, ok := oasimport.Example([]byte(doc), "GET", "/", 200); ok {
			t.Errorf("%.20q: %q %q", doc, body, ct)
		}
	}
}
