package rewriteuri

import (
	"net/url"
	"testing"
)

func TestAppendQueryEscape(t *testing.T) {
	for _, v := range []string{"", "abc", "a b&c=d/é\r\n%~._-", "\x00\xff"} {
		if got, want := string(appendQueryEscape(nil, v)), url.QueryEscape(v); got != want {
			t.Errorf("appendQueryEscape(%q) = %q, want %q", v, got, want)
		}
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = appendQueryEscape(buf[:0], "a b&c") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestIsDotLike(t *testing.T) {
	for s, want := range map[string]bool{".": true, "..": true, ".;a": true, "..;a": true, "...": false, ".a": false, "a..": false, "": false} {
		if isDotLike(s) != want {
			t.Errorf("isDotLike(%q) = %v", s, !want)
		}
	}
}
