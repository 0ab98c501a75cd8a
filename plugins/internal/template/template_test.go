package template

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tp, err := Parse("value", "a{{b}}{header.X-A}{query.q}{path.id}{var.v.x}{request.method}{request.path}z")
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{{Literal, "a{b}"}, {Header, "X-A"}, {Query, "q"}, {Path, "id"}, {Var, "v.x"}, {Method, ""}, {RequestPath, ""}, {Literal, "z"}}
	if len(tp.Segs) != len(want) {
		t.Fatalf("segs = %v", tp.Segs)
	}
	for i := range want {
		if tp.Segs[i] != want[i] {
			t.Errorf("seg %d = %v, want %v", i, tp.Segs[i], want[i])
		}
	}
	if s, ok := tp.Static(); ok || s != "" {
		t.Error("Static of a template with references")
	}
	if tp, _ := Parse("v", "plain"); tp == nil {
		t.Fatal("nil")
	} else if s, ok := tp.Static(); !ok || s != "plain" {
		t.Errorf("Static = %q %v", s, ok)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"{foo}", "unknown reference {foo}"},
		{"{cookie.x}", "unknown reference {cookie.x}"},
		{"{header.}", "unknown reference"},
		{"{header.a b}", "unknown reference"},
		{"{header.a:b}", "not a valid header name"},
		{"{request.body}", "unknown reference"},
		{"abc{header.X", "unclosed {"},
		{"a}b", "unmatched }"},
		{"{var." + strings.Repeat("x", 129) + "}", "at most 128"},
	} {
		_, err := Parse("body", tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "body: ") {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}
