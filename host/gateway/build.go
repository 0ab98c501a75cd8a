package gateway

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/engine"
)

// A snapshot build compiles a Config in named steps (builder): validate,
// the inputs every API shares, one apiPart per API — taken over from the
// previous snapshot when nothing it was built from changed, compiled
// otherwise — then the route index over the parts. A catalog write to one
// API rebuilds that API's part only; a subscription write rebuilds none
// (the route index and the subscription map are the only per-build work
// over all APIs, both linear).

// apiPart is what one API compiles to: its state, router, preflight route
// and the engine plans its effective chains registered. Consecutive
// snapshots share a part while the API, the shared inputs (global policy,
// secret values), its egress and the modules it runs are unchanged; the
// last snapshot holding it releases its plans and module references.
// (The shared inputs include what an API's egress depends on besides the
// API: the global allow-list and the modules' granted egress.)
type apiPart struct {
	api       API // as configured; compared field by field on the next build
	state     *apiState
	router    *apiRouter
	preflight *route
	egressSig string // the API's egress Scope, own backend and allow-list
	egressKey string // its transport (apiEgress)
	// mods are the modules its steps run, by the name steps give them
	// ("builtin" for ""), each retained once by the part; plans are the
	// engine plans it registered, with the module of each. Slices, not
	// maps: a part runs one or two modules, and 10,000 parts held 20,000
	// small maps.
	mods  []partModule
	plans []partPlan
	refs  atomic.Int64 // snapshots holding the part
}

type partModule struct {
	name string
	ref  *moduleRef
}

type partPlan struct {
	ref  *moduleRef
	plan *engine.Plan
}

func (p *apiPart) retain() { p.refs.Add(1) }

func (p *apiPart) release() {
	if p.refs.Add(-1) != 0 {
		return
	}
	// one Release per run of plans of one module (usually all of them)
	for i := 0; i < len(p.plans); {
		j := i
		batch := make([]*engine.Plan, 0, len(p.plans)-i)
		for ; j < len(p.plans) && p.plans[j].ref == p.plans[i].ref; j++ {
			batch = append(batch, p.plans[j].plan)
		}
		p.plans[i].ref.mod.Release(batch)
		i = j
	}
	for _, m := range p.mods {
		m.ref.release()
	}
}

// sharedInputs are the parts of a Config every API's part depends on
// besides its own API, its egress and its modules.
type sharedInputs struct {
	policies    Policy
	secrets     []string
	egressAllow []string            // Config.EgressAllow
	modEgress   map[string][]string // module name → GrantedEgress
	// modNames are the configured module names in order; not compared by
	// equal (a part checks its own modules), but an API's validation is
	// skipped only while they are the same (buildFrom).
	modNames []string
}

func (a sharedInputs) equal(b sharedInputs) bool {
	return slices.Equal(a.secrets, b.secrets) && slices.Equal(a.egressAllow, b.egressAllow) &&
		reflect.DeepEqual(a.modEgress, b.modEgress) && reflect.DeepEqual(a.policies, b.policies)
}

func sharedOf(cfg *Config) sharedInputs {
	in := sharedInputs{policies: cfg.Policies, secrets: cfg.SecretValues, egressAllow: cfg.EgressAllow, modEgress: map[string][]string{}}
	in.modNames = make([]string, len(cfg.Modules))
	for i, m := range cfg.Modules {
		in.modNames[i] = m.Name
		if len(m.GrantedEgress) > 0 {
			in.modEgress[m.Name] = m.GrantedEgress
		}
	}
	return in
}

// builder holds one snapshot build's state.
type builder struct {
	g       *Gateway
	ctx     context.Context
	cfg     *Config
	baseDir string
	s       *snapshot
	specs   map[string]ModuleSpec
	loaded  map[string]*moduleRef // module name → ref the snapshot holds
	// prev are the previous snapshot's parts by API name (nil when the
	// shared inputs changed: every part is rebuilt).
	prev         map[string]*apiPart
	same         []bool // by API index, when compared with prev's (buildFrom)
	globalEgress rule.AllowList
	modEgress    map[string]rule.AllowList
	// strs and lists intern what most APIs compute equal (stage labels,
	// redacted query names): one copy per build instead of one per API.
	strs  map[string]string
	lists map[string][]string
}

// str returns the build's copy of s.
func (b *builder) str(s string) string {
	if c, ok := b.strs[s]; ok {
		return c
	}
	if b.strs == nil {
		b.strs = map[string]string{}
	}
	b.strs[s] = s
	return s
}

// list returns the build's copy of l (read only, as every user of it).
func (b *builder) list(l []string) []string {
	k := strings.Join(l, "\x00")
	if c, ok := b.lists[k]; ok && slices.Equal(c, l) {
		return c
	}
	if b.lists == nil {
		b.lists = map[string][]string{}
	}
	b.lists[k] = l
	return l
}

// build compiles a Config into a snapshot, reusing the parts of the
// serving snapshot (if any) that cfg leaves unchanged.
func (g *Gateway) build(ctx context.Context, cfg *Config, baseDir string) (*snapshot, error) {
	return g.buildFrom(ctx, cfg, baseDir, g.cur.Load())
}

// buildFrom compiles cfg reusing prev's unchanged parts (prev nil: a full
// build). prev must stay alive for the duration (the caller holds it).
func (g *Gateway) buildFrom(ctx context.Context, cfg *Config, baseDir string, prev *snapshot) (*snapshot, error) {
	shared := sharedOf(cfg)
	// same[i]: API i is the one prev compiled, under the same shared
	// inputs and module names, so its own checks passed then (validate
	// skips them) and its part may be reused (part).
	var same []bool
	if prev != nil && prev.shared.equal(shared) && slices.Equal(prev.shared.modNames, shared.modNames) {
		same = make([]bool, len(cfg.APIs))
		for i := range cfg.APIs {
			a := &cfg.APIs[i]
			if p := prev.byName[a.Name]; p != nil && reflect.DeepEqual(&p.api, a) {
				same[i] = true
			}
		}
	}
	if err := cfg.validate(same); err != nil {
		return nil, err
	}
	s := &snapshot{version: cfg.Version, subs: make(map[string]StaticSubscription, len(cfg.Subscriptions)), built: time.Now(),
		byName: make(map[string]*apiPart, len(cfg.APIs)), shared: shared}
	b := &builder{g: g, ctx: ctx, cfg: cfg, baseDir: baseDir, s: s, specs: map[string]ModuleSpec{}, loaded: map[string]*moduleRef{}, same: same}
	ok := false
	defer func() {
		if !ok {
			for _, p := range s.parts {
				p.release()
			}
			for _, m := range s.mods {
				m.release()
			}
		}
	}()
	if err := b.shared(prev); err != nil {
		return nil, err
	}
	for i := range cfg.APIs {
		a := &cfg.APIs[i]
		p, err := b.part(a, b.same != nil && b.same[i])
		if err != nil {
			return nil, err
		}
		s.parts = append(s.parts, p)
		s.byName[a.Name] = p
	}
	b.index()
	for _, sub := range cfg.Subscriptions {
		s.subs[sub.Key] = sub
	}
	s.refs.Store(1)
	ok = true
	return s, nil
}

// shared prepares what every API uses: module specs, the global and the
// modules' egress, and the previous parts when the shared inputs match.
func (b *builder) shared(prev *snapshot) error {
	for _, m := range b.cfg.Modules {
		b.specs[m.Name] = m
	}
	var err error
	if b.globalEgress, err = rule.ParseAllowList(b.cfg.EgressAllow); err != nil {
		return fmt.Errorf("egress_allow: %w", err)
	}
	if b.modEgress, err = moduleEgress(b.cfg); err != nil {
		return err
	}
	b.s.egressKeys = map[string]bool{}
	if prev != nil && prev.shared.equal(b.s.shared) {
		b.prev = prev.byName
	}
	return nil
}

// index builds the route index over the parts, in configuration order.
func (b *builder) index() {
	b.s.routes = newRouteIndex()
	for _, p := range b.s.parts {
		b.s.routes.add(p.state.prefix, p.router, p.preflight)
		b.s.egressKeys[p.egressKey] = true
		b.s.needClientCert = b.s.needClientCert || p.state.clientCert != nil
	}
}

// module returns the loaded module a step names ("" = the built-in),
// loading it once per snapshot.
func (b *builder) module(name string) (*moduleRef, error) {
	if name == "" {
		name = "builtin"
	}
	if r, ok := b.loaded[name]; ok {
		return r, nil
	}
	g := b.g
	var spec ModuleSpec
	if name == "builtin" {
		if g.opts.Builtin == nil {
			return nil, fmt.Errorf("module builtin: the built-in policies were not built into this binary (run make build)")
		}
		spec = ModuleSpec{Name: "builtin", Version: g.opts.BuiltinVersion, Wasm: g.opts.Builtin, MinInstances: 1, MaxInstances: 4, trusted: !g.opts.GuardBuiltin, builtin: true}
	} else {
		spec = b.specs[name]
		if spec.Wasm == nil {
			p := spec.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(b.baseDir, p)
			}
			w, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("module %s: %v", name, err)
			}
			spec.Wasm = w
		}
	}
	r, err := g.mods.acquire(b.ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	b.s.mods = append(b.s.mods, r)
	b.loaded[name] = r
	return r, nil
}

// part returns the compiled API a: the previous snapshot's part when
// nothing it was built from changed, a new one otherwise.
//
// An API's egress depends on the API, the global allow-list and the egress
// granted to modules (shared inputs), so a reused part keeps its own.
func (b *builder) part(a *API, same bool) (*apiPart, error) {
	if p := b.prev[a.Name]; p != nil && b.sameModules(p) && (same || b.same == nil && reflect.DeepEqual(&p.api, a)) {
		p.retain()
		b.s.reused++
		return p, nil
	}
	scope, tr, key, err := b.g.apiEgress(a, b.globalEgress, grantedEgress(b.cfg, a, b.modEgress))
	if err != nil {
		return nil, fmt.Errorf("api %s: %w", a.Name, err)
	}
	sig := scope.Own() + "\x00" + strings.Join(scope.Allow().Entries(), "\x00")
	api := *a
	if !b.cfg.Immutable {
		api = cloneAPI(a)
	}
	p := &apiPart{api: api, egressSig: sig, egressKey: key}
	p.refs.Store(1)
	if err := b.compileAPI(p, scope, tr); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}

// sameModules reports whether every module p runs resolves to the same
// loaded module now (same name, bytes, grants and namespace).
func (b *builder) sameModules(p *apiPart) bool {
	for _, m := range p.mods {
		r, err := b.module(m.name)
		if err != nil || r != m.ref {
			return false
		}
	}
	return true
}

// compileAPI fills a new part: the API's state, its effective chains
// (operations that inherit unchanged share the API-level chain), its
// router and its preflight route.
func (b *builder) compileAPI(p *apiPart, scope *rule.Scope, tr http.RoundTripper) error {
	g, a := b.g, &p.api
	u, _ := rule.ParseBackend(a.Backend)
	as := &apiState{cfg: a, prefix: strings.TrimSuffix(a.PathPrefix, "/"), backend: u, bodyLimit: a.BodyLimit, timeout: time.Duration(a.BackendTimeout),
		egress: scope, transport: tr, secrets: b.cfg.SecretValues}
	var err error
	if as.clientCert, err = a.compileClientCert(); err != nil {
		return fmt.Errorf("api %s: %w", a.Name, err)
	}
	if as.bodyLimit == 0 {
		as.bodyLimit = 1 << 20
	}
	if as.timeout == 0 {
		as.timeout = 30 * time.Second
	}
	as.sensitive = b.list(g.sensitiveParams(a))
	p.state = as
	routeMet := func(op string) RouteMetrics {
		if g.opts.Metrics == nil {
			return nil
		}
		return g.opts.Metrics.Route(a.Name, op)
	}
	// The API-level chain, compiled once when needed; the routes that
	// inherit it share it.
	var apiChain *chain
	apiLevel := func() (*chain, error) {
		if apiChain == nil {
			c, err := b.effective(p, nil)
			if err != nil {
				return nil, err
			}
			apiChain = &c
		}
		return apiChain, nil
	}
	prefix := as.prefix
	r := newAPIRouter(max(len(a.Operations), 2))
	p.router = r
	for _, o := range a.Operations {
		var ch *chain
		var err error
		if o.Policies.inherits() {
			ch, err = apiLevel()
		} else {
			var c chain
			c, err = b.effective(p, &o.Policies)
			ch = &c
		}
		if err != nil {
			return fmt.Errorf("api %s operation %s: %w", a.Name, o.ID, err)
		}
		rt := &route{api: as, opID: o.ID, tmpl: o.Template, chain: ch, met: routeMet(o.ID)}
		if err := r.add(prefix+o.Template, o.Method, rt); err != nil {
			return fmt.Errorf("api %s operation %s: template %q: %v", a.Name, o.ID, o.Template, err)
		}
	}
	ch, err := apiLevel()
	if err != nil {
		return fmt.Errorf("api %s: %w", a.Name, err)
	}
	// An API with operations also gets an API-level route for CORS
	// preflights, which no operation declares (APIM answers them with
	// the API's cors policy): the API's effective policy, no operation.
	if len(a.Operations) > 0 {
		p.preflight = &route{api: as, chain: ch, catchAll: true, met: routeMet("")}
		return nil
	}
	// Without operations an API forwards everything under its prefix.
	r.addCatchAll(prefix, &route{api: as, chain: ch, catchAll: true, met: routeMet("")})
	return nil
}

// inherits reports whether an operation's policy mentions no section, so
// that its effective chain is the API's.
func (p *Policy) inherits() bool {
	return p.Inbound == nil && p.Backend == nil && p.Outbound == nil && p.OnError == nil
}

// effective compiles the effective chain global → API → operation (op nil:
// the API level) into p's plans.
func (b *builder) effective(p *apiPart, op *Policy) (chain, error) {
	var c chain
	for i := 0; i < numSections; i++ {
		steps := MergeSection(scoped(b.cfg.Policies.section(i), "global"), scoped(p.api.Policies.section(i), "api"))
		if op != nil {
			steps = MergeSection(steps, scoped(op.section(i), "operation"))
		}
		st, err := b.compile(p, steps)
		if err != nil {
			return c, err
		}
		c[i] = st
	}
	return c, nil
}

// use records that p runs ref, retaining it for the part.
func (p *apiPart) use(name string, ref *moduleRef) {
	for _, m := range p.mods {
		if m.name == name {
			return
		}
	}
	ref.retain()
	p.mods = append(p.mods, partModule{name, ref})
}

// compile turns one section's steps into stages: consecutive closed-mode
// steps of one module with the same limits and product condition run as
// one plan (one guest call instead of several).
func (b *builder) compile(p *apiPart, steps []Step) ([]*stage, error) {
	g := b.g
	var out []*stage
	var cur *stage
	var curAtts []*engine.Attachment
	var curRef *moduleRef
	curRerun := -1 // index in curAtts of the stage's reruns policy
	flush := func() error {
		if cur == nil {
			return nil
		}
		pl, err := curRef.mod.NewPlan(curAtts...)
		if err != nil {
			return err
		}
		cur.plan, cur.rerun = pl, pl
		if curRerun > 0 {
			// The re-run starts at the policy that asked for it. Its
			// attachments are attached again: each plan occurrence
			// releases one Attach (engine.Module.Attach).
			again := make([]*engine.Attachment, 0, len(curAtts)-curRerun)
			for _, a := range curAtts[curRerun:] {
				again = append(again, curRef.mod.Attach(a.Policy, a.Config))
			}
			rp, err := curRef.mod.NewPlan(again...)
			if err != nil {
				return err
			}
			cur.rerun = rp
			p.plans = append(p.plans, partPlan{curRef, rp})
		}
		cur.label = b.str(cur.label)
		if g.opts.Metrics != nil {
			cur.met = g.opts.Metrics.Stage(cur.label)
		}
		p.plans = append(p.plans, partPlan{curRef, pl})
		out = append(out, cur)
		cur, curAtts = nil, nil
		return nil
	}
	for _, st := range steps {
		ref, err := b.module(st.Module)
		if err != nil {
			return nil, err
		}
		name := st.Module
		if name == "" {
			name = "builtin"
		}
		p.use(name, ref)
		opts := engine.CallOptions{Deadline: time.Duration(st.Timeout), MaxPages: st.MaxMemoryPages, MaxBody: st.MaxBodyBytes, MaxOutput: st.MaxOutputBytes}
		fm := st.FailMode
		if fm == "" {
			fm = "closed"
		}
		cond := condKey(st)
		// A stage holds at most one policy that may have it re-run
		// (reruns), which the re-run starts from.
		if cur != nil && curRef == ref && fm == "closed" && cur.failMode == "closed" && cur.opts == opts && cur.cond == cond &&
			!(reruns[st.Policy] && curRerun >= 0) {
			if reruns[st.Policy] {
				curRerun = len(curAtts)
			}
			curAtts = append(curAtts, ref.mod.Attach(st.Policy, st.Config))
			cur.label += "," + st.Policy
			cur.trace = append(cur.trace, tracePolicy(ref, st))
			cur.body |= stageBodyUse(ref, st)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		curRef = ref
		cur = &stage{mod: ref.mod, failMode: fm, fallback: st.Fallback, opts: opts, label: ref.name + "/" + st.Policy, cond: cond, body: stageBodyUse(ref, st)}
		curRerun = -1
		if reruns[st.Policy] {
			curRerun = 0
		}
		if len(st.Products) > 0 {
			cur.only = slices.Clone(st.Products)
		} else if len(st.ExceptProducts) > 0 {
			cur.except = slices.Clone(st.ExceptProducts)
		}
		curAtts = []*engine.Attachment{ref.mod.Attach(st.Policy, st.Config)}
		cur.trace = []TracePolicy{tracePolicy(ref, st)}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// cloneAPI deep-copies a (slices and config bytes), so that a part never
// aliases a Config its source may later change in place.
func cloneAPI(a *API) API {
	c := *a
	c.EgressAllow = slices.Clone(a.EgressAllow)
	c.SensitiveQuery = slices.Clone(a.SensitiveQuery)
	c.Policies = clonePolicy(a.Policies)
	if b := a.BackendTLS; b != nil {
		bc := *b
		bc.CAPEM, bc.ClientCertPEM, bc.ClientKeyPEM = slices.Clone(b.CAPEM), slices.Clone(b.ClientCertPEM), slices.Clone(b.ClientKeyPEM)
		c.BackendTLS = &bc
	}
	if cc := a.ClientCertificate; cc != nil {
		ccc := *cc
		ccc.CAPEM, ccc.Thumbprints = slices.Clone(cc.CAPEM), slices.Clone(cc.Thumbprints)
		c.ClientCertificate = &ccc
	}
	if a.Operations != nil {
		c.Operations = make([]Operation, len(a.Operations))
		for i, o := range a.Operations {
			o.Policies = clonePolicy(o.Policies)
			c.Operations[i] = o
		}
	}
	return c
}

func clonePolicy(p Policy) Policy {
	return Policy{Inbound: cloneSteps(p.Inbound), Backend: cloneSteps(p.Backend), Outbound: cloneSteps(p.Outbound), OnError: cloneSteps(p.OnError)}
}

func cloneSteps(steps []Step) []Step {
	if steps == nil {
		return nil
	}
	out := make([]Step, len(steps))
	for i, s := range steps {
		s.Config = slices.Clone(s.Config)
		s.Products = slices.Clone(s.Products)
		s.ExceptProducts = slices.Clone(s.ExceptProducts)
		if s.Fallback != nil {
			f := *s.Fallback
			s.Fallback = &f
		}
		out[i] = s
	}
	return out
}

// routeMetricsPruner is a Metrics whose route cache can forget the routes
// no snapshot serves any more (host/metrics).
type routeMetricsPruner interface {
	RetainRoutes(keep map[[2]string]bool)
}

// retainRouteMetrics tells a pruning Metrics which routes s serves.
func (g *Gateway) retainRouteMetrics(s *snapshot) {
	pr, ok := g.opts.Metrics.(routeMetricsPruner)
	if !ok {
		return
	}
	keep := make(map[[2]string]bool, len(s.parts)*6)
	for _, p := range s.parts {
		keep[[2]string{p.api.Name, ""}] = true
		for _, o := range p.api.Operations {
			keep[[2]string{p.api.Name, o.ID}] = true
		}
	}
	pr.RetainRoutes(keep)
}
