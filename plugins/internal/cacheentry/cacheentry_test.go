package cacheentry

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	hs := []Header{{"Content-Type", "application/json"}, {"X-A", "1"}, {"X-A", ""}}
	b := Append([]byte("junk"), 200, hs, []byte(`{"a":1}`))
	e, err := Decode(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != 200 || !reflect.DeepEqual(e.Headers, hs) || string(e.Body) != `{"a":1}` {
		t.Errorf("entry = %+v", e)
	}
	e, err = Decode(Append(nil, 204, nil, nil))
	if err != nil || e.Status != 204 || len(e.Headers) != 0 || len(e.Body) != 0 {
		t.Errorf("empty entry = %+v, %v", e, err)
	}
}

func TestCorrupt(t *testing.T) {
	good := Append(nil, 200, []Header{{"A", "b"}}, []byte("body"))
	for i := range 6 {
		if _, err := Decode(good[:i]); err == nil {
			t.Errorf("truncated to %d decoded", i)
		}
	}
	for _, b := range [][]byte{nil, {2, 200, 1, 0}, {1, 0x80}, {1, 50, 0}, {1, 200, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%v) succeeded", b)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, 200, []Header{{"Content-Type", "text/plain"}}, []byte("hello")))
	f.Add([]byte{1, 200, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		again := Append(nil, e.Status, e.Headers, e.Body)
		e2, err := Decode(again)
		if err != nil || e2.Status != e.Status || len(e2.Headers) != len(e.Headers) || !bytes.Equal(e2.Body, e.Body) {
			t.Fatalf("re-encoding %v changed it", b)
		}
	})
}
