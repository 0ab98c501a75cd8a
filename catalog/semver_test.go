package catalog_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestCompareSemver(t *testing.T) {
	order := []string{"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "10.0.0"}
	for i := range order {
		for j := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := catalog.CompareSemver(order[i], order[j]); got != want {
				t.Errorf("CompareSemver(%s, %s) = %d; want %d", order[i], order[j], got, want)
			}
		}
	}
	if catalog.CompareSemver("1.0.0+a", "1.0.0+b") != 0 {
		t.Error("build metadata must not order versions")
	}
}

func TestResolveModule(t *testing.T) {
	mods := func(versions ...string) []catalog.Module {
		var out []catalog.Module
		for _, v := range versions {
			out = append(out, catalog.Module{Name: "m", Version: v}, catalog.Module{Name: "other", Version: "9.9.9"})
		}
		return out
	}
	for _, c := range []struct {
		uploaded []string
		ref      string
		want     string // "" = not found
	}{
		{[]string{"1.2.0", "1.10.0"}, "m", "1.10.0"},
		{[]string{"1.10.0", "1.2.0"}, "m", "1.10.0"},
		{[]string{"1.0.0", "2.0.0-rc.1"}, "m", "1.0.0"},             // releases first
		{[]string{"1.0.0-rc.2", "1.0.0-rc.10"}, "m", "1.0.0-rc.10"}, // only pre-releases
		{[]string{"0.1.0+aaaa", "0.1.0+bbbb"}, "m", "0.1.0+bbbb"},   // equal precedence: the later upload
		{[]string{"1.0.0", "1.10.0"}, "m@1.0.0", "1.0.0"},           // pinned
		{[]string{"1.0.0"}, "m@2.0.0", ""},
		{[]string{"1.0.0"}, "nope", ""},
	} {
		got, ok := catalog.ResolveModule(mods(c.uploaded...), c.ref)
		if (c.want == "") == ok || (ok && (got.Version != c.want || got.Name != "m")) {
			t.Errorf("ResolveModule(%v, %q) = %q %v; want %q", c.uploaded, c.ref, got.Version, ok, c.want)
		}
	}
}
