package vcache

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi/respcache"
)

func TestPurger(t *testing.T) {
	now := time.Now()
	c := New(100, 1<<20)
	p := Purger{C: c}
	set := func(k string) {
		if err := c.Set(k, []byte("v"), time.Minute, now); err != nil {
			t.Fatal(err)
		}
	}
	u1 := respcache.URLPart("API.example.com", "/shop/items/1")
	u2 := respcache.URLPart("api.example.com", "/shop/items/2")
	long := respcache.URLPart("api.example.com", "/shop/"+string(make([]byte, 300)))
	for _, u := range []string{u1, u2, long} {
		set(string(respcache.AppendURLKey(nil, u)))
		set(string(respcache.AppendVariantKey(nil, u, respcache.APIPart("shop"), []byte("q=a"))))
		set(string(respcache.AppendVariantKey(nil, u, respcache.APIPart("shop"), []byte("q=b"))))
	}
	set("ns1:" + string(respcache.AppendVariantKey(nil, u1, respcache.APIPart("other"), []byte("q="))))
	set("gatehouse-value:k")
	if c.Len() != 11 {
		t.Fatalf("len %d", c.Len())
	}
	n, err := p.PurgeURL("https://api.EXAMPLE.com/shop/items/./1?x=1")
	if err != nil || n != 4 {
		t.Errorf("PurgeURL = %d, %v; want the record, 2 variants and the namespaced one", n, err)
	}
	if n := p.PurgeAPI("shop"); n != 4 {
		t.Errorf("PurgeAPI = %d, want the 4 remaining variants of shop", n)
	}
	if c.Len() != 3 { // two URL records and the value
		t.Errorf("len %d after the purges: %q", c.Len(), c.Keys())
	}
	if _, ok := c.Get("gatehouse-value:k", now); !ok {
		t.Error("a value-cache entry was purged")
	}
	for _, bad := range []string{"/shop/items/1", "ftp://h/x", "http:///x", "http://h/a%2Fb", "http://h/../x", "http://h/%zz"} {
		if _, err := p.PurgeURL(bad); err == nil {
			t.Errorf("PurgeURL(%q) accepted", bad)
		}
	}
}
