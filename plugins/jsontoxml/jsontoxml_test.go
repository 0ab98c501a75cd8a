package jsontoxml_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/jsontoxml"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(jsontoxml.Name, jsontoxml.New) }

const decl = `<?xml version="1.0" encoding="utf-8"?>`

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		in, want  string
		parseDate bool
	}{
		{`{"a":1,"b":"x<y&z","c":true,"d":null,"e":{}}`, `<Document><a>1</a><b>x&lt;y&amp;z</b><c>true</c><d /><e /></Document>`, true},
		{`{"pets":[{"id":1},{"id":2}],"empty":[]}`, `<Document><pets><id>1</id></pets><pets><id>2</id></pets></Document>`, true},
		{`[1,"two"]`, `<Document><Item>1</Item><Item>two</Item></Document>`, true},
		{`"text"`, `<Document>text</Document>`, true},
		{`{"a b":1,"1x":2,"ü":3,"":4}`, `<Document><a_x0020_b>1</a_x0020_b><_x0031_x>2</_x0031_x><ü>3</ü><_x0000_>4</_x0000_></Document>`, true},
		{`{"m":[[1,2],[3]]}`, `<Document><m>1</m><m>2</m><m>3</m></Document>`, true},
		{`{"t":"2024-01-02T03:04:05.000+00:00"}`, `<Document><t>2024-01-02T03:04:05Z</t></Document>`, true},
		{`{"t":"2024-01-02T03:04:05.000+00:00"}`, `<Document><t>2024-01-02T03:04:05.000+00:00</t></Document>`, false},
		{`{"n":1.5e10,"ctl":"a\u0001b\nc"}`, "<Document><n>1.5e10</n><ctl>a\uFFFDb&#xA;c</ctl></Document>", true},
	} {
		out, err := jsontoxml.Convert(nil, []byte(tc.in), tc.parseDate, 0)
		if err != nil || string(out) != decl+tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.in, out, err, decl+tc.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	deep := strings.Repeat("[", jsontoxml.MaxDepth+1) + strings.Repeat("]", jsontoxml.MaxDepth+1)
	deepObj := strings.Repeat(`{"a":`, jsontoxml.MaxDepth+1) + "1" + strings.Repeat("}", jsontoxml.MaxDepth+1)
	for _, in := range []string{``, `{`, `{"a":}`, `{"a":1}x`, `{"a":1} {}`, `nul`, deep, deepObj} {
		if _, err := jsontoxml.Convert(nil, []byte(in), true, 0); err == nil {
			t.Errorf("%.40q accepted", in)
		}
	}
	ok := strings.Repeat(`{"a":`, jsontoxml.MaxDepth-1) + "1" + strings.Repeat("}", jsontoxml.MaxDepth-1)
	if _, err := jsontoxml.Convert(nil, []byte(ok), true, 0); err != nil {
		t.Errorf("depth %d refused: %v", jsontoxml.MaxDepth-1, err)
	}
}

func TestRequestPhase(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(jsontoxml.Name, `{"apply":"content-type-json","consider_accept_header":false}`)
	res := h.Do(sdktest.Request{Method: "POST", Body: []byte(`{"id":7}`), Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}, att)
	if res.Err != nil || string(res.Upstream.Body) != decl+"<Document><id>7</id></Document>" || res.Upstream.Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("err %v body %s type %q", res.Err, res.Upstream.Body, res.Upstream.Header.Get("Content-Type"))
	}
	// Not JSON by its Content-Type: untouched.
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte(`{"id":7}`), Header: http.Header{"Content-Type": {"text/plain"}}}, att)
	if string(res.Upstream.Body) != `{"id":7}` {
		t.Errorf("text/plain converted: %s", res.Upstream.Body)
	}
	// Malformed: 400 with an APIM body, the backend is not called.
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte(`{"id":`), Header: http.Header{"Content-Type": {"application/vnd.x+json"}}}, att)
	if res.Status != 400 || res.Upstream != nil || !strings.Contains(string(res.Body), `"statusCode":400`) || !strings.Contains(string(res.Body), "not valid JSON") {
		t.Errorf("malformed: %d %s", res.Status, res.Body)
	}
}

func TestAcceptHeader(t *testing.T) {
	h := sdktest.New()
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":[1,2]}`)}
	})
	att := sdktest.Attach(jsontoxml.Name, `{"apply":"always","phase":"response"}`)
	for accept, converted := range map[string]bool{"": false, "*/*": false, "application/json": false,
		"text/html, application/xml;q=0.9": true, "application/atom+xml": true, "TEXT/XML": true} {
		req := sdktest.Request{Header: http.Header{}}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res := h.Do(req, back, att)
		got := strings.HasPrefix(string(res.Body), "<?xml")
		if res.Err != nil || got != converted {
			t.Errorf("Accept %q: err %v body %s", accept, res.Err, res.Body)
		}
		if converted && (res.Header.Get("Content-Type") != "application/xml" || string(res.Body) != decl+"<Document><a>1</a><a>2</a></Document>") {
			t.Errorf("Accept %q: %q %s", accept, res.Header.Get("Content-Type"), res.Body)
		}
	}
}

func TestResponseMalformedLeftAlone(t *testing.T) {
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Status: 502, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`oops`)}
	})
	res := sdktest.New().Do(sdktest.Request{}, back, sdktest.Attach(jsontoxml.Name, `{"apply":"always","consider_accept_header":false,"phase":"response"}`))
	if res.Err != nil || res.Status != 502 || string(res.Body) != "oops" || len(res.Logs) == 0 {
		t.Errorf("err %v %d %s %v", res.Err, res.Status, res.Body, res.Logs)
	}
}

func TestSizeBound(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(jsontoxml.Name, `{"apply":"always","consider_accept_header":false,"max_body_bytes":100}`)
	// Small input, output over the bound.
	res := h.Do(sdktest.Request{Method: "POST", Body: []byte(`[` + strings.Repeat(`1,`, 40) + `1]`)}, att)
	if res.Err == nil || res.Status != 500 {
		t.Errorf("output over the bound: %v %d", res.Err, res.Status)
	}
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte(`"` + strings.Repeat("a", 200) + `"`)}, att)
	if res.Err == nil || res.Status != 500 {
		t.Errorf("input over the bound: %v %d", res.Err, res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "apply is required"},
		{`{"apply":"sometimes"}`, `apply "sometimes"`},
		{`{"apply":"always","phase":"x"}`, `phase "x"`},
		{`{"apply":"always","max_body_bytes":0}`, "max_body_bytes"},
		{`{"apply":"always","parse_date":"no"}`, `field "parse_date"`},
		{`{"apply":"always","attribute_block_name":"#attrs"}`, `unknown field "attribute_block_name"`},
	} {
		if _, err := jsontoxml.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

func BenchmarkConvert(b *testing.B) {
	h := sdktest.New()
	body := []byte(`{"pets":[` + strings.Repeat(`{"id":1,"name":"Rex","tags":["a","b"]},`, 50) + `{"id":2}]}`)
	att := sdktest.Attach(jsontoxml.Name, `{"apply":"always","consider_accept_header":false}`)
	for b.Loop() {
		h.Do(sdktest.Request{Method: "POST", Body: body}, att)
	}
}

// FuzzConvert checks that every JSON value encoding/json accepts converts
// to well-formed XML, and that a string's text survives the round trip.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{`{"a":"x\u00e9\ud83d\ude00\ud800 <&>'\"\t"}`, `[1,[2,[3]],{"":null}]`, `"\u0000\u001f\ufffe"`,
		`{"a b":{"c":[true,false,-1.5e3]}}`, "\"\xff\xfe\"", `{"2024":"2024-01-02T03:04:05+01:00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := jsontoxml.Convert(nil, in, false, 0)
		if !json.Valid(in) {
			if err == nil {
				t.Fatalf("invalid JSON accepted: %q", in)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "nested deeper") {
				return
			}
			t.Fatalf("%q: %v", in, err)
		}
		d := xml.NewDecoder(bytes.NewReader(out))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q → %q: not XML: %v", in, out, err)
			}
		}
		var s string
		if json.Unmarshal(in, &s) == nil {
			var doc struct {
				Text string `xml:",chardata"`
			}
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			want := strings.Map(func(r rune) rune {
				if r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 {
					return r
				}
				return 0xFFFD
			}, s)
			if doc.Text != want {
				t.Fatalf("%q: text %q, want %q", in, doc.Text, want)
			}
		}
	})
}

func TestEmptyBodyUntouched(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(jsontoxml.Name, `{"apply":"always","consider_accept_header":false}`))
	if res.Err != nil || res.Status != 200 || res.Upstream == nil || len(res.Upstream.Body) != 0 || res.Upstream.Header.Get("Content-Type") != "" {
		t.Errorf("%+v", res)
	}
}
