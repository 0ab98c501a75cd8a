package respcache

import (
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	u := URLPart("API.Example.com:8080", "/shop/items/1")
	if u != "api.example.com:8080/shop/items/1" {
		t.Errorf("URLPart = %q", u)
	}
	long := URLPart("h", "/"+strings.Repeat("x", 300))
	if !strings.HasPrefix(long, "#") || len(long) != 65 || long == URLPart("h2", "/"+strings.Repeat("x", 300)) {
		t.Errorf("long URLPart = %q", long)
	}
	if APIPart("shop") != "shop" || !strings.HasPrefix(APIPart(strings.Repeat("a", 65)), "#") || !strings.HasPrefix(APIPart("#x"), "#") || APIPart("#x") == "#x" {
		t.Error("APIPart")
	}
	for _, tc := range []struct {
		key  string
		want Key
		ok   bool
	}{
		{string(AppendURLKey(nil, u)), Key{URL: u}, true},
		{"ns:" + string(AppendVariantKey(nil, u, "shop", []byte("q=1\x00h:Accept=x"))), Key{URL: u, Variant: true, API: "shop"}, true},
		{string(AppendVariantKey(nil, long, APIPart("shop"), []byte(strings.Repeat("v", 500)))), Key{URL: long, Variant: true, API: "shop"}, true},
		{"gatehouse-value:k", Key{}, false},
		{Prefix + "abc", Key{}, false},
		{Prefix + "abc\x00x", Key{}, false},
		{Prefix + "abc\x00uextra", Key{}, false},
		{Prefix + "abc\x00vshop", Key{}, false},
	} {
		got, ok := Parse(tc.key)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %+v %v, want %+v %v", tc.key, got, ok, tc.want, tc.ok)
		}
		if v := IsVariant([]byte(tc.key)); v != (ok && got.Variant) {
			t.Errorf("IsVariant(%q) = %v", tc.key, v)
		}
	}
	k := AppendVariantKey(nil, URLPart(strings.Repeat("h", 300), "/"), APIPart(strings.Repeat("a", 300)), []byte(strings.Repeat("v", 1000)))
	if len(k) > MaxKey {
		t.Errorf("key of %d bytes, MaxKey %d", len(k), MaxKey)
	}
	if MaxKey > 480 {
		t.Errorf("MaxKey %d leaves too little room under the host's 512 bytes for a namespace", MaxKey)
	}
}

// FuzzKeys: every key built from any host, path, API and variant is at
// most MaxKey bytes and parses back to its parts.
func FuzzKeys(f *testing.F) {
	f.Add("api.example.com", "/shop/items/1", "shop", "q=1")
	f.Add("H\x00", "/#", "#a\x00", "#")
	f.Fuzz(func(t *testing.T, host, path, api, variant string) {
		u, a := URLPart(host, path), APIPart(api)
		k := string(AppendVariantKey(nil, u, a, []byte(variant)))
		if len(k) > MaxKey {
			t.Fatalf("key of %d bytes", len(k))
		}
		got, ok := Parse(k)
		if !ok || !got.Variant || got.URL != u || got.API != a {
			t.Fatalf("Parse(%q) = %+v %v", k, got, ok)
		}
		if got, ok := Parse(string(AppendURLKey(nil, u))); !ok || got.Variant || got.URL != u {
			t.Fatalf("URL key: %+v %v", got, ok)
		}
		if !IsVariant([]byte(k)) || IsVariant(AppendURLKey(nil, u)) {
			t.Fatalf("IsVariant disagrees with Parse on %q", k)
		}
		raw := host + path + api + variant
		pk, ok := Parse(raw)
		if IsVariant([]byte(raw)) != (ok && pk.Variant) {
			t.Fatalf("IsVariant(%q) disagrees with Parse", raw)
		}
	})
}
