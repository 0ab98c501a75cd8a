package gateway

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// describeSnapshot renders what a snapshot serves, independent of plan and
// attachment ids: per API in order its state, its routes (template,
// methods, operation) with each route's effective chain (every stage's
// module, policies, configs, fail mode, limits, product condition and
// re-run plan), and its preflight route. A plan or attachment no longer
// registered in its module shows as MISSING.
func describeSnapshot(t *testing.T, s *snapshot) string {
	t.Helper()
	var b strings.Builder
	plan := func(m *engine.Module, p *engine.Plan) string {
		var out []string
		for _, a := range m.PlanAttachments(p) {
			if a == nil {
				out = append(out, "MISSING")
				continue
			}
			out = append(out, a.Policy+"="+string(a.Config))
		}
		return strings.Join(out, ";")
	}
	ch := func(c chain) {
		for i, sec := range c {
			fmt.Fprintf(&b, "    %s:", sectionNames[i])
			for _, st := range sec {
				// The module by identity: both builds share the registry,
				// so the same loaded module is the same pointer.
				fmt.Fprintf(&b, " [%s@%s(%p) %s fm=%s opts=%+v cond=%q only=%v except=%v body=%v trace=%v plan=%s rerun=%s]",
					st.mod.Name, st.mod.Version, st.mod, st.label, st.failMode, st.opts, st.cond, st.only, st.except, st.body, st.trace,
					plan(st.mod, st.plan), plan(st.mod, st.rerun))
			}
			b.WriteString("\n")
		}
	}
	for i, ia := range s.routes.apis {
		p := s.parts[i]
		as := p.state
		fmt.Fprintf(&b, "api %s prefix=%q backend=%v limit=%d timeout=%v sensitive=%v secrets=%v egress=%q\n",
			as.cfg.Name, ia.prefix, as.backend, as.bodyLimit, as.timeout, as.sensitive, as.secrets, p.egressSig)
		for _, r := range ia.router.routes {
			rt := r.h
			fmt.Fprintf(&b, "  route %s %q regexp=%v op=%q tmpl=%q catchAll=%v\n", r.tmpl, r.method, r.fallback != nil, rt.opID, rt.tmpl, rt.catchAll)
			ch(*rt.chain)
		}
		if ia.preflight != nil {
			b.WriteString("  preflight\n")
			ch(*ia.preflight.chain)
		}
	}
	subs := make([]string, 0, len(s.subs))
	for k, v := range s.subs {
		subs = append(subs, fmt.Sprintf("%s=%+v", k, v))
	}
	slices.Sort(subs)
	fmt.Fprintf(&b, "subs %v\n", subs)
	return b.String()
}

// cloneConfig deep-copies the parts of a Config the random writes change.
func cloneConfig(c *Config) *Config {
	n := *c
	n.APIs = make([]API, len(c.APIs))
	for i := range c.APIs {
		n.APIs[i] = cloneAPI(&c.APIs[i])
	}
	n.Policies = clonePolicy(c.Policies)
	n.Subscriptions = slices.Clone(c.Subscriptions)
	n.SecretValues = slices.Clone(c.SecretValues)
	n.Modules = slices.Clone(c.Modules)
	return &n
}

func setHeader(v string) []Step {
	return []Step{{Policy: "set-header", Config: []byte(fmt.Sprintf(`{"name":"X-T","value":%q}`, v))}}
}

// TestIncrementalBuildMatchesFull applies a seeded random sequence of
// catalog writes (an API's policy, an operation's, the global policy, APIs
// and operations added, removed and moved, backends, subscriptions, secret
// values, a module's identity) and after each one checks the served
// snapshot, built incrementally from the one before, against a full build
// of the same config: the same routes and the same effective chains. It
// also checks that writes which touch one API reuse every other part, and
// that once every snapshot is released no plan or attachment is left.
func TestIncrementalBuildMatchesFull(t *testing.T) {
	ctx := context.Background()
	builtin := hosttest.Guest(t, "plugins/builtin")
	ext := hosttest.Guest(t, "examples/ua-filter")
	e, err := engine.New(ctx, engine.Options{CacheDir: TestCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	rng := rand.New(rand.NewSource(15))
	cfg := &Config{Modules: []ModuleSpec{{Name: "ext", Wasm: ext, Namespace: "ext1"}},
		Subscriptions: []StaticSubscription{{ID: "s0", Key: "k0"}}}
	newAPI := func(i int) API {
		a := API{Name: fmt.Sprintf("api%d", i), PathPrefix: fmt.Sprintf("/p%d", i), Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Policies: Policy{Inbound: setHeader(fmt.Sprint(i))}}
		for j := 0; j < rng.Intn(4); j++ {
			a.Operations = append(a.Operations, Operation{ID: fmt.Sprintf("op%d", j), Method: "GET", Template: fmt.Sprintf("/r%d/{id}", j)})
		}
		if rng.Intn(3) == 0 {
			a.Policies.Inbound = append(a.Policies.Inbound, Step{Module: "ext", Policy: "ua-filter", Config: []byte(`{"deny":["bot"]}`)})
		}
		return a
	}
	for i := 0; i < 30; i++ {
		cfg.APIs = append(cfg.APIs, newAPI(i))
	}
	src := NewStaticSource(cfg, "")
	g, err := New(Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	nextID := len(cfg.APIs)
	kinds := map[string]int{}
	for step := 0; step < 150; step++ {
		cfg = cloneConfig(cfg)
		n := len(cfg.APIs)
		i := rng.Intn(n)
		a := &cfg.APIs[i]
		was := cloneAPI(a)
		kind := ""
		oneAPI := true // the write touches API i only
		switch k := rng.Intn(13); k {
		case 0:
			kind = "api policy"
			a.Policies.Inbound = setHeader(fmt.Sprint(step))
		case 1:
			kind = "operation policy"
			if len(a.Operations) == 0 {
				a.Operations = append(a.Operations, Operation{ID: "new", Method: "POST", Template: "/new"})
			}
			o := &a.Operations[rng.Intn(len(a.Operations))]
			if rng.Intn(2) == 0 {
				o.Policies.Inbound = append([]Step{{Base: true}}, setHeader(fmt.Sprint(step))...)
			} else {
				o.Policies = Policy{}
			}
		case 2:
			kind = "global policy"
			oneAPI = false
			cfg.Policies.Outbound = setHeader(fmt.Sprint(step))
		case 3:
			kind = "add API"
			oneAPI = false
			cfg.APIs = slices.Insert(cfg.APIs, i, newAPI(nextID))
			nextID++
		case 4:
			kind = "delete API"
			oneAPI = false
			if n > 5 {
				cfg.APIs = slices.Delete(cfg.APIs, i, i+1)
			}
		case 5:
			kind = "add operation"
			a.Operations = append(a.Operations, Operation{ID: fmt.Sprintf("x%d", step), Method: "*", Template: fmt.Sprintf("/x%d", step)})
		case 6:
			kind = "delete operations"
			a.Operations = nil
		case 7:
			kind = "prefix"
			a.PathPrefix = fmt.Sprintf("/moved%d", step)
		case 8:
			kind = "backend"
			a.Backend = fmt.Sprintf("http://127.0.0.%d:1", 2+rng.Intn(200))
		case 9:
			kind = "subscription"
			oneAPI = false
			cfg.Subscriptions = append(cfg.Subscriptions, StaticSubscription{ID: fmt.Sprint(step), Key: fmt.Sprintf("k%d", step)})
		case 10:
			kind = "revoke"
			oneAPI = false
			cfg.Subscriptions[rng.Intn(len(cfg.Subscriptions))].State = "suspended"
		case 11:
			kind = "secret values"
			oneAPI = false
			cfg.SecretValues = append(cfg.SecretValues, fmt.Sprint(step))
		case 12:
			kind = "module identity"
			oneAPI = false
			cfg.Modules[0].Namespace = fmt.Sprintf("ext%d", step)
		}
		kinds[kind]++
		src.Set(cfg)
		before := g.cur.Load()
		if err := g.Reload(ctx); err != nil {
			t.Fatalf("step %d (%s): %v", step, kind, err)
		}
		inc := g.cur.Load()
		if inc == before {
			t.Fatalf("step %d: no new snapshot", step)
		}
		want := len(cfg.APIs) - 1
		if oneAPI && reflect.DeepEqual(&was, &cfg.APIs[i]) {
			want++ // the write changed nothing
		}
		if oneAPI && inc.reused != want {
			t.Fatalf("step %d (%s): reused %d of %d parts, want %d", step, kind, inc.reused, len(cfg.APIs), want)
		}
		if (kind == "subscription" || kind == "revoke") && inc.reused != len(cfg.APIs) {
			t.Fatalf("step %d (%s): reused %d of %d parts, want all", step, kind, inc.reused, len(cfg.APIs))
		}
		full, err := g.buildFrom(ctx, g.opts.Source.(*StaticSource).cfg, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if want, got := describeSnapshot(t, full), describeSnapshot(t, inc); got != want {
			t.Fatalf("step %d (%s): incremental snapshot differs from a full build\nfull:\n%s\nincremental:\n%s", step, kind, want, got)
		}
		if strings.Contains(describeSnapshot(t, inc), "MISSING") {
			t.Fatalf("step %d (%s): a plan of the serving snapshot was released", step, kind)
		}
		full.release()
	}
	t.Logf("writes: %v", kinds)
	mods := g.Modules()
	if len(mods) == 0 {
		t.Fatal("no module loaded")
	}
	g.Close()
	for _, m := range mods {
		if a, p := m.Registered(); a != 0 || p != 0 {
			t.Errorf("module %s: %d attachments and %d plans left after every snapshot was released", m.Name, a, p)
		}
	}
}
