package catalog_test

import (
	"errors"
	"slices"
	"sort"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/catalog"
)

// The catalog's copy of the capability names matches the ABI's.
func TestCapabilitiesMatchABI(t *testing.T) {
	var want []string
	for _, f := range abi.HostFuncs() {
		want = append(want, f.Cap)
	}
	sort.Strings(want)
	want = slices.Compact(want)
	if got := catalog.Capabilities(); !slices.Equal(got, want) {
		t.Fatalf("catalog.Capabilities() = %v, abi has %v", got, want)
	}
}

func TestResolveGranted(t *testing.T) {
	mod := func(v string, req, granted []string) catalog.Module {
		return catalog.Module{Name: "m", Version: v, Manifest: catalog.ModuleManifest{Capabilities: req}, Grant: catalog.ModuleGrant{Capabilities: granted}}
	}
	c := []string{"counters"}
	mods := []catalog.Module{mod("1.0.0", c, c), mod("1.1.0", c, c), mod("2.0.0", c, nil)}
	for _, tc := range []struct {
		ref, want string
		err       error
	}{
		{"m", "1.1.0", nil}, // 2.0.0 is not granted: the newest granted runs
		{"m@1.0.0", "1.0.0", nil},
		{"m@2.0.0", "", catalog.ErrInvalid},
		{"x", "", catalog.ErrNotFound},
	} {
		got, err := catalog.ResolveGranted(mods, tc.ref)
		if !errors.Is(err, tc.err) || got.Version != tc.want {
			t.Errorf("ResolveGranted(%q) = %q, %v; want %q, %v", tc.ref, got.Version, err, tc.want, tc.err)
		}
	}
	if _, err := catalog.ResolveGranted(mods[2:], "m"); err == nil || err.Error() != "module m@2.0.0 is not granted capability counters (an admin grants it: gatehouse plugin grant m 2.0.0 --all)" {
		t.Errorf("no granted version: %v", err)
	}
	// The built-in module is granted by construction.
	b := catalog.Module{Name: "builtin", Version: "1.0.0", Manifest: catalog.ModuleManifest{Capabilities: c}}
	if m := b.MissingGrants(); m != nil {
		t.Errorf("builtin misses %v", m)
	}
}

func TestEgressDest(t *testing.T) {
	for _, ok := range []string{"api.example.com", "*.example.com", "10.0.0.0/8", "192.0.2.1", "[2001:db8::1]:443", "api.example.com:8443", "2001:db8::/32"} {
		if err := catalog.ValidateEgressDest(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "http://x", "API.example.com", "a..b", "-a.b", "x:0", "x:99999", "a b", "*.", "x/y"} {
		if err := catalog.ValidateEgressDest(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
