package conf

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type cfg struct {
		Name  string   `json:"name"`
		Calls int      `json:"calls"`
		List  []string `json:"list"`
	}
	for _, tc := range []struct{ in, err string }{
		{`{"name":"a","calls":1}`, ""},
		{``, ""},
		{`  {}  `, ""},
		{`{"nme":"a"}`, `unknown field "nme"`},
		{`{"calls":"1"}`, `field "calls": expected a number, got string`},
		{`{"list":"x"}`, `field "list": expected a list, got string`},
		{`{"name":1}`, `field "name": expected a string, got number`},
		{`{"name":"a"} {}`, "unexpected data after the config object"},
		{`{"name":`, "unexpected EOF"},
		{`[]`, "config must be a JSON object"},
		{`{"name":"a",}`, "invalid JSON"},
	} {
		var c cfg
		err := Decode([]byte(tc.in), &c)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Decode(%s) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestHeaderChecks(t *testing.T) {
	if HeaderName("name", "X-Ok") != nil || HeaderName("name", "") == nil || HeaderName("name", "a b") == nil ||
		HeaderName("name", "connection") == nil || HeaderName("name", "Content-Length") == nil {
		t.Error("HeaderName")
	}
	if HeaderValue("value", "ok") != nil || HeaderValue("value", "a\nb") == nil {
		t.Error("HeaderValue")
	}
	if got := string(ErrorBody(429, `say "hi"`)); got != `{"statusCode":429,"message":"say \"hi\""}` {
		t.Errorf("ErrorBody = %s", got)
	}
}

func TestCanonicalHeader(t *testing.T) {
	for in, want := range map[string]string{"x-foo": "X-Foo", "CONTENT-TYPE": "Content-Type", "a--b": "A--B", "": "", "x_y": "X_y"} {
		if got := CanonicalHeader(in); got != want {
			t.Errorf("CanonicalHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
