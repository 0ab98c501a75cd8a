package portal

import (
	"html"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// rawHTMLAsText renders raw HTML found in Markdown (inline and blocks) as
// escaped text instead of dropping it: a description that says
// "<script>…</script>" shows exactly that, and nothing of it runs.
type rawHTMLAsText struct{}

func (rawHTMLAsText) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			for i := 0; i < segs.Len(); i++ {
				s := segs.At(i)
				w.WriteString(html.EscapeString(string(s.Value(src))))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		b := n.(*ast.HTMLBlock)
		if entering {
			w.WriteString("<pre>")
			lines := b.Lines()
			for i := 0; i < lines.Len(); i++ {
				l := lines.At(i)
				w.WriteString(html.EscapeString(string(l.Value(src))))
			}
		} else {
			if b.HasClosure() {
				w.WriteString(html.EscapeString(string(b.ClosureLine.Value(src))))
			}
			w.WriteString("</pre>\n")
		}
		return ast.WalkContinue, nil
	})
}
