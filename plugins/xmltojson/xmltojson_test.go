package xmltojson_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/xmltojson"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(xmltojson.Name, xmltojson.New) }

func TestConvert(t *testing.T) {
	friendly, direct, arrays := xmltojson.Options{}, xmltojson.Options{Direct: true}, xmltojson.Options{AlwaysArray: true}
	for _, tc := range []struct {
		in   string
		o    xmltojson.Options
		want string
	}{
		{`<order id="7"><item>a</item><item>b</item><note/></order>`, friendly, `{"order":{"@id":"7","item":["a","b"],"note":null}}`},
		{`<a>text</a>`, friendly, `{"a":"text"}`},
		{`<a>x<b>y<c>w</c>v</b>z</a>`, friendly, `{"a":{"b":{"c":"w","#text":"yv"},"#text":"xz"}}`},
		{"<r>" + strings.Repeat("<a>1</a><b/>", 10) + "<c>2</c></r>", friendly,
			`{"r":{"a":["1"` + strings.Repeat(`,"1"`, 9) + `],"b":[null` + strings.Repeat(`,null`, 9) + `],"c":"2"}}`},
		{"<r>" + strings.Repeat("<a>1</a><b/>", 2) + "<c>2</c></r>", friendly, `{"r":{"a":["1","1"],"b":[null,null],"c":"2"}}`},
		{`<a>  </a>`, friendly, `{"a":null}`},
		{`<a x="1">t</a>`, friendly, `{"a":{"@x":"1","#text":"t"}}`},
		{`<a><b>1</b><c>2</c><b>3</b></a>`, friendly, `{"a":{"b":["1","3"],"c":"2"}}`},
		{`<a><b>1</b></a>`, arrays, `{"a":{"b":["1"]}}`},
		{`<a>&lt;&amp;&#65;"\</a>`, friendly, `{"a":"<&A\"\\"}`},
		{"<a><![CDATA[x<y]]>\n<!-- c --><?pi x?></a>", friendly, `{"a":"x<y\n"}`},
		{`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="urn:s" xmlns="urn:d"><s:Body>1</s:Body></s:Envelope>`, friendly,
			`{"Envelope":{"Body":"1"}}`},
		{`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="urn:s"><s:Body s:a="2">1</s:Body></s:Envelope>`, direct,
			`{"?xml":{"@version":"1.0","@encoding":"utf-8"},"s:Envelope":{"@xmlns:s":"urn:s","s:Body":{"@s:a":"2","#text":"1"}}}`},
		{"<a>tab\there\u0001?</a>", friendly, ``}, // U+0001 is not an XML character
	} {
		out, err := xmltojson.Convert(nil, []byte(tc.in), tc.o, 0)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q accepted: %s", tc.in, out)
			}
			continue
		}
		if err != nil || string(out) != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.in, out, err, tc.want)
		}
		if err == nil && !json.Valid(out) {
			t.Errorf("%s: invalid JSON %s", tc.in, out)
		}
	}
}

func TestRefused(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`
	xxe := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`
	deep := strings.Repeat("<a>", xmltojson.MaxDepth+1) + strings.Repeat("</a>", xmltojson.MaxDepth+1)
	wide := "<r>" + strings.Repeat("<a/>", xmltojson.MaxNodes) + "</r>"
	for name, in := range map[string]string{
		"billion laughs": laughs, "external entity": xxe, "deep": deep, "too many nodes": wide,
		"empty": "", "text only": "hello", "two roots": "<a/><b/>", "unclosed": "<a><b></b>", "mismatched": "<a></b>",
		"latin-1": `<?xml version="1.0" encoding="ISO-8859-1"?><a>x</a>`, "unknown entity": "<a>&nbsp;</a>", "text after": "<a/>x",
	} {
		if out, err := xmltojson.Convert(nil, []byte(in), xmltojson.Options{}, 0); err == nil {
			t.Errorf("%s accepted: %.80s", name, out)
		}
	}
	// The DOCTYPE alone (no entity reference) is dropped, not an error.
	out, err := xmltojson.Convert(nil, []byte(`<!DOCTYPE r [<!ENTITY x "y">]><r>z</r>`), xmltojson.Options{}, 0)
	if err != nil || string(out) != `{"r":"z"}` {
		t.Errorf("doctype: %s %v", out, err)
	}
}

func TestPolicy(t *testing.T) {
	h := sdktest.New()
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Type": {"text/xml; charset=utf-8"}}, Body: []byte(`<pet><id>1</id></pet>`)}
	})
	att := sdktest.Attach(xmltojson.Name, `{"kind":"javascript-friendly","apply":"content-type-xml","phase":"response"}`)
	res := h.Do(sdktest.Request{Header: http.Header{"Accept": {"application/json"}}}, back, att)
	if res.Err != nil || string(res.Body) != `{"pet":{"id":"1"}}` || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("err %v %q %s", res.Err, res.Header.Get("Content-Type"), res.Body)
	}
	// consider_accept_header: no JSON asked for, no conversion.
	res = h.Do(sdktest.Request{Header: http.Header{"Accept": {"*/*"}}}, back, att)
	if string(res.Body) != `<pet><id>1</id></pet>` {
		t.Errorf("converted without Accept: %s", res.Body)
	}
	// A malformed request body: 400, backend not called.
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte(`<a>`)},
		sdktest.Attach(xmltojson.Name, `{"kind":"direct","apply":"always","consider_accept_header":false}`))
	if res.Status != 400 || res.Upstream != nil || !strings.Contains(string(res.Body), "not valid XML") {
		t.Errorf("malformed: %d %s", res.Status, res.Body)
	}
	// A malformed response body is left as it is.
	bad := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response { return sdktest.Response{Body: []byte(`<a>&lol;</a>`)} })
	res = h.Do(sdktest.Request{}, bad, sdktest.Attach(xmltojson.Name, `{"kind":"direct","apply":"always","consider_accept_header":false,"phase":"response"}`))
	if res.Err != nil || string(res.Body) != `<a>&lol;</a>` {
		t.Errorf("malformed response: %v %s", res.Err, res.Body)
	}
	// Gzip bodies are not parsed.
	gz := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Encoding": {"gzip"}}, Body: []byte("\x1f\x8b")}
	})
	res = h.Do(sdktest.Request{}, gz, sdktest.Attach(xmltojson.Name, `{"kind":"direct","apply":"always","consider_accept_header":false,"phase":"response"}`))
	if res.Err != nil || string(res.Body) != "\x1f\x8b" {
		t.Errorf("gzip: %v %q", res.Err, res.Body)
	}
}

func TestSizeBound(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte(`<a b="1" c="2" d="3"/>`)},
		sdktest.Attach(xmltojson.Name, `{"kind":"direct","apply":"always","consider_accept_header":false,"max_body_bytes":25}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("output over the bound: %v %d %s", res.Err, res.Status, res.Body)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"apply":"always"}`, "kind is required"},
		{`{"kind":"direct"}`, "apply is required"},
		{`{"kind":"x","apply":"always"}`, `kind "x"`},
		{`{"kind":"direct","apply":"content-type-json"}`, `apply "content-type-json"`},
		{`{"kind":"direct","apply":"always","phase":"x"}`, `phase "x"`},
		{`{"kind":"direct","apply":"always","max_body_bytes":99999999}`, "max_body_bytes"},
		{`{"kind":"direct","apply":"always","always_array_children":true}`, `unknown field "always_array_children"`},
	} {
		if _, err := xmltojson.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

func BenchmarkConvert(b *testing.B) {
	h := sdktest.New()
	body := []byte(`<pets>` + strings.Repeat(`<pet id="1"><name>Rex</name><tag>a</tag><tag>b</tag></pet>`, 50) + `</pets>`)
	att := sdktest.Attach(xmltojson.Name, `{"kind":"javascript-friendly","apply":"always","consider_accept_header":false}`)
	for b.Loop() {
		h.Do(sdktest.Request{Method: "POST", Body: body}, att)
	}
}

// FuzzConvert checks that whatever the parser accepts becomes valid JSON.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{`<a x="1">t<b>u</b>v<b/></a>`, `<?xml version="1.0"?><s:E xmlns:s="u"><s:B/></s:E>`,
		`<a><![CDATA[<]]>&amp;&#x1F600;</a>`, "<a>\xff</a>", `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`} {
		f.Add([]byte(s), false, false)
	}
	f.Fuzz(func(t *testing.T, in []byte, direct, arrays bool) {
		out, err := xmltojson.Convert(nil, in, xmltojson.Options{Direct: direct, AlwaysArray: arrays}, 0)
		if err == nil && !json.Valid(out) {
			t.Fatalf("%q → invalid JSON %q", in, out)
		}
	})
}

func TestEmptyBodyUntouched(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Method: "POST", Body: []byte(" \n")},
		sdktest.Attach(xmltojson.Name, `{"kind":"direct","apply":"always","consider_accept_header":false}`))
	if res.Err != nil || res.Status != 200 || res.Upstream == nil || string(res.Upstream.Body) != " \n" {
		t.Errorf("%+v", res)
	}
}
