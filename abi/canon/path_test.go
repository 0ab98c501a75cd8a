package canon

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

type pathCase struct {
	in     string
	want   string // canonical path when reason == ""
	reason string // expected error reason (the text after "bad request path: ")
}

var pathCases = []pathCase{
	// Already canonical.
	{in: "/", want: "/"},
	{in: "/a", want: "/a"},
	{in: "/a/", want: "/a/"},
	{in: "/a/b/c", want: "/a/b/c"},
	{in: "/api/v1/users/42/orders", want: "/api/v1/users/42/orders"},
	{in: "/café", want: "/café"},
	{in: "/a;b=c/d", want: "/a;b=c/d"},
	{in: "/a+b", want: "/a+b"},
	{in: "/.a/..b/a./b../.../a.b", want: "/.a/..b/a./b../.../a.b"},
	{in: "/a:b@c&d=e$f,g", want: "/a:b@c&d=e$f,g"},

	// Dot segments, raw and encoded.
	{in: "/a/./b", want: "/a/b"},
	{in: "/a/../b", want: "/b"},
	{in: "/a/%2e%2e/b", want: "/b"},
	{in: "/a/%2E%2e/b", want: "/b"},
	{in: "/a/.%2e/b", want: "/b"},
	{in: "/a/%2e./b", want: "/b"},
	{in: "/a/%2e/b", want: "/a/b"},
	{in: "/a/%2E/b", want: "/a/b"},
	{in: "/.", want: "/"},
	{in: "/./", want: "/"},
	{in: "/a/..", want: "/"},
	{in: "/a/../", want: "/"},
	{in: "/a/.", want: "/a/"},
	{in: "/a/./", want: "/a/"},
	{in: "/a/b/..", want: "/a/"},
	{in: "/a/b/%2e%2e", want: "/a/"},
	{in: "/a/b/../../c", want: "/c"},
	{in: "/a/b/../..", want: "/"},
	{in: "/a/b;x/../c", want: "/a/c"},
	{in: "/a/./../b/./c/.", want: "/b/c/"},
	{in: "/a/.../b", want: "/a/.../b"},

	// Slashes.
	{in: "/a//b", want: "/a/b"},
	{in: "//", want: "/"},
	{in: "///a///b///", want: "/a/b/"},
	{in: "//a", want: "/a"},
	{in: "/a//../b", want: "/b"}, // collapse first, as path.Clean and nginx do
	{in: "/a/.//b", want: "/a/b"},

	// Decoding.
	{in: "/caf%C3%A9", want: "/café"},
	{in: "/caf%c3%a9", want: "/café"},
	{in: "/a%20b", want: "/a b"},
	{in: "/%61%62", want: "/ab"},
	{in: "/%7e", want: "/~"},
	{in: "/a%25b", want: "/a%b"},
	{in: "/a%3Fb%23c", want: "/a?b#c"},
	{in: "/a%252e%252e/b", want: "/a%2e%2e/b"}, // decoded once only
	{in: "/a%252fb", want: "/a%2fb"},
	{in: "/a%3bb", want: "/a;b"},
	{in: "/%E2%82%AC", want: "/€"},

	// Shape.
	{in: "", reason: "empty path"},
	{in: "a/b", reason: "path must start with /"},
	{in: "*", reason: "path must start with /"},
	{in: "%2Fa", reason: "path must start with /"},
	{in: "http://h/a", reason: "path must start with /"},
	{in: " /a", reason: "path must start with /"},

	// Percent escapes.
	{in: "/%", reason: "invalid percent-encoding"},
	{in: "/%z1", reason: "invalid percent-encoding"},
	{in: "/%4", reason: "invalid percent-encoding"},
	{in: "/a%", reason: "invalid percent-encoding"},
	{in: "/a%g0", reason: "invalid percent-encoding"},
	{in: "/a%0g", reason: "invalid percent-encoding"},
	{in: "/%%30", reason: "invalid percent-encoding"},
	{in: "/a%2", reason: "invalid percent-encoding"},

	// Encoded slash.
	{in: "/a%2Fb", reason: "encoded slash"},
	{in: "/a%2fb", reason: "encoded slash"},
	{in: "/%2F", reason: "encoded slash"},
	{in: "/a/..%2F..%2Fb", reason: "encoded slash"},

	// Backslash.
	{in: "/a%5cb", reason: "backslash"},
	{in: "/a%5Cb", reason: "backslash"},
	{in: "/a\\b", reason: "backslash"},
	{in: "/\\", reason: "backslash"},
	{in: "/a/..%5c..%5cb", reason: "backslash"},

	// NUL and control bytes.
	{in: "/a%00b", reason: "NUL byte"},
	{in: "/a\x00b", reason: "NUL byte"},
	{in: "/a%0ab", reason: "control character"},
	{in: "/a%0D%0Ab", reason: "control character"},
	{in: "/a\nb", reason: "control character"},
	{in: "/a\rb", reason: "control character"},
	{in: "/a\tb", reason: "control character"},
	{in: "/a%09b", reason: "control character"},
	{in: "/a%1fb", reason: "control character"},
	{in: "/a\x1fb", reason: "control character"},
	{in: "/a%7fb", reason: "control character"},
	{in: "/a%7Fb", reason: "control character"},
	{in: "/a\x7fb", reason: "control character"},

	// Above the root.
	{in: "/..", reason: "dot-segment above root"},
	{in: "/../", reason: "dot-segment above root"},
	{in: "/../a", reason: "dot-segment above root"},
	{in: "/%2e%2e/x", reason: "dot-segment above root"},
	{in: "/%2E%2E", reason: "dot-segment above root"},
	{in: "/a/../..", reason: "dot-segment above root"},
	{in: "/a/b/../../..", reason: "dot-segment above root"},
	{in: "/./..", reason: "dot-segment above root"},
	{in: "//..//a", reason: "dot-segment above root"},

	// Dot segments with ";" parameters (servlet containers drop them).
	{in: "/..;/admin", reason: "dot-segment with parameters"},
	{in: "/a/..;/b", reason: "dot-segment with parameters"},
	{in: "/a/..;x=1/b", reason: "dot-segment with parameters"},
	{in: "/a/.;/b", reason: "dot-segment with parameters"},
	{in: "/a/.;jsessionid=1", reason: "dot-segment with parameters"},
	{in: "/a/%2e%2e;/b", reason: "dot-segment with parameters"},
	{in: "/a/..%3b/b", reason: "dot-segment with parameters"},

	// UTF-8.
	{in: "/%ff", reason: "invalid UTF-8"},
	{in: "/\xff", reason: "invalid UTF-8"},
	{in: "/caf%C3", reason: "invalid UTF-8"},
	{in: "/caf\xc3", reason: "invalid UTF-8"},
	{in: "/%C0%AF", reason: "invalid UTF-8"},       // overlong "/"
	{in: "/%C0%AE%C0%AE", reason: "invalid UTF-8"}, // overlong ".."
	{in: "/%ED%A0%80", reason: "invalid UTF-8"},    // UTF-16 surrogate

	// Length.
	{in: "/" + strings.Repeat("a", maxPathLen-1), want: "/" + strings.Repeat("a", maxPathLen-1)},
	{in: "/" + strings.Repeat("a", maxPathLen), reason: "path too long"},
	{in: "/" + strings.Repeat("%61", maxPathLen-1), want: "/" + strings.Repeat("a", maxPathLen-1)},
	{in: "/" + strings.Repeat("%61", maxPathLen), reason: "path too long"},
	{in: "/" + strings.Repeat("a/", maxPathLen), reason: "path too long"},
	{in: "/" + strings.Repeat("a", 4*maxPathLen), reason: "path too long"},
	// The cap applies before dot segments are resolved.
	{in: strings.Repeat("/a/..", maxPathLen/5+1), reason: "path too long"},
}

func TestCanonicalPath(t *testing.T) {
	for _, tc := range pathCases {
		got, err := CanonicalPath(tc.in)
		if tc.reason == "" {
			if err != nil || got != tc.want {
				t.Errorf("CanonicalPath(%.80q) = %.80q, %v; want %.80q, nil", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("CanonicalPath(%.80q) = %.80q, nil; want error %q", tc.in, got, tc.reason)
			continue
		}
		if got != "" {
			t.Errorf("CanonicalPath(%.80q) returned %.80q with error", tc.in, got)
		}
		if !errors.Is(err, ErrBadPath) {
			t.Errorf("CanonicalPath(%.80q) error %v does not wrap ErrBadPath", tc.in, err)
		}
		if want := "bad request path: " + tc.reason; err.Error() != want {
			t.Errorf("CanonicalPath(%.80q) error %q; want %q", tc.in, err, want)
		}
	}
}

// TestCanonicalPathErrorsDoNotEchoInput checks that error messages are safe
// to show a client.
func TestCanonicalPathErrorsDoNotEchoInput(t *testing.T) {
	const marker = "SeCrEt<script>"
	for _, in := range []string{
		"/" + marker + "%2F", "/" + marker + "%", "/" + marker + "\\", "/" + marker + "%00",
		"/" + marker + "/../..", "/" + marker + "%ff", marker, "/" + marker + "/..;/",
		"/" + marker + strings.Repeat("a", maxPathLen),
	} {
		_, err := CanonicalPath(in)
		if err == nil {
			t.Fatalf("CanonicalPath(%.40q) succeeded", in)
		}
		if strings.Contains(err.Error(), "SeCrEt") || strings.Contains(err.Error(), "<") {
			t.Errorf("error for %.40q echoes input: %q", in, err)
		}
	}
}

func TestCanonicalPathCleanIsZeroAlloc(t *testing.T) {
	for _, in := range []string{"/", "/a", "/a/", "/api/v1/users/42/orders", "/café/x", "/a;b/.c"} {
		got, err := CanonicalPath(in)
		if err != nil || got != in {
			t.Fatalf("CanonicalPath(%q) = %q, %v", in, got, err)
		}
		if unsafe.StringData(got) != unsafe.StringData(in) {
			t.Errorf("CanonicalPath(%q) returned a copy, want the input itself", in)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = CanonicalPath(in) }); n != 0 {
			t.Errorf("CanonicalPath(%q): %v allocs, want 0", in, n)
		}
	}
}

func TestCanonicalPathDirtyAllocs(t *testing.T) {
	// One allocation (the result string) for a path that fits the stack
	// buffer; none for a rejected one.
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"/a/./b//c/%2e%2e/caf%C3%A9", 1},
		{"/a%2Fb", 0},
		{"/../a", 0},
	} {
		if n := testing.AllocsPerRun(100, func() { _, _ = CanonicalPath(tc.in) }); n > tc.want {
			t.Errorf("CanonicalPath(%q): %v allocs, want <= %v", tc.in, n, tc.want)
		}
	}
}

func TestEscapePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b/", "/a/b/"},
		{"/a b", "/a%20b"},
		{"/a?b", "/a%3Fb"},
		{"/a#b", "/a%23b"},
		{"/a%b", "/a%25b"},
		{"/a%2e%2e/b", "/a%252e%252e/b"},
		{"/café", "/caf%C3%A9"},
		{"/a:b@c;d=e&f+g$h,i", "/a:b@c;d=e&f+g$h,i"},
		{"/a-b_c.d~e", "/a-b_c.d~e"},
	} {
		if got := EscapePath(tc.in); got != tc.want {
			t.Errorf("EscapePath(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if got, want := EscapePath(tc.in), (&url.URL{Path: tc.in}).EscapedPath(); got != want {
			t.Errorf("EscapePath(%q) = %q; url.URL.EscapedPath gives %q", tc.in, got, want)
		}
	}
	in := "/api/v1/users/42/orders"
	if got := EscapePath(in); unsafe.StringData(got) != unsafe.StringData(in) {
		t.Errorf("EscapePath(%q) returned a copy", in)
	}
	if n := testing.AllocsPerRun(100, func() { _ = EscapePath(in) }); n != 0 {
		t.Errorf("EscapePath(%q): %v allocs, want 0", in, n)
	}
}

// TestFastPathAgreesWithSlowPath checks that every input the zero-alloc
// fast path accepts is one the full decoder maps to itself.
func TestFastPathAgreesWithSlowPath(t *testing.T) {
	for _, tc := range pathCases {
		if tc.in == "" || tc.in[0] != '/' || len(tc.in) > 3*maxPathLen || !isCanonical(tc.in) {
			continue
		}
		got, err := canonicalSlow(tc.in)
		if err != nil || got != tc.in {
			t.Errorf("isCanonical(%.80q) but canonicalSlow = %.80q, %v", tc.in, got, err)
		}
	}
}

// refCanonical is an independent, deliberately naive implementation of the
// CanonicalPath rules, used as an oracle. It reports ok=false for inputs
// CanonicalPath must reject.
func refCanonical(s string) (string, bool) {
	if s == "" || s[0] != '/' {
		return "", false
	}
	// Decode each raw segment separately: a '/' inside a decoded segment
	// can only have come from %2F.
	var decoded []string
	for _, raw := range strings.Split(s[1:], "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil || strings.Contains(seg, "/") {
			return "", false
		}
		decoded = append(decoded, seg)
	}
	full := "/" + strings.Join(decoded, "/")
	if len(full) > maxPathLen || !utf8.ValidString(full) || strings.Contains(full, "\\") {
		return "", false
	}
	for i := 0; i < len(full); i++ {
		if full[i] < 0x20 || full[i] == 0x7f {
			return "", false
		}
	}
	var stack []string
	trailing := strings.HasSuffix(s, "/")
	for _, seg := range decoded {
		switch {
		case seg == "":
			continue
		case seg == ".":
			trailing = true
		case seg == "..":
			if len(stack) == 0 {
				return "", false
			}
			stack = stack[:len(stack)-1]
			trailing = true
		case strings.HasPrefix(seg, ".;"), strings.HasPrefix(seg, "..;"):
			return "", false
		default:
			stack = append(stack, seg)
			trailing = strings.HasSuffix(s, "/")
		}
	}
	// trailing is now: the last non-empty segment was a dot segment, or the
	// input ends in '/'.
	out := "/" + strings.Join(stack, "/")
	if trailing && len(stack) > 0 {
		out += "/"
	}
	return out, true
}

// checkCanonical checks everything that must hold for in and
// out, err := CanonicalPath(in).
func checkCanonical(t *testing.T, in, out string, err error) {
	t.Helper()
	ref, refOK := refCanonical(in)
	if err != nil {
		if !errors.Is(err, ErrBadPath) {
			t.Fatalf("CanonicalPath(%q): error %v does not wrap ErrBadPath", in, err)
		}
		if out != "" {
			t.Fatalf("CanonicalPath(%q) returned %q with an error", in, out)
		}
		if refOK {
			t.Fatalf("CanonicalPath(%q) = %v; reference accepts it as %q", in, err, ref)
		}
		return
	}
	if !refOK {
		t.Fatalf("CanonicalPath(%q) = %q; reference rejects it", in, out)
	}
	if out != ref {
		t.Fatalf("CanonicalPath(%q) = %q; reference gives %q", in, out, ref)
	}
	if out == "" || out[0] != '/' {
		t.Fatalf("CanonicalPath(%q) = %q: does not start with /", in, out)
	}
	for _, bad := range []string{"//", "/./", "/../", "\x00", "\\"} {
		if strings.Contains(out, bad) {
			t.Fatalf("CanonicalPath(%q) = %q: contains %q", in, out, bad)
		}
	}
	for _, bad := range []string{"/..", "/."} {
		if strings.HasSuffix(out, bad) {
			t.Fatalf("CanonicalPath(%q) = %q: ends in %q", in, out, bad)
		}
	}
	for i := 0; i < len(out); i++ {
		if out[i] < 0x20 || out[i] == 0x7f {
			t.Fatalf("CanonicalPath(%q) = %q: control byte", in, out)
		}
	}
	if !utf8.ValidString(out) || len(out) > maxPathLen {
		t.Fatalf("CanonicalPath(%q) = %q: invalid UTF-8 or too long", in, out)
	}
	// Already clean in the path.Clean sense, apart from a kept trailing slash.
	clean := path.Clean(out)
	if out != "/" && strings.HasSuffix(out, "/") {
		clean += "/"
	}
	if clean != out {
		t.Fatalf("CanonicalPath(%q) = %q: path.Clean gives %q", in, out, clean)
	}
	// Round trip through the upstream form.
	esc := EscapePath(out)
	again, err := CanonicalPath(esc)
	if err != nil || again != out {
		t.Fatalf("CanonicalPath(EscapePath(%q) = %q) = %q, %v; want %q", out, esc, again, err, out)
	}
	// The upstream form parses back to the same path and nothing else.
	u, err := url.Parse(esc)
	if err != nil || u.Path != out || u.RawQuery != "" || u.Fragment != "" || u.Host != "" {
		t.Fatalf("url.Parse(EscapePath(%q) = %q) = %+v, %v", out, esc, u, err)
	}
	// The zero-alloc fast path only ever accepts canonical inputs.
	if isCanonical(in) && out != in {
		t.Fatalf("isCanonical(%q) but CanonicalPath gives %q", in, out)
	}
}

var propTokens = []string{
	"/", "/", "/", "//", ".", "..", "...", "%2e", "%2E", "%2e%2e", ".%2E",
	"a", "b", "z9", "café", "%C3%A9", "%c3", "%a9", "%ff", "%C0%AF", "\xff",
	"%2F", "%2f", "%5C", "\\", "%00", "\x00", "%0a", "\n", "%7f", "%09",
	"%", "%4", "%z1", "%25", "%252e", "%3F", "?", "#", "%23", " ", "%20",
	";", "%3b", "..;", ".;x", "+", "~", "-", "_", ":", "@", "&", "=",
}

// TestCanonicalPathProperties generates random paths from tokens that hit
// every rule and checks CanonicalPath against the reference and the
// invariants in checkCanonical.
func TestCanonicalPathProperties(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	r := rand.New(rand.NewPCG(1, 2))
	ok := 0
	var b strings.Builder
	for range n {
		b.Reset()
		if r.IntN(50) != 0 { // occasionally omit the leading slash
			b.WriteByte('/')
		}
		for range r.IntN(12) {
			b.WriteString(propTokens[r.IntN(len(propTokens))])
		}
		in := b.String()
		out, err := CanonicalPath(in)
		checkCanonical(t, in, out, err)
		if err == nil {
			ok++
		}
	}
	// Make sure both outcomes were exercised in quantity.
	if ok < n/20 || ok > n-n/20 {
		t.Fatalf("%d of %d generated paths were accepted; generator is unbalanced", ok, n)
	}
}

func TestCanonicalPathTableProperties(t *testing.T) {
	for _, tc := range pathCases {
		out, err := CanonicalPath(tc.in)
		checkCanonical(t, tc.in, out, err)
	}
}

func FuzzCanonicalPath(f *testing.F) {
	// The committed corpus in testdata/fuzz/FuzzCanonicalPath holds the
	// seeds; these few keep `go test` meaningful even without it.
	for _, s := range []string{"/", "/a/./b/../c", "/%2e%2e/x", "/a%2Fb", "/caf%C3%A9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CanonicalPath(in)
		checkCanonical(t, in, out, err)
		if in != "" && in[0] == '/' && len(in) <= 3*maxPathLen && isCanonical(in) {
			slow, err := canonicalSlow(in)
			if err != nil || slow != in {
				t.Fatalf("isCanonical(%q) but canonicalSlow = %q, %v", in, slow, err)
			}
		}
	})
}

func BenchmarkCanonicalPathClean(b *testing.B) {
	in := "/api/v1/customers/1234567/orders/latest"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalPath(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalPathDirty(b *testing.B) {
	in := "/api/v1//customers/./1234567/%2e%2e/7654321/orders/caf%C3%A9/"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalPath(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEscapePath(b *testing.B) {
	in := "/api/v1/customers/1234567/orders/latest"
	b.ReportAllocs()
	for b.Loop() {
		_ = EscapePath(in)
	}
}
