package bodyconv

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func xmlCorpus(tb testing.TB) []string {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.xml")
	if err != nil {
		tb.Fatal(err)
	}
	deep := strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64)
	return []string{string(fix), string(fix[:len(fix)/2]), strings.Replace(string(fix), "</items>", "</itemz>", 1),
		`<a x="1">t<b>u</b>v<b/></a>`, `<?xml version="1.0"?><s:E xmlns:s="u"><s:B/></s:E>`,
		`<a><![CDATA[<]]>&amp;&#x1F600;</a>`, "<a>\xff</a>", `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`,
		`<a/>`, `<a></a>`, ` <a/> `, `<a/><b/>`, `x<a/>`, `<a/>x`, `<a>`, `</a>`, `<a></b>`, `<p:a></q:a>`, `<p:a></p:a>`, `<a:b:c/>`, `<:a/>`, `<a:/>`,
		`<a xmlns="u" xmlns:p="v" p:x="1" x="2"/>`, `<a :xmlns="1" xmlns:="2"/>`, `<a x='1' y="2'"/>`, `<a x="1"y="2"/>`, `<a x=1/>`, `<a x/>`, `<a x="<"/>`, `<a x="&lt;&#60;&#x3C;>"/>`,
		`<a>&lt;&gt;&amp;&apos;&quot;&#65;&#x41;&#X41;&#;&#x;&#1114111;&#1114112;&#0;&#xD800;&#xFFFE;&nbsp;&amp</a>`,
		`<a>&lt;</a>`, `<a>&gt;</a>`, `<a>&amp;</a>`, `<a>&apos;</a>`, `<a>&quot;</a>`, `<a x="&apos;&quot;&amp;"/>`, `<a>&#65;</a>`, `<a>&#1114111;</a>`, `<a>&#x10FFFF;</a>`, `<a>&#0;</a>`, `<a>&#xD800;</a>`, `<a>&#13;</a>`, `<a>&amp</a>`, `<a>&#x0041;</a>`,
		"<a>\r\n</a>", "<a>x\ry</a>", "<a>\t\n </a>", "<a>\x01</a>", "<a>\uFFFE</a>", "<a>é😀</a>", `<a>]]></a>`, `<a>]]&gt;</a>`, `<a>]></a>`, `<a>a>b</a>`,
		`<!-- c --><a><!-- x -- y --></a>`, `<a><!----></a>`, `<a><!---></a>`, `<a><!- x --></a>`, `<a>x<!--c-->y</a>`,
		`<?xml version="1.1"?><a/>`, `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a/>`,
		`<?xml version='1.0' encoding='utf-8'?><a/>`, `<?xml?><a/>`, `<?pi data?><a><?pi x?></a>`, `<?xml-stylesheet href="x"?><a/>`, `<a/><?xml version="2"?>`, `<?xmlversion="1.0"?><a/>`,
		`<a><b>1</b><c>2</c><b>3</b>t</a>`, `<a><b/><b/></a>`, `<a>  <b> x </b>  </a>`, `<a b="1">text</a>`, `<a>text<b/>more</a>`,
		"<a>\u00a0</a>", "\u00a0<a/>", "\ufeff<a/>", `<a></a >`, `<a></a x>`, `< a/>`, `<a / >`, `<a/ >`, `<a x = "1" />`,
		deep, "<r>" + deep + "</r>", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65),
		"<r>" + strings.Repeat(`<i k="v">x</i>`, 300) + "</r>", "<r>" + strings.Repeat(`<i1/><i2/>`, 20) + "</r>",
	}
}

func TestXMLToJSONAgreesWithReference(t *testing.T) {
	for _, in := range xmlCorpus(t) {
		for _, o := range []XMLOptions{{}, {Direct: true}, {AlwaysArray: true}, {Direct: true, AlwaysArray: true}} {
			for _, max := range []int{0, 50, 1 << 20} {
				checkXML(t, []byte(in), o, max)
			}
		}
	}
}

func checkXML(t *testing.T, in []byte, o XMLOptions, max int) {
	t.Helper()
	prefix := []byte("prefix")
	want, werr := xmlToJSONStd(bytes.Clone(prefix), in, o, max)
	got, gerr := XMLToJSON(bytes.Clone(prefix), in, o, max)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("%.100q %+v max %d: error %v, reference %v", in, o, max, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%.100q %+v max %d:\n got %q\nwant %q", in, o, max, got, want)
	}
}

// TestXMLToJSONFastPath checks which documents take the fast path.
func TestXMLToJSONFastPath(t *testing.T) {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		fast bool
	}{
		{string(fix), true},
		{`<a x="&lt;">&#x41;<!-- c --><?pi x?></a>`, true},
		{`<a><![CDATA[x]]></a>`, false},
		{`<!DOCTYPE a><a/>`, false},
		{"<a>\r\n</a>", false},
		{`<é/>`, false},
		{`<a>&e;</a>`, false},
	} {
		var x xconv
		if _, ok := x.parseFast([]byte(c.in)); ok != c.fast {
			t.Errorf("%q: fast path %v, want %v", c.in, ok, c.fast)
		}
	}
}

func FuzzXMLToJSON(f *testing.F) {
	for _, s := range xmlCorpus(f) {
		if len(s) < 4096 {
			f.Add([]byte(s), false, false, 0)
		}
	}
	f.Add([]byte(`<a><b/></a>`), true, true, 10)
	f.Fuzz(func(t *testing.T, in []byte, direct, arrays bool, max int) {
		checkXML(t, in, XMLOptions{Direct: direct, AlwaysArray: arrays}, max)
	})
}

func BenchmarkXMLToJSON(b *testing.B) {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.xml")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]byte, []byte, XMLOptions, int) ([]byte, error)
	}{{"fast", XMLToJSON}, {"reference", xmlToJSONStd}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(fix)))
			var out []byte
			start := cpuTime()
			for b.Loop() {
				out, _ = c.fn(out[:0], fix, XMLOptions{}, 1<<20)
			}
			reportCPU(b, start)
		})
	}
}
