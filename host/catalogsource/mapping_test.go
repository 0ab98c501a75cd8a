package catalogsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// step renders a gateway step compactly: "base" or "module/policy".
func steps(sec []gateway.Step) []string {
	out := []string{}
	for _, s := range sec {
		if s.Base {
			out = append(out, "base")
			continue
		}
		out = append(out, s.Module+"/"+s.Policy)
	}
	return out
}

func TestLoadMapping(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	mod := func(name, version string) {
		t.Helper()
		must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: name, Version: version,
			Wasm: []byte("\x00asm\x01\x00\x00\x00" + name + version), Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	}
	mod("builtin", "1.0.0")
	for _, v := range []string{"1.0.0", "1.10.0", "1.9.0", "2.0.0-rc.1"} {
		mod("m", v)
	}
	mod("solo", "0.1.0")
	mod("pre", "1.0.0-alpha")
	mod("pre", "1.0.0-beta.2")
	mod("pre", "1.0.0-beta.11")

	set := func(d catalog.PolicyDoc) {
		t.Helper()
		if err := st.SetPolicy(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	a := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1", SubscriptionRequired: true, KeyHeader: "X-Key", AllowQueryKey: true}))
	b := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "b", Name: "b", PathPrefix: "/b", BackendURL: "http://127.0.0.1:1", SubscriptionRequired: true}))
	c := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "c", Name: "c", PathPrefix: "/c", BackendURL: "http://127.0.0.1:1"}))
	aGet := must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "get", Method: "GET", URLTemplate: "/x"}))
	must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "post", Method: "POST", URLTemplate: "/x"}))
	bReplace := must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: b.ID, Name: "replace", Method: "GET", URLTemplate: "/r"}))
	bBefore := must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: b.ID, Name: "before", Method: "GET", URLTemplate: "/b"}))
	bAfter := must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: b.ID, Name: "after", Method: "GET", URLTemplate: "/a"}))
	prod := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{Name: "P"}))

	set(catalog.PolicyDoc{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{{Module: "builtin", Policy: "g"}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: aGet.ID, Outbound: []catalog.PolicyEntry{{Module: "m@1.0.0", Policy: "pinned"}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: b.ID,
		Inbound: []catalog.PolicyEntry{{Module: "m", Policy: "latest"}, {Base: true}},
		OnError: []catalog.PolicyEntry{{Module: "solo"}, {Module: "builtin", Policy: "fb", FailMode: catalog.FailFallback, Fallback: "solo"}},
	})
	set(catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: bReplace.ID, Inbound: []catalog.PolicyEntry{{Module: "builtin", Policy: "only"}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: bBefore.ID, Inbound: []catalog.PolicyEntry{{Module: "pre", Policy: "first"}, {Base: true}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: bAfter.ID, Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "builtin", Policy: "last"}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: c.ID, Inbound: []catalog.PolicyEntry{{Module: "m@2.0.0-rc.1", Policy: "rc"}}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeProduct, ScopeID: prod.ID, Inbound: []catalog.PolicyEntry{{Module: "builtin", Policy: "p"}}})

	src := catalogsource.New(st)
	cfg, dir, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != "" {
		t.Errorf("dir = %q", dir)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("gateway rejects the config: %v", err)
	}
	if v, _ := st.Version(ctx); cfg.Version != v {
		t.Errorf("config version %d, catalog %d", cfg.Version, v)
	}

	// Modules: "m" is referenced at two versions, so both specs carry the
	// version in their names; "builtin" is the embedded one.
	var specs []string
	for _, m := range cfg.Modules {
		if len(m.Wasm) == 0 {
			t.Errorf("module %s has no bytes", m.Name)
		}
		specs = append(specs, m.Name+"="+m.Version)
	}
	want := []string{"m@1.0.0=1.0.0", "m@1.10.0=1.10.0", "m@2.0.0-rc.1=2.0.0-rc.1", "pre=1.0.0-beta.11", "solo=0.1.0"}
	if !reflect.DeepEqual(specs, want) {
		t.Errorf("modules = %v; want %v", specs, want)
	}
	if string(cfg.Modules[1].Wasm) != "\x00asm\x01\x00\x00\x00m1.10.0" {
		t.Errorf("m@1.10.0 has the bytes of another version")
	}

	if got := steps(cfg.Policies.Inbound); !reflect.DeepEqual(got, []string{"/g"}) {
		t.Errorf("global inbound = %v", got)
	}
	api := map[string]gateway.API{}
	for _, x := range cfg.APIs {
		api[x.Name] = x
	}
	if ga := api["a"]; ga.PathPrefix != "/a" || ga.Backend != "http://127.0.0.1:1" {
		t.Errorf("api a = %+v", ga)
	}
	// a: no API document → [subscription-key, base].
	ai := api["a"].Policies.Inbound
	if got := steps(ai); !reflect.DeepEqual(got, []string{"/subscription-key", "base"}) {
		t.Errorf("a inbound = %v", got)
	}
	var kc map[string]any
	if err := json.Unmarshal(ai[0].Config, &kc); err != nil || kc["header"] != "X-Key" || kc["query"] != catalog.DefaultKeyQuery || kc["allow_query"] != true {
		t.Errorf("subscription-key config = %s", ai[0].Config)
	}
	ops := api["a"].Operations
	if len(ops) != 2 || ops[0].ID != "get" || ops[1].ID != "post" || ops[0].Template != "/x" || ops[1].Method != "POST" {
		t.Errorf("a operations = %+v", ops)
	}
	if got := steps(ops[0].Policies.Outbound); !reflect.DeepEqual(got, []string{"m@1.0.0/pinned"}) {
		t.Errorf("a.get outbound = %v", got)
	}
	if ops[0].Policies.Inbound != nil {
		t.Errorf("a.get inbound = %v; want absent (inherits)", steps(ops[0].Policies.Inbound))
	}

	// b: an API document → the check is prepended to it.
	gb := api["b"]
	if got := steps(gb.Policies.Inbound); !reflect.DeepEqual(got, []string{"/subscription-key", "m@1.10.0/latest", "base"}) {
		t.Errorf("b inbound = %v (unpinned m is the newest release)", got)
	}
	if got := steps(gb.Policies.OnError); !reflect.DeepEqual(got, []string{"solo/solo", "/fb"}) {
		t.Errorf("b on-error = %v (empty policy = module name)", got)
	}
	if fm := gb.Policies.OnError[1].FailMode; fm != catalog.FailClosed {
		t.Errorf("fallback entry fail mode = %q; want closed", fm)
	}
	bops := map[string][]string{}
	for _, o := range gb.Operations {
		bops[o.ID] = steps(o.Policies.Inbound)
	}
	wantOps := map[string][]string{
		// No base: replaces the API's section, but the check stays first.
		"replace": {"/subscription-key", "/only"},
		// Steps before base are flattened behind the check.
		"before": {"/subscription-key", "pre/first", "m@1.10.0/latest", "/g"},
		// base first: the API's chain (check first) runs, then the step.
		"after": {"base", "/last"},
	}
	if !reflect.DeepEqual(bops, wantOps) {
		t.Errorf("b operations inbound = %v; want %v", bops, wantOps)
	}
	if got := steps(api["c"].Policies.Inbound); !reflect.DeepEqual(got, []string{"m@2.0.0-rc.1/rc"}) {
		t.Errorf("c inbound = %v (no subscription required, pinned pre-release)", got)
	}

	sk := strings.Join(src.Skipped(), "\n")
	// The product document is no longer skipped (product scope is served).
	if len(src.Skipped()) != 1 || strings.Contains(sk, "product/"+prod.ID) || !strings.Contains(sk, "fallback") {
		t.Errorf("skipped = %q", sk)
	}
}

func TestLoadFailsOnMissingModule(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "gone", Version: "1.0.0", Wasm: []byte("x"), Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{{Module: "gone"}}}); err != nil {
		t.Fatal(err)
	}
	// The store refuses to delete a module a policy uses, so a load never
	// meets a dangling reference made through the store.
	if err := st.DeleteModule(ctx, "gone", "1.0.0"); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("deleting a module in use: %v", err)
	}
}

func TestLookupSubscription(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "b", Name: "b", PathPrefix: "/b", BackendURL: "http://127.0.0.1:1"}))
	u := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "u@example.com", Name: "U"}))
	p := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{Name: "P"}))
	if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: a.ID}); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	all, kAll, _, _ := st.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAll, State: catalog.StateActive, ExpiresAt: &exp})
	_, kProd, _, _ := st.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID, State: catalog.StateActive})
	_, kAPI, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAPI, ScopeID: a.ID, State: catalog.StateSubmitted})
	if err != nil {
		t.Fatal(err)
	}
	src := catalogsource.New(st)
	// Before any Load the API maps are read once on demand.
	for _, tc := range []struct {
		key, api, state, scope string
		allowed                bool
	}{
		{kAll, "b", "active", "all", true},
		{kProd, "a", "active", "product", true},
		{kProd, "b", "active", "product", false},
		{kAPI, "a", "submitted", "api", true},
		{kAPI, "b", "submitted", "api", false},
	} {
		sub, ok, err := src.LookupSubscription(ctx, tc.key, tc.api)
		if err != nil || !ok || sub.State != tc.state || sub.Scope != tc.scope || sub.APIAllowed != tc.allowed || sub.User != u.ID {
			t.Errorf("%s key on %s: %+v %v %v", tc.scope, tc.api, sub, ok, err)
		}
		if tc.scope == "product" && sub.Product != p.ID {
			t.Errorf("product = %q", sub.Product)
		}
	}
	if _, ok, err := src.LookupSubscription(ctx, "not-a-key", "a"); ok || err != nil {
		t.Errorf("unknown key: %v %v", ok, err)
	}
	src.Now = func() time.Time { return exp.Add(time.Second) }
	if sub, _, _ := src.LookupSubscription(ctx, kAll, "a"); sub.State != "expired" || sub.ID != all.ID {
		t.Errorf("after expiry: %+v", sub)
	}
}
