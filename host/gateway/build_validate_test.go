package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// An incremental build skips the checks of the APIs the serving snapshot
// already holds unchanged, and only those: a removed module their steps
// name, a changed API's bad step and a new API's duplicate prefix are each
// still refused, and the serving snapshot stays.
func TestIncrementalValidateSkipsOnlyUnchanged(t *testing.T) {
	ctx := context.Background()
	builtin := hosttest.Guest(t, "plugins/builtin")
	ext := hosttest.Guest(t, "examples/ua-filter")
	e, err := engine.New(ctx, engine.Options{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	base := &Config{Modules: []ModuleSpec{{Name: "ext", Wasm: ext}}, APIs: []API{
		{Name: "a", PathPrefix: "/a", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Policies: Policy{Inbound: []Step{{Module: "ext", Policy: "ua-filter", Config: []byte(`{"deny":["bot"]}`)}}}},
		{Name: "b", PathPrefix: "/b", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true, Policies: Policy{Inbound: setHeader("b")}},
	}}
	src := NewStaticSource(base, "")
	g, err := New(Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	served := g.cur.Load()
	for _, tc := range []struct {
		name, want string
		change     func(c *Config)
	}{
		{"module removed", `unknown module "ext"`, func(c *Config) { c.Modules = nil }},
		{"changed API's bad step", "fail_mode", func(c *Config) { c.APIs[1].Policies.Inbound[0].FailMode = "bogus" }},
		{"new API's duplicate prefix", "duplicate path prefix", func(c *Config) {
			c.APIs = append(c.APIs, API{Name: "c", PathPrefix: "/a/", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true})
		}},
	} {
		c := cloneConfig(base)
		tc.change(c)
		src.Set(c)
		err := g.Reload(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: reload error %v, want one about %q", tc.name, err, tc.want)
		}
		if g.cur.Load() != served {
			t.Fatalf("%s: the serving snapshot changed", tc.name)
		}
	}
	// An unchanged config is accepted with every part reused.
	src.Set(cloneConfig(base))
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if s := g.cur.Load(); s.reused != 2 {
		t.Fatalf("%d parts reused, want 2", s.reused)
	}
}
