package portal

import (
	"regexp"
	"strings"
	"testing"
)

// unsafeMarkup matches what must never come out of rendering untrusted
// Markdown: a script or style element, an event-handler attribute, a
// javascript: URL, an iframe/object/embed.
var unsafeMarkup = regexp.MustCompile(`(?i)<\s*(script|style|iframe|object|embed)|<[^>]*\son[a-z]+\s*=|(href|src)\s*=\s*"?\s*javascript:`)

// FuzzRenderDoc feeds arbitrary documents to the API reference builder
// (descriptions rendered from Markdown and sanitised) and arbitrary
// Markdown to renderMarkdown: no panic, and no executable markup out.
func FuzzRenderDoc(f *testing.F) {
	f.Add([]byte("openapi: 3.0.3\ninfo: {title: T, version: '1', description: \"<script>alert(1)</script>\"}\npaths: {/x: {get: {responses: {'200': {description: ok}}}}}\n"), "<img src=x onerror=alert(1)>")
	f.Add([]byte(`{"swagger":"2.0","info":{"title":"T","version":"1"},"paths":{"/a/{b}":{"get":{"parameters":[{"name":"b","in":"path","required":true,"type":"string"}],"responses":{"200":{"description":"[x](javascript:alert(1))"}}}}}}`), "[x](javascript:alert(1))")
	f.Add([]byte("openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths: {}\n"), "<div>\n<script>\nalert(1)\n</script>\n</div>")
	f.Add([]byte("{"), "**bold** <a href=\"javascript:x\">y</a>")
	f.Fuzz(func(t *testing.T, doc []byte, mdSrc string) {
		d := buildDoc(doc)
		check := func(what, out string) {
			if unsafeMarkup.MatchString(out) {
				t.Fatalf("%s renders executable markup: %q", what, out)
			}
		}
		check("markdown", string(renderMarkdown(mdSrc)))
		check("description", string(d.Description))
		for _, g := range d.Tags {
			check("tag", string(g.Description))
			for _, op := range g.Ops {
				check("operation", string(op.Description))
				for _, p := range op.Params {
					check("parameter", string(p.Description))
				}
				for _, r := range op.Responses {
					check("response", string(r.Description))
				}
			}
		}
		if d.Error != "" && !strings.HasPrefix(d.Error, "The API's OpenAPI document cannot be read") {
			t.Fatalf("error %q", d.Error)
		}
	})
}
