package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/engine"
)

// section indexes.
const (
	secInbound = iota
	secBackend
	secOutbound
	secOnError
	numSections
)

var sectionNames = [numSections]string{"inbound", "backend", "outbound", "on-error"}

func (p *Policy) section(i int) []Step {
	var s []Step
	switch i {
	case secInbound:
		s = p.Inbound
	case secBackend:
		s = p.Backend
	case secOutbound:
		s = p.Outbound
	default:
		s = p.OnError
	}
	return s
}

// MergeSection applies APIM `base` semantics to one section: the child's
// steps with its base step replaced by the parent's effective steps. A nil
// child means the scope does not mention the section, which inherits the
// parent's as it is; an empty, non-nil child replaces it with nothing.
func MergeSection(parent, child []Step) []Step {
	if child == nil {
		return parent
	}
	out := make([]Step, 0, len(parent)+len(child))
	for _, s := range child {
		if s.Base {
			out = append(out, parent...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// stage is one engine call: a plan of one or more steps of one module.
// reruns are the built-in policies that may ask the host to re-run their
// stage (cache-lookup's cache_fill_lease: stampede protection). A stage
// holds at most one of them, and its re-run plan (stage.rerun) starts at
// that policy: the SDK ends the plan right after the policy that asked, so
// the policies after it run once, on the re-run, and the ones before it
// (a subscription-key, a rate-limit) are not run, counted or applied twice.
// Batching is otherwise unchanged: no extra guest call on the hot path.
var reruns = map[string]bool{"cache-lookup": true}

type stage struct {
	mod      *engine.Module
	plan     *engine.Plan
	rerun    *engine.Plan // what a fill-wait re-run calls: plan, or its suffix from the reruns policy
	failMode string
	fallback *Fallback
	opts     engine.CallOptions
	label    string // for logs: module/policy[,policy]
	met      StageMetrics
	// only and except are the step's product conditions (Step.Products,
	// Step.ExceptProducts); cond is their canonical form, so that only
	// steps with equal conditions share a stage.
	only, except []string
	cond         string
	// trace describes the stage's policies in console traces (trace.go).
	trace []TracePolicy
	// body: which bodies the stage's policies may read (body.go).
	body bodyUse
}

// skip reports whether the stage's product condition excludes this call.
func (st *stage) skip(ex *engine.Exchange) bool {
	if st.cond == "" {
		return false
	}
	p := ""
	if ex.Subscription != nil {
		p = ex.Subscription.Product
	}
	if st.only != nil {
		return !slices.Contains(st.only, p)
	}
	return slices.Contains(st.except, p)
}

func condKey(st Step) string {
	if len(st.Products) == 0 && len(st.ExceptProducts) == 0 {
		return ""
	}
	return strings.Join(st.Products, ",") + "|" + strings.Join(st.ExceptProducts, ",")
}

// chain is the effective policy of one operation, as stages per section.
type chain [numSections][]*stage

// route is what a matched request runs.
type route struct {
	api      *apiState
	opID     string
	tmpl     string
	chain    chain
	catchAll bool
	met      RouteMetrics
}

func (r *route) ServeHTTP(http.ResponseWriter, *http.Request) {}

type apiState struct {
	cfg       API
	prefix    string // PathPrefix without a trailing slash
	backend   *url.URL
	bodyLimit int64
	timeout   time.Duration
	sensitive []string          // lower-case query names redacted in call records
	keys      learnedKeys       // query names its subscription checks read (keyquery.go)
	egress    *rule.Scope       // what the API's backends may reach (egress.go)
	transport http.RoundTripper // dials through egress
	// secrets are the values of secret named values the config's
	// policies reference (Config.SecretValues), shared by every API of
	// the snapshot: console traces never show them.
	secrets []string
}

// preflightRoute finds the API-level route for a CORS preflight to path.
func (s *snapshot) preflightRoute(path string) *route {
	return s.routes.preflightRoute(path)
}

// snapshot is an immutable generation of everything a request needs. It is
// reference-counted: the gateway holds one reference while it is current and
// each request holds one while it runs; the last release closes it.
type snapshot struct {
	version int64
	// routes finds a request's route by path prefix, then within its API
	// (router.go); it also holds the API-level routes for CORS preflights.
	routes  *routeIndex
	subs    map[string]StaticSubscription
	refs    atomic.Int64
	mods    []*moduleRef
	plans   map[*moduleRef][]*engine.Plan
	built   time.Time
	onClose func()
	// egressKeys name the backend transports this snapshot's APIs use.
	egressKeys map[string]bool
}

func (s *snapshot) tryAcquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 {
		for ref, plans := range s.plans {
			ref.mod.Release(plans)
		}
		for _, m := range s.mods {
			m.release()
		}
		if s.onClose != nil {
			s.onClose()
		}
	}
}

// build compiles a Config into a snapshot: it loads (or reuses) every module
// that a step uses, registers attachments and plans, computes each
// operation's effective chain and builds the router.
func (g *Gateway) build(ctx context.Context, cfg *Config, baseDir string) (*snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &snapshot{version: cfg.Version, subs: map[string]StaticSubscription{}, plans: map[*moduleRef][]*engine.Plan{}, built: time.Now()}
	ok := false
	defer func() {
		if !ok {
			for ref, plans := range s.plans {
				ref.mod.Release(plans)
			}
			for _, m := range s.mods {
				m.release()
			}
		}
	}()
	specs := map[string]ModuleSpec{}
	for _, m := range cfg.Modules {
		specs[m.Name] = m
	}
	loaded := map[string]*moduleRef{}
	getMod := func(name string) (*moduleRef, error) {
		if name == "" {
			name = "builtin"
		}
		if r, ok := loaded[name]; ok {
			return r, nil
		}
		var spec ModuleSpec
		if name == "builtin" {
			if g.opts.Builtin == nil {
				return nil, fmt.Errorf("module builtin: the built-in policies were not built into this binary (run make build)")
			}
			spec = ModuleSpec{Name: "builtin", Version: g.opts.BuiltinVersion, Wasm: g.opts.Builtin, MinInstances: 1, MaxInstances: 4, trusted: !g.opts.GuardBuiltin, builtin: true}
		} else {
			spec = specs[name]
			if spec.Wasm == nil {
				p := spec.Path
				if !filepath.IsAbs(p) {
					p = filepath.Join(baseDir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("module %s: %v", name, err)
				}
				spec.Wasm = b
			}
		}
		r, err := g.mods.acquire(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		s.mods = append(s.mods, r)
		loaded[name] = r
		return r, nil
	}
	compile := func(steps []Step) ([]*stage, error) {
		var out []*stage
		var cur *stage
		var curAtts []*engine.Attachment
		var curRef *moduleRef
		curRerun := -1 // index in curAtts of the stage's reruns policy
		flush := func() error {
			if cur == nil {
				return nil
			}
			p, err := curRef.mod.NewPlan(curAtts...)
			if err != nil {
				return err
			}
			cur.plan, cur.rerun = p, p
			if curRerun > 0 {
				// The re-run starts at the policy that asked for it.
				rp, err := curRef.mod.NewPlan(curAtts[curRerun:]...)
				if err != nil {
					return err
				}
				cur.rerun = rp
				s.plans[curRef] = append(s.plans[curRef], rp)
			}
			if g.opts.Metrics != nil {
				cur.met = g.opts.Metrics.Stage(cur.label)
			}
			s.plans[curRef] = append(s.plans[curRef], p)
			out = append(out, cur)
			cur, curAtts = nil, nil
			return nil
		}
		for _, st := range steps {
			ref, err := getMod(st.Module)
			if err != nil {
				return nil, err
			}
			opts := engine.CallOptions{Deadline: time.Duration(st.Timeout), MaxPages: st.MaxMemoryPages, MaxBody: st.MaxBodyBytes, MaxOutput: st.MaxOutputBytes}
			fm := st.FailMode
			if fm == "" {
				fm = "closed"
			}
			// Consecutive closed-mode steps of one module with the same
			// limits run as one plan: one guest call instead of several.
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

	s.routes = newRouteIndex()
	globalEgress, err := rule.ParseAllowList(cfg.EgressAllow)
	if err != nil {
		return nil, fmt.Errorf("egress_allow: %w", err)
	}
	s.egressKeys = map[string]bool{}
	modEgress, err := moduleEgress(cfg)
	if err != nil {
		return nil, err
	}
	for _, a := range cfg.APIs {
		scope, tr, key, err := g.apiEgress(&a, globalEgress, grantedEgress(cfg, &a, modEgress))
		if err != nil {
			return nil, fmt.Errorf("api %s: %w", a.Name, err)
		}
		s.egressKeys[key] = true
		u, _ := rule.ParseBackend(a.Backend)
		as := &apiState{cfg: a, prefix: strings.TrimSuffix(a.PathPrefix, "/"), backend: u, bodyLimit: a.BodyLimit, timeout: time.Duration(a.BackendTimeout),
			egress: scope, transport: tr, secrets: cfg.SecretValues}
		if as.bodyLimit == 0 {
			as.bodyLimit = 1 << 20
		}
		if as.timeout == 0 {
			as.timeout = 30 * time.Second
		}
		as.sensitive = g.sensitiveParams(&a)
		routeMet := func(op string) RouteMetrics {
			if g.opts.Metrics == nil {
				return nil
			}
			return g.opts.Metrics.Route(a.Name, op)
		}
		prefix := as.prefix
		r := s.routes.add(prefix)
		effective := func(op *Policy) (chain, error) {
			var c chain
			for i := 0; i < numSections; i++ {
				gs := scoped(cfg.Policies.section(i), "global")
				as_ := scoped(a.Policies.section(i), "api")
				steps := MergeSection(gs, as_)
				if op != nil {
					os_ := scoped(op.section(i), "operation")
					steps = MergeSection(steps, os_)
				}
				st, err := compile(steps)
				if err != nil {
					return c, err
				}
				c[i] = st
			}
			return c, nil
		}
		for _, o := range a.Operations {
			o := o
			ch, err := effective(&o.Policies)
			if err != nil {
				return nil, fmt.Errorf("api %s operation %s: %w", a.Name, o.ID, err)
			}
			rt := &route{api: as, opID: o.ID, tmpl: o.Template, chain: ch, met: routeMet(o.ID)}
			mr := r.NewRoute().Path(prefix + o.Template).Handler(rt)
			if m := strings.ToUpper(o.Method); m != "*" {
				mr.Methods(m)
			}
			if err := mr.GetError(); err != nil {
				return nil, fmt.Errorf("api %s operation %s: template %q: %v", a.Name, o.ID, o.Template, err)
			}
		}
		// An API with operations also gets an API-level route for CORS
		// preflights, which no operation declares (APIM answers them with
		// the API's cors policy): the API's effective policy, no operation.
		if len(a.Operations) > 0 {
			ch, err := effective(nil)
			if err != nil {
				return nil, fmt.Errorf("api %s: %w", a.Name, err)
			}
			s.routes.setPreflight(&route{api: as, chain: ch, catchAll: true, met: routeMet("")})
		}
		// Without operations an API forwards everything under its prefix.
		if len(a.Operations) == 0 {
			ch, err := effective(nil)
			if err != nil {
				return nil, fmt.Errorf("api %s: %w", a.Name, err)
			}
			rt := &route{api: as, chain: ch, catchAll: true, met: routeMet("")}
			if prefix == "" {
				r.NewRoute().PathPrefix("/").Handler(rt)
			} else {
				r.NewRoute().Path(prefix).Handler(rt)
				r.NewRoute().PathPrefix(prefix + "/").Handler(rt)
			}
		}
	}
	for _, sub := range cfg.Subscriptions {
		s.subs[sub.Key] = sub
	}
	s.refs.Store(1)
	ok = true
	return s, nil
}
