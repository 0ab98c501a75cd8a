package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

var cursorSecret = []byte("0123456789abcdef0123456789abcdef")

func TestCursorRoundTrip(t *testing.T) {
	fh := catalog.FilterHash("", "state=active")
	for _, k := range []catalog.PageKey{{}, {S: "name"}, {N: -1, T: "id"}, {S: strings.Repeat("é", 200), N: 1 << 62, T: "\x00\xff"}} {
		c := catalog.EncodeCursor(cursorSecret, 3, fh, k)
		got, err := catalog.DecodeCursor(cursorSecret, 3, fh, c)
		if err != nil || got != k {
			t.Fatalf("%+v: decoded %+v, %v", k, got, err)
		}
		for name, bad := range map[string]func() (catalog.PageKey, error){
			"other kind":   func() (catalog.PageKey, error) { return catalog.DecodeCursor(cursorSecret, 4, fh, c) },
			"other filter": func() (catalog.PageKey, error) { return catalog.DecodeCursor(cursorSecret, 3, fh+1, c) },
			"other secret": func() (catalog.PageKey, error) { return catalog.DecodeCursor([]byte("x"), 3, fh, c) },
			"truncated":    func() (catalog.PageKey, error) { return catalog.DecodeCursor(cursorSecret, 3, fh, c[:len(c)-1]) },
			"extended":     func() (catalog.PageKey, error) { return catalog.DecodeCursor(cursorSecret, 3, fh, c+"A") },
		} {
			if _, err := bad(); !errors.Is(err, catalog.ErrBadCursor) {
				t.Errorf("%+v %s: %v, want ErrBadCursor", k, name, err)
			}
		}
		// Every single-byte change of the encoded cursor is refused.
		for i := range c {
			b := []byte(c)
			b[i] ^= 0x01
			if _, err := catalog.DecodeCursor(cursorSecret, 3, fh, string(b)); err == nil {
				t.Fatalf("%+v: cursor with byte %d changed (%q) accepted", k, i, b)
			}
		}
	}
	// The filter hash separates its parts: ("a", "bc") is not ("ab", "c").
	if catalog.FilterHash("a", "bc") == catalog.FilterHash("ab", "c") {
		t.Fatal("filter hash does not separate its parts")
	}
}

// FuzzDecodeCursor: decoding never panics, accepts only what the encoder
// makes, and what it accepts encodes back to the same cursor.
func FuzzDecodeCursor(f *testing.F) {
	fh := catalog.FilterHash("", "x=1")
	f.Add(catalog.EncodeCursor(cursorSecret, 1, fh, catalog.PageKey{S: "a", N: 5, T: "b"}))
	f.Add(catalog.EncodeCursor(cursorSecret, 1, fh, catalog.PageKey{}))
	f.Add("")
	f.Add("!!!!")
	f.Add("AQEAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(strings.Repeat("A", 3000))
	f.Fuzz(func(t *testing.T, c string) {
		k, err := catalog.DecodeCursor(cursorSecret, 1, fh, c)
		if err != nil {
			if !errors.Is(err, catalog.ErrBadCursor) {
				t.Fatalf("error %v does not wrap ErrBadCursor", err)
			}
			return
		}
		if again := catalog.EncodeCursor(cursorSecret, 1, fh, k); again != c {
			t.Fatalf("accepted %q, which encodes back as %q", c, again)
		}
	})
}

func TestPageSlice(t *testing.T) {
	var all []int
	for i := 0; i < 10; i++ {
		all = append(all, (i*7)%10) // 0 7 4 1 8 5 2 9 6 3: unsorted
	}
	key := func(v int) catalog.PageKey { return catalog.PageKey{N: int64(v)} }
	for _, desc := range []bool{false, true} {
		var got []string
		p := catalog.PageSlice(all, key, desc, catalog.PageRequest{Limit: 3})
		for {
			got = append(got, fmt.Sprint(p.Items))
			if !p.More {
				break
			}
			next := p.Next
			p = catalog.PageSlice(all, key, desc, catalog.PageRequest{Limit: 3, After: &next})
		}
		want := "[0 1 2] [3 4 5] [6 7 8] [9]"
		if desc {
			want = "[9 8 7] [6 5 4] [3 2 1] [0]"
		}
		if strings.Join(got, " ") != want {
			t.Fatalf("desc=%v: %v, want %s", desc, got, want)
		}
	}
	// Backward from 6: the three before it, in listing order, more before.
	k := catalog.PageKey{N: 6}
	p := catalog.PageSlice(all, key, false, catalog.PageRequest{Limit: 3, After: &k, Backward: true})
	if fmt.Sprint(p.Items) != "[3 4 5]" || !p.More {
		t.Fatalf("backward from 6: %v more=%v", p.Items, p.More)
	}
	k = catalog.PageKey{N: 2}
	p = catalog.PageSlice(all, key, false, catalog.PageRequest{Limit: 3, After: &k, Backward: true})
	if fmt.Sprint(p.Items) != "[0 1]" || p.More {
		t.Fatalf("backward from 2: %v more=%v", p.Items, p.More)
	}
}
