package oasimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Examples looks up response examples in one loaded document. Load it once
// with LoadExamples and query it many times; it is safe for concurrent use
// (lookups only read it).
type Examples struct {
	doc  *openapi3.T
	tree *yaml.Node // the document as written, for the order of "examples"; nil if unreadable
}

// LoadExamples loads a document (Swagger 2.0, OpenAPI 3.0 or 3.1, JSON or
// YAML) for Example lookups. It does not validate the document beyond
// loading it: documents in the catalog were validated when imported.
func LoadExamples(doc []byte) (x *Examples, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, docErr("", "cannot be parsed: %v", r)
		}
	}()
	d3, _, _, err := load(doc)
	if err != nil {
		return nil, err
	}
	x = &Examples{doc: d3}
	var n yaml.Node
	if yaml.Unmarshal(doc, &n) == nil {
		x.tree = &n
	}
	return x, nil
}

// Example returns the example body of the response with status code status
// of the operation method + urlTemplate, as Azure API Management's
// mock-response uses it, and its media type. See Examples.Example.
func Example(doc []byte, method, urlTemplate string, status int) (body []byte, contentType string, ok bool) {
	x, err := LoadExamples(doc)
	if err != nil {
		return nil, "", false
	}
	return x.Example(method, urlTemplate, status, "")
}

// Example returns an example body for the response status of the operation
// method + urlTemplate, and the media type it was found under.
//
//   - The operation is the path whose template equals urlTemplate, or else
//     matches it with parameter names ignored ("/items/{id}" finds
//     "/items/{itemId}"), and the method (any case).
//   - The response is the one for the exact code, else its range ("2XX"),
//     else "default".
//   - The media type is contentType when given (compared without
//     parameters, case-insensitively; nothing else is tried). Otherwise the
//     first that has an example of: application/json, other JSON types
//     (*/json, *+json) in name order, the rest in name order.
//   - The example is the media type's "example", else the first of its
//     "examples" that has a value (document order when the document can be
//     read as YAML without $ref on the way, else name order), else the
//     schema's "example". External values are not fetched.
//
// For a JSON media type the value is encoded as JSON (object keys sorted),
// except a string holding a JSON object or array, which is taken as the
// body itself. For other media types a string is the body as written and
// other values are encoded as JSON.
func (x *Examples) Example(method, urlTemplate string, status int, contentType string) (body []byte, mediaType string, ok bool) {
	if x == nil || x.doc == nil || x.doc.Paths == nil {
		return nil, "", false
	}
	pathKey, item := x.path(urlTemplate)
	if item == nil {
		return nil, "", false
	}
	op := item.GetOperation(strings.ToUpper(method))
	if op == nil || op.Responses == nil {
		return nil, "", false
	}
	var resp *openapi3.ResponseRef
	code := strconv.Itoa(status)
	for _, k := range []string{code, fmt.Sprintf("%dXX", status/100), fmt.Sprintf("%dxx", status/100), "default"} {
		if resp = op.Responses.Value(k); resp != nil && resp.Value != nil {
			code = k
			break
		}
	}
	if resp == nil || resp.Value == nil {
		return nil, "", false
	}
	for _, mt := range candidates(resp.Value.Content, contentType) {
		m := resp.Value.Content[mt]
		if m == nil {
			continue
		}
		v, found := x.value(m, []string{"paths", pathKey, strings.ToLower(method), "responses", code, "content", mt, "examples"})
		if !found {
			continue
		}
		b, err := render(v, isJSON(mt))
		if err != nil {
			continue
		}
		return b, mt, true
	}
	return nil, "", false
}

// path finds the path item of a URL template.
func (x *Examples) path(tmpl string) (string, *openapi3.PathItem) {
	if item := x.doc.Paths.Value(tmpl); item != nil {
		return tmpl, item
	}
	want := normTemplate(tmpl)
	m := x.doc.Paths.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if normTemplate(k) == want && m[k] != nil {
			return k, m[k]
		}
	}
	return "", nil
}

// normTemplate replaces every {parameter} with {}.
func normTemplate(t string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		b.WriteString("{}")
		t = t[i+j+1:]
	}
}

// mediaBase is a media type without parameters, in lower case.
func mediaBase(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSON(mt string) bool {
	b := mediaBase(mt)
	return strings.HasSuffix(b, "/json") || strings.HasSuffix(b, "+json")
}

// candidates orders the media types of content to try (see Example).
func candidates(content openapi3.Content, want string) []string {
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want != "" {
		for _, k := range keys {
			if mediaBase(k) == mediaBase(want) {
				return []string{k}
			}
		}
		return nil
	}
	rank := func(k string) int {
		switch {
		case mediaBase(k) == "application/json":
			return 0
		case isJSON(k):
			return 1
		}
		return 2
	}
	sort.SliceStable(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	return keys
}

// value picks the example of a media type; at is the path of its
// "examples" in the document tree.
func (x *Examples) value(m *openapi3.MediaType, at []string) (any, bool) {
	if m.Example != nil {
		return m.Example, true
	}
	if len(m.Examples) > 0 {
		names := x.keysAt(at)
		rest := make([]string, 0, len(m.Examples))
		for k := range m.Examples {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		for _, k := range append(names, rest...) {
			if e := m.Examples[k]; e != nil && e.Value != nil && e.Value.Value != nil {
				return e.Value.Value, true
			}
		}
	}
	if m.Schema != nil && m.Schema.Value != nil && m.Schema.Value.Example != nil {
		return m.Schema.Value.Example, true
	}
	return nil, false
}

// keysAt returns the keys of the mapping at a path of the document tree, in
// document order, or nil.
func (x *Examples) keysAt(at []string) []string {
	if x.tree == nil {
		return nil
	}
	n := x.tree
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range at {
		n = child(n, k)
		if n == nil {
			return nil
		}
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}

// child returns the value of key in a mapping node, following aliases.
func child(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// render turns an example value into a body.
func render(v any, asJSON bool) ([]byte, error) {
	if s, ok := v.(string); ok {
		if !asJSON {
			return []byte(s), nil
		}
		if t := strings.TrimSpace(s); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			return []byte(s), nil
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
