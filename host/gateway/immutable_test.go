package gateway

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// A config its source marks Immutable is kept as it is: the compiled API
// shares the config's operations and policy documents (the catalog at
// 10,000 APIs held them twice); without the mark every API is copied, so
// a source changing its config in place does not change what is served
// (TestIncrementalBuildTransportChanges). Either way the routes of an API
// that inherit its chain share one chain.
func TestImmutableConfigShared(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	mk := func(immutable bool) *Config {
		return &Config{Immutable: immutable, APIs: []API{{Name: "a", PathPrefix: "/a", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Policies: Policy{Inbound: []Step{{Policy: "set-header", Config: []byte(`{"name":"X-A","value":"1"}`)}}},
			Operations: []Operation{
				{ID: "list", Method: "GET", Template: "/items"},
				{ID: "get", Method: "GET", Template: "/items/{id}"},
				{ID: "own", Method: "POST", Template: "/items", Policies: Policy{Inbound: []Step{{Base: true}}}},
			}}}}
	}
	for _, immutable := range []bool{true, false} {
		cfg := mk(immutable)
		g, err := New(Options{Engine: e, Source: NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p := g.cur.Load().byName["a"]
		shared := &p.api.Operations[0] == &cfg.APIs[0].Operations[0] && &p.api.Policies.Inbound[0].Config[0] == &cfg.APIs[0].Policies.Inbound[0].Config[0]
		if shared != immutable {
			t.Errorf("immutable %v: the part shares the config's operations and documents: %v", immutable, shared)
		}
		if p.state.cfg != &p.api {
			t.Errorf("immutable %v: the API state holds a copy of the part's API", immutable)
		}
		rs := p.router.routes
		if len(rs) != 3 || rs[0].h.chain != rs[1].h.chain || rs[0].h.chain == rs[2].h.chain || p.preflight.chain != rs[0].h.chain {
			t.Errorf("immutable %v: inheriting routes and the preflight do not share the API's chain, or the operation with its own policy does", immutable)
		}
		g.Close()
	}
}
