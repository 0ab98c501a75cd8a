package cacheentry

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	hs := []Header{{"Content-Type", "application/json"}, {"X-A", "1"}, {"X-A", ""}}
	in := Entry{Status: 200, RequestTime: 1700000000000, ResponseTime: 1700000000100, InitialAge: 3000, Lifetime: 60000,
		StoreSeconds: 300, SWR: -1, SIE: 30, Flags: FlagMustRevalidate, Headers: hs, Body: []byte(`{"a":1}`)}
	b := Append([]byte("junk"), &in)
	e, err := Decode(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e, in) {
		t.Errorf("entry = %+v\nwant    %+v", e, in)
	}
	if e.Get("X-A") != "1" || len(e.Values("X-A")) != 2 || e.Get("Nope") != "" {
		t.Errorf("Get/Values: %q %q", e.Get("X-A"), e.Values("X-A"))
	}
	e, err = Decode(Append(nil, &Entry{Status: 204, SWR: -1, SIE: -1}))
	if err != nil || e.Status != 204 || len(e.Headers) != 0 || len(e.Body) != 0 || e.SWR != -1 {
		t.Errorf("empty entry = %+v, %v", e, err)
	}
}

func TestCorrupt(t *testing.T) {
	good := Append(nil, &Entry{Status: 200, Headers: []Header{{"A", "b"}}, Body: []byte("body")})
	for i := range 14 {
		if _, err := Decode(good[:i]); err == nil {
			t.Errorf("truncated to %d decoded", i)
		}
	}
	for _, b := range [][]byte{nil, {1, 200, 1, 0}, {2, 'u', 0, 0}, {2, 'e', 0x80}, {2, 'e', 50, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%v) succeeded", b)
		}
	}
	if _, err := DecodeURLRecord(Append(nil, &Entry{Status: 200})); err == nil {
		t.Error("an entry decoded as a URL record")
	}
}

func TestURLRecordAndPending(t *testing.T) {
	r := URLRecord{InvalidatedAt: 42, Vary: []string{"Accept", "Accept-Language"}}
	got, err := DecodeURLRecord(AppendURLRecord(nil, &r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("record = %+v, %v", got, err)
	}
	if _, err := DecodeURLRecord(append(AppendURLRecord(nil, &r), 'x')); err == nil {
		t.Error("trailing bytes accepted")
	}
	p := Pending{RequestTime: 99, Auth: true, URL: "h/p", API: "a", Base: []byte("q=1\x00x")}
	got2, ok := DecodePending(string(AppendPending(nil, &p)))
	if !ok || !reflect.DeepEqual(got2, p) {
		t.Errorf("pending = %+v, %v", got2, ok)
	}
	if _, ok := DecodePending(""); ok {
		t.Error("empty pending decoded")
	}
}

func TestAppendVariant(t *testing.T) {
	h := http.Header{"Accept-Language": {"en ,  fr", "de"}}
	got := string(AppendVariant(nil, []byte("b"), []string{"Accept", "Accept-Language"}, h))
	if got != "b\x00Accept=\x00Accept-Language=en,fr,de" {
		t.Errorf("variant = %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, &Entry{Status: 200, Headers: []Header{{"Content-Type", "text/plain"}}, Body: []byte("hello")}))
	f.Add(AppendURLRecord(nil, &URLRecord{InvalidatedAt: 1, Vary: []string{"Accept"}}))
	f.Add([]byte{2, 'e', 200, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeURLRecord(b); err == nil {
			if r2, err := DecodeURLRecord(AppendURLRecord(nil, &r)); err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("re-encoding the record %v changed it", b)
			}
		}
		e, err := Decode(b)
		if err != nil {
			return
		}
		again := Append(nil, &e)
		e2, err := Decode(again)
		if err != nil || e2.Status != e.Status || len(e2.Headers) != len(e.Headers) || !bytes.Equal(e2.Body, e.Body) || e2.Lifetime != e.Lifetime {
			t.Fatalf("re-encoding %v changed it", b)
		}
	})
}
