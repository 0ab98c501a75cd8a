// Package catalogsource feeds the gateway from the catalog: it adapts a
// catalog store (catalog/sqlite) to gateway.Source, building a
// gateway.Config from the catalog's APIs, operations, policy documents and
// modules, and to engine.SubscriptionLookup, answering the built-in
// subscription-key policy from the catalog's subscriptions.
//
// # What Load maps
//
//   - every catalog API becomes a gateway.API named by its catalog ID
//     (stable across renames; logs, metrics and analytics use it) (PathPrefix,
//     Backend = BackendURL) with its operations (ID = the operation's Name,
//     or its catalog ID when the name repeats within the API; Method;
//     Template = URLTemplate);
//   - policy documents of scope global, api and operation become the
//     matching gateway.Policy; a base entry becomes Step{Base: true};
//   - product-scope documents are merged into the sections of the APIs of
//     their product as steps conditioned on the call's product (see
//     applyProductPolicies);
//   - a module reference "name@version" runs that exact version, "name" the
//     newest semantic version of name: the newest release if there is one
//     (pre-releases only run when pinned or when nothing else exists), ties
//     of precedence going to the latest upload. The module
//     "builtin" (any version) is the gateway's embedded built-ins:
//     Step.Module "" and no ModuleSpec. Each other referenced version
//     becomes one ModuleSpec named "name", or "name@version" when several
//     versions of one name are referenced. An empty policy name means the
//     policy named like the module. An unpinned reference resolves among
//     the versions whose requests an admin granted in full
//     (catalog.ResolveGranted); the ModuleSpec carries the granted
//     capability groups (Granted), which the engine enforces at load.
//     Manifest limits are requests clamped by Source.Ceilings
//     (catalog.ModuleLimits.Clamp) and map to MaxInstances (Instances),
//     Step.Timeout (TimeoutMS) and Step.MaxMemoryPages (MemoryPages);
//   - an API with SubscriptionRequired gets the built-in subscription-key
//     check first in its effective inbound chain: it is prepended to the
//     API's inbound section ([subscription-key, base] when the API has none).
//     An operation whose inbound section does not start with base would
//     drop or reorder that check, so such a section is flattened: it becomes
//     [subscription-key] followed by the operation's steps with base
//     expanded to the API's and global steps;
//   - every {{name}} inside a config's JSON strings is replaced by the
//     named value's value (secret ones decrypted), so the gateway runs the
//     value while the catalog and every admin answer keep the reference;
//   - a built-in mock-response entry of an operation-scope document whose
//     config has no "example" gets the example of the operation's response
//     (status_code, default 200) from the API's OpenAPI document, as APIM
//     answers mocks (see fillMockExample); without a content_type it also
//     gets the media type the example was found under. Documents are parsed
//     once per SHA-256 of their bytes, and only for APIs that need them.
//
// # What Load skips
//
// Each skip is reported by Skipped (and logged when a Logger is set):
//
//   - failMode "fallback": catalog fallbacks name a module to run, gateway
//     fallbacks are fixed answers, so such an entry fails closed instead;
//   - policy documents whose API or operation no longer exists.
//
// # Consistency
//
// Load reads the version first and then the rest with separate queries (no
// read transaction spans them). A write in between makes the config newer
// than its version; the gateway then sees a changed version at its next
// poll and loads again, so the race costs one extra reload, never a stale
// snapshot that sticks.
//
// # Subscriptions
//
// LookupSubscription reads a key from the store once per catalog version
// (a bounded LRU cache, negative answers included, keyed by the last Load's
// version, so a revocation is seen at the next poll), and decides API scope from maps of
// API names and product contents captured by the last successful Load, so
// it does not query the API or product tables per request. Those maps
// change with the catalog version, as the served snapshot does (they are
// taken from the config Load returns, even if the gateway then fails to
// build a snapshot from it and keeps serving an older one).
package catalogsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// Store is what Source needs from the catalog; *sqlite.Store implements it.
type Store interface {
	Version(ctx context.Context) (int64, error)
	ListAPIs(ctx context.Context) ([]catalog.API, error)
	ListOperations(ctx context.Context, apiID string) ([]catalog.Operation, error)
	ListPolicies(ctx context.Context) ([]catalog.PolicyDoc, error)
	ListModules(ctx context.Context) ([]catalog.Module, error)
	GetModule(ctx context.Context, name, version string) (catalog.Module, error)
	ListProductAPIs(ctx context.Context, productID string) ([]catalog.ProductAPI, error)
	LookupKey(ctx context.Context, key string) (catalog.Subscription, error)
	ListNamedValues(ctx context.Context) ([]catalog.NamedValue, error)
}

// BuiltinModule is the catalog module name that stands for the gateway's
// embedded built-in policies.
const BuiltinModule = "builtin"

// SubscriptionKeyPolicy is the built-in policy checking subscription keys.
const SubscriptionKeyPolicy = "subscription-key"

// Source adapts a catalog store to gateway.Source and
// engine.SubscriptionLookup. It is safe for concurrent use.
type Source struct {
	store Store
	// Logger, if set, receives a line per Load listing skipped entries.
	Logger *slog.Logger
	// Now is the clock for subscription expiry; nil means time.Now.
	Now func() time.Time
	// Ceilings bound the limits a module's manifest requests (zero fields:
	// catalog.DefaultModuleCeilings). Set before the first Load.
	Ceilings catalog.ModuleLimits

	state atomic.Pointer[state]
	// last is the config the last full Load built, for Load's fast path
	// (changes.go).
	last atomic.Pointer[gateway.Config]
	// lastLoad is how the last Load got its config (LoadFull, LoadPatched,
	// LoadUnchanged).
	lastLoad atomic.Value

	wasmMu sync.Mutex
	wasm   map[string][]byte // name@version#sha256 → bytes (versions are immutable)

	exMu     sync.Mutex
	examples map[string]*oasimport.Examples // OpenAPI document SHA-256 → loaded (nil: does not load)

	// keys caches LookupKey answers (found or not) tagged with the catalog
	// version of the last Load when the read started; an entry of another
	// version is a miss, so a write (a revocation included) invalidates the
	// whole cache as soon as the gateway polls the new version.
	keys *lru.Cache[string, keyEntry]
}

type keyEntry struct {
	version int64
	sub     catalog.Subscription
	found   bool
}

// KeyCacheSize bounds the subscription key cache.
const KeyCacheSize = 65536

// state is what the last successful Load captured for lookups.
type state struct {
	version     int64
	apiIDs      map[string]string          // API name → ID
	productAPIs map[string]map[string]bool // product ID → API names
	skipped     []string
	// raw is what the config was built from (nil for lookupState's), for
	// Load's patch path (patch.go).
	raw *raw
}

var (
	_ gateway.Source            = (*Source)(nil)
	_ engine.SubscriptionLookup = (*Source)(nil)
)

// New returns a source reading store.
func New(store Store) *Source {
	keys, _ := lru.New[string, keyEntry](KeyCacheSize)
	return &Source{store: store, wasm: map[string][]byte{}, keys: keys, examples: map[string]*oasimport.Examples{}}
}

// Version returns the catalog version.
func (s *Source) Version(ctx context.Context) (int64, error) { return s.store.Version(ctx) }

// LastLoad says how the last successful Load got its config: LoadFull
// (the whole catalog read), LoadPatched (only what the writes since the
// previous load touched, patch.go) or LoadUnchanged (nothing the config is
// built from changed); "" before the first.
func (s *Source) LastLoad() string {
	k, _ := s.lastLoad.Load().(string)
	return k
}

// Skipped returns what the last successful Load ignored (see the package
// documentation), one human-readable line each.
func (s *Source) Skipped() []string {
	if st := s.state.Load(); st != nil {
		return append([]string(nil), st.skipped...)
	}
	return nil
}

// Load builds the gateway config of the current catalog. The directory is
// empty: every module carries its bytes.
func (s *Source) Load(ctx context.Context) (*gateway.Config, string, error) {
	if cfg := s.unchanged(ctx); cfg != nil {
		s.lastLoad.Store(LoadUnchanged)
		return cfg, "", nil
	}
	kind := LoadPatched
	cfg, st, err := s.patched(ctx)
	if err == nil && cfg == nil {
		kind = LoadFull
		cfg, st, err = s.build(ctx)
	}
	if err != nil {
		return nil, "", fmt.Errorf("catalog source: %w", err)
	}
	s.lastLoad.Store(kind)
	s.last.Store(cfg)
	s.state.Store(st)
	if s.Logger != nil && len(st.skipped) > 0 {
		s.Logger.Warn("catalog entries the gateway does not support were skipped",
			"version", st.version, "count", len(st.skipped), "skipped", st.skipped)
	}
	return cfg, "", nil
}

func (s *Source) build(ctx context.Context) (*gateway.Config, *state, error) {
	r, err := s.readAll(ctx)
	if err != nil {
		return nil, nil, err
	}
	return s.mapRaw(ctx, r, true)
}

// readAll reads every catalog entity the config is built from.
func (s *Source) readAll(ctx context.Context) (*raw, error) {
	ver, err := s.store.Version(ctx)
	if err != nil {
		return nil, err
	}
	r := &raw{version: ver}
	if r.apis, err = s.store.ListAPIs(ctx); err != nil {
		return nil, err
	}
	if r.ops, err = s.store.ListOperations(ctx, ""); err != nil {
		return nil, err
	}
	if r.docs, err = s.store.ListPolicies(ctx); err != nil {
		return nil, err
	}
	if r.mods, err = s.store.ListModules(ctx); err != nil {
		return nil, err
	}
	if r.links, err = s.store.ListProductAPIs(ctx, ""); err != nil {
		return nil, err
	}
	if r.examples, r.exKeys, err = s.loadExamplesReusing(ctx, mockAPIs(r.ops, r.docs), nil, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// mapRaw builds the gateway config of r (named values and module bytes
// are read here, the rest is in memory), checked with Config.Validate when
// validate is set. The patch path leaves the check to the gateway, which
// validates what it builds and skips the APIs it already serves unchanged:
// validating all 10,000 APIs here for one changed API was a quarter of a
// patched load.
func (s *Source) mapRaw(ctx context.Context, r *raw, validate bool) (*gateway.Config, *state, error) {
	m := newMapper(r.mods)
	m.examples = r.examples
	m.ceilings = s.Ceilings
	var err error
	if m.values, m.secrets, err = namedValues(ctx, s.store, r.docs, usesClientKeys(r.apis)); err != nil {
		return nil, nil, err
	}
	cfg, st, err := m.mapCatalog(r.apis, r.ops, r.docs, r.links)
	if err != nil {
		return nil, nil, err
	}
	cfg.SecretValues = m.secrets
	for i := range m.specs {
		spec := &m.specs[i]
		wasm, err := s.moduleBytes(ctx, m.refs[i])
		if err != nil {
			return nil, nil, err
		}
		spec.Wasm = wasm
	}
	cfg.Modules = m.specs
	cfg.Version = r.version
	// Every Load maps a new config and nothing changes it afterwards
	// (the unchanged path copies the Config struct only): the gateway
	// keeps its parts instead of copies (gateway.Config.Immutable).
	cfg.Immutable = true
	st.version = r.version
	st.raw = r
	if validate {
		if err := cfg.Validate(); err != nil {
			return nil, nil, err
		}
	}
	return cfg, st, nil
}

// namedValues returns the named values (secret ones decrypted) that the
// policy documents reference as {{name}}, and the values of the secret ones
// (for the gateway to redact from console traces); nil when none does, so a
// catalog without references never decrypts anything.
func namedValues(ctx context.Context, store Store, docs []catalog.PolicyDoc, keys bool) (map[string]string, []string, error) {
	refs := keys // an API's backend client key
	for _, d := range docs {
		for _, sec := range [][]catalog.PolicyEntry{d.Inbound, d.Backend, d.Outbound, d.OnError} {
			for _, e := range sec {
				refs = refs || len(catalog.NamedValueRefs(e.Config)) > 0
			}
		}
	}
	if !refs {
		return nil, nil, nil
	}
	ns, err := store.ListNamedValues(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]string, len(ns))
	var secrets []string
	for _, n := range ns {
		out[n.Name] = n.Value
		if n.Secret && n.Value != "" {
			secrets = append(secrets, n.Value)
		}
	}
	return out, secrets, nil
}

// moduleBytes returns a module version's wasm, cached by name, version and
// SHA-256 (a version deleted and uploaded again with other bytes misses).
func (s *Source) moduleBytes(ctx context.Context, mod catalog.Module) ([]byte, error) {
	key := mod.Name + "@" + mod.Version + "#" + mod.SHA256
	s.wasmMu.Lock()
	b, ok := s.wasm[key]
	s.wasmMu.Unlock()
	if ok {
		return b, nil
	}
	full, err := s.store.GetModule(ctx, mod.Name, mod.Version)
	if err != nil {
		return nil, err
	}
	if full.SHA256 != mod.SHA256 {
		return nil, fmt.Errorf("module %s@%s changed during load", mod.Name, mod.Version)
	}
	s.wasmMu.Lock()
	s.wasm[key] = full.Wasm
	s.wasmMu.Unlock()
	return full.Wasm, nil
}

// mapper turns catalog entities into a gateway config (no I/O).
type mapper struct {
	versions map[string][]catalog.Module // name → versions in upload order
	used     map[string]map[string]catalog.Module
	specs    []gateway.ModuleSpec
	refs     []catalog.Module  // refs[i] is the catalog module of specs[i]
	specName map[string]string // name@version → ModuleSpec name
	skipped  []string
	examples map[string]*oasimport.Examples // API ID → its document, for mock-response
	ceilings catalog.ModuleLimits
	values   map[string]string // named values the documents reference
	secrets  []string          // values of the secret named values
}

func newMapper(mods []catalog.Module) *mapper {
	m := &mapper{versions: map[string][]catalog.Module{}, used: map[string]map[string]catalog.Module{}, specName: map[string]string{}}
	for _, mod := range mods {
		m.versions[mod.Name] = append(m.versions[mod.Name], mod)
	}
	return m
}

func (m *mapper) skip(format string, a ...any) {
	m.skipped = append(m.skipped, fmt.Sprintf(format, a...))
}

// resolve finds the module version a reference names (catalog.ResolveModule).
func (m *mapper) resolve(ref string) (catalog.Module, error) {
	name, _, err := catalog.ParseModuleRef(ref)
	if err != nil {
		return catalog.Module{}, err
	}
	return catalog.ResolveGranted(m.versions[name], ref)
}

// section maps one catalog section; nil stays nil (an absent section, which
// inherits) and empty stays empty (a section that drops the parent's).
func (m *mapper) section(where string, entries []catalog.PolicyEntry) ([]gateway.Step, error) {
	if entries == nil {
		return nil, nil
	}
	out := make([]gateway.Step, 0, len(entries))
	for i, e := range entries {
		if e.Base {
			out = append(out, gateway.Step{Base: true})
			continue
		}
		p := fmt.Sprintf("%s[%d]", where, i)
		name, _, err := catalog.ParseModuleRef(e.Module)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cfg, err := catalog.ResolveNamedValues(e.Config, m.values)
		if err != nil {
			return nil, fmt.Errorf("%s.config: %w", p, err)
		}
		st := gateway.Step{Policy: e.Policy, Config: cfg, FailMode: e.FailMode}
		if st.Policy == "" {
			st.Policy = name
		}
		if e.FailMode == catalog.FailFallback {
			st.FailMode = catalog.FailClosed
			m.skip("%s: failMode fallback (module %q) is not supported by the gateway; the entry fails closed", p, e.Fallback)
		}
		if name != BuiltinModule {
			mod, err := m.resolve(e.Module)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			st.Module = m.use(mod)
			lim := mod.Manifest.Limits.Clamp(m.ceilings)
			if lim.TimeoutMS > 0 {
				st.Timeout = gateway.Duration(time.Duration(lim.TimeoutMS) * time.Millisecond)
			}
			if lim.MemoryPages > 0 {
				st.MaxMemoryPages = uint32(lim.MemoryPages)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// use records a module version as referenced and returns its spec name
// placeholder (fixed up by finishModules once all references are known).
func (m *mapper) use(mod catalog.Module) string {
	if m.used[mod.Name] == nil {
		m.used[mod.Name] = map[string]catalog.Module{}
	}
	m.used[mod.Name][mod.Version] = mod
	return mod.Name + "@" + mod.Version
}

// finishModules creates the ModuleSpecs and the final names of references.
func (m *mapper) finishModules() {
	names := make([]string, 0, len(m.used))
	for n := range m.used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := m.used[n]
		keys := make([]string, 0, len(vs))
		for v := range vs {
			keys = append(keys, v)
		}
		sort.Slice(keys, func(i, j int) bool { return catalog.CompareSemver(keys[i], keys[j]) < 0 })
		for _, v := range keys {
			mod := vs[v]
			spec := gateway.ModuleSpec{Name: n, Version: v, MaxInstances: mod.Manifest.Limits.Clamp(m.ceilings).Instances,
				Granted: mod.GrantedCapabilities(), GrantedEgress: mod.Grant.Egress}
			if spec.Granted == nil {
				spec.Granted = []string{} // enforced: nothing granted
			}
			if len(vs) > 1 {
				spec.Name = n + "@" + v
			}
			m.specName[n+"@"+v] = spec.Name
			m.specs = append(m.specs, spec)
			m.refs = append(m.refs, mod)
		}
	}
}

func (m *mapper) policy(where string, d catalog.PolicyDoc) (gateway.Policy, error) {
	var p gateway.Policy
	var err error
	if p.Inbound, err = m.section(where+".inbound", d.Inbound); err != nil {
		return p, err
	}
	if p.Backend, err = m.section(where+".backend", d.Backend); err != nil {
		return p, err
	}
	if p.Outbound, err = m.section(where+".outbound", d.Outbound); err != nil {
		return p, err
	}
	p.OnError, err = m.section(where+".onError", d.OnError)
	return p, err
}

func (m *mapper) mapCatalog(apis []catalog.API, ops []catalog.Operation, docs []catalog.PolicyDoc, links []catalog.ProductAPI) (*gateway.Config, *state, error) {
	cfg := &gateway.Config{APIs: make([]gateway.API, 0, len(apis))}
	st := &state{apiIDs: make(map[string]string, len(apis)), productAPIs: map[string]map[string]bool{}}
	apiIdx := make(map[string]int, len(apis))
	for _, a := range apis {
		apiIdx[a.ID] = len(cfg.APIs)
		st.apiIDs[a.ID] = a.ID
		cfg.APIs = append(cfg.APIs, gateway.API{Name: a.ID, PathPrefix: a.PathPrefix, Backend: a.BackendURL, EgressAllow: a.EgressAllow,
			ConsoleTraceDisabled: a.ConsoleTraceDisabled})
		if err := m.transport(&cfg.APIs[len(cfg.APIs)-1], a); err != nil {
			return nil, nil, err
		}
	}
	type opPos struct{ api, op int }
	opIdx := make(map[string]opPos, len(ops))
	opNames := make([]map[string]bool, len(apis))
	nops := make([]int, len(apis))
	for _, o := range ops {
		if ai, ok := apiIdx[o.APIID]; ok {
			nops[ai]++
		}
	}
	for ai, n := range nops {
		if n > 0 {
			cfg.APIs[ai].Operations = make([]gateway.Operation, 0, n)
		}
	}
	for _, o := range ops {
		ai, ok := apiIdx[o.APIID]
		if !ok {
			continue
		}
		if opNames[ai] == nil {
			opNames[ai] = map[string]bool{}
		}
		id := o.Name
		if id == "" || opNames[ai][id] {
			id = o.ID
		}
		opNames[ai][id] = true
		ga := &cfg.APIs[ai]
		opIdx[o.ID] = opPos{ai, len(ga.Operations)}
		ga.Operations = append(ga.Operations, gateway.Operation{ID: id, Method: o.Method, Template: o.URLTemplate})
	}
	for _, l := range links {
		ai, ok := apiIdx[l.APIID]
		if !ok {
			continue
		}
		if st.productAPIs[l.ProductID] == nil {
			st.productAPIs[l.ProductID] = map[string]bool{}
		}
		st.productAPIs[l.ProductID][cfg.APIs[ai].Name] = true
	}
	productDocs := map[string]gateway.Policy{}
	for _, d := range docs {
		var target *gateway.Policy
		where := string(d.Scope) + "/" + d.ScopeID
		switch d.Scope {
		case catalog.ScopeGlobal:
			target = &cfg.Policies
		case catalog.ScopeAPI:
			ai, ok := apiIdx[d.ScopeID]
			if !ok {
				m.skip("policy %s: no such API", where)
				continue
			}
			target = &cfg.APIs[ai].Policies
		case catalog.ScopeOperation:
			pos, ok := opIdx[d.ScopeID]
			if !ok {
				m.skip("policy %s: no such operation", where)
				continue
			}
			target = &cfg.APIs[pos.api].Operations[pos.op].Policies
		case catalog.ScopeProduct:
			p, err := m.policy("policy "+where, d)
			if err != nil {
				return nil, nil, err
			}
			productDocs[d.ScopeID] = p
			continue
		default:
			m.skip("policy %s: unknown scope", where)
			continue
		}
		p, err := m.policy("policy "+where, d)
		if err != nil {
			return nil, nil, err
		}
		if d.Scope == catalog.ScopeOperation {
			pos := opIdx[d.ScopeID]
			op := cfg.APIs[pos.api].Operations[pos.op]
			m.fillMockExamples(&p, apis[pos.api].ID, op.Method, op.Template)
		}
		*target = p
	}
	m.finishModules()
	rename := func(p *gateway.Policy) {
		for _, sec := range [][]gateway.Step{p.Inbound, p.Backend, p.Outbound, p.OnError} {
			for i := range sec {
				if sec[i].Module != "" {
					sec[i].Module = m.specName[sec[i].Module]
				}
			}
		}
	}
	rename(&cfg.Policies)
	for id := range productDocs {
		p := productDocs[id]
		rename(&p)
		productDocs[id] = p
	}
	applyProductPolicies(cfg, apis, links, productDocs)
	for ai := range cfg.APIs {
		rename(&cfg.APIs[ai].Policies)
		for oi := range cfg.APIs[ai].Operations {
			rename(&cfg.APIs[ai].Operations[oi].Policies)
		}
	}
	checks := map[[3]string]gateway.Step{} // one marshalled check per key carrier
	for ai, a := range apis {
		if a.SubscriptionRequired {
			k := [3]string{a.KeyHeader, a.KeyQuery, fmt.Sprint(a.AllowQueryKey)}
			check, ok := checks[k]
			if !ok {
				check = SubscriptionStep(a)
				checks[k] = check
			}
			requireSubscriptionStep(cfg.Policies.Inbound, &cfg.APIs[ai], check)
		}
	}
	st.skipped = m.skipped
	return cfg, st, nil
}

// sections returns pointers to a policy's four sections.
func sections(p *gateway.Policy) [4]*[]gateway.Step {
	return [4]*[]gateway.Step{&p.Inbound, &p.Backend, &p.Outbound, &p.OnError}
}

// applyProductPolicies inserts the product scope between global and API
// (APIM order: global → product → API → operation). The gateway has no
// product scope of its own; it has steps that run only for calls whose
// subscription belongs to given products. For each API in at least one
// product with a policy document, each section of the API is flattened onto
// a product level built as:
//
//	[P1's steps before base (only P1)] … [Pn's before base (only Pn)]
//	[global steps (except products whose section has no base)]
//	[P1's steps after base (only P1)] … [Pn's after base (only Pn)]
//
// One call has at most one subscription, so it sees exactly its product's
// section with base expanded to the global one; calls without a product
// subscription see the global section alone.
func applyProductPolicies(cfg *gateway.Config, apis []catalog.API, links []catalog.ProductAPI, docs map[string]gateway.Policy) {
	if len(docs) == 0 {
		return
	}
	byAPI := map[string][]string{}
	for _, l := range links {
		if _, ok := docs[l.ProductID]; ok {
			byAPI[l.APIID] = append(byAPI[l.APIID], l.ProductID)
		}
	}
	global := sections(&cfg.Policies)
	for ai, a := range apis {
		prods := byAPI[a.ID]
		if len(prods) == 0 {
			continue
		}
		sort.Strings(prods)
		apiSecs := sections(&cfg.APIs[ai].Policies)
		for i := range apiSecs {
			var pre, post []gateway.Step
			var noBase []string
			mentioned := false
			for _, pid := range prods {
				doc := docs[pid]
				sec := *sections(&doc)[i]
				if sec == nil {
					continue // inherits global unchanged
				}
				mentioned = true
				only := []string{pid}
				base := slices.IndexFunc(sec, func(s gateway.Step) bool { return s.Base })
				if base < 0 {
					noBase = append(noBase, pid)
					pre = append(pre, withProducts(sec, only, nil)...)
					continue
				}
				pre = append(pre, withProducts(sec[:base], only, nil)...)
				post = append(post, withProducts(sec[base+1:], only, nil)...)
			}
			if !mentioned {
				continue
			}
			level := make([]gateway.Step, 0, len(pre)+len(*global[i])+len(post))
			level = append(level, pre...)
			level = append(level, withProducts(*global[i], nil, noBase)...)
			level = append(level, post...)
			flat := gateway.MergeSection(level, *apiSecs[i])
			if flat == nil {
				flat = []gateway.Step{}
			}
			*apiSecs[i] = flat
		}
	}
}

// withProducts copies steps adding a product condition.
func withProducts(steps []gateway.Step, only, except []string) []gateway.Step {
	out := make([]gateway.Step, len(steps))
	for i, s := range steps {
		if len(only) > 0 {
			s.Products = only
		} else if len(except) > 0 && len(s.Products) == 0 {
			s.ExceptProducts = except
		}
		out[i] = s
	}
	return out
}

// SubscriptionStep is the built-in subscription-key check configured for a.
func SubscriptionStep(a catalog.API) gateway.Step {
	header, query := a.KeyHeader, a.KeyQuery
	if header == "" {
		header = catalog.DefaultKeyHeader
	}
	if query == "" {
		query = catalog.DefaultKeyQuery
	}
	cfg, _ := json.Marshal(struct {
		Header     string `json:"header"`
		Query      string `json:"query"`
		AllowQuery bool   `json:"allow_query"`
	}{header, query, a.AllowQueryKey})
	return gateway.Step{Policy: SubscriptionKeyPolicy, Config: cfg}
}

// requireSubscription makes the subscription-key check the first step of
// every effective inbound chain of ga (see the package documentation).
func requireSubscription(global []gateway.Step, ga *gateway.API, a catalog.API) {
	requireSubscriptionStep(global, ga, SubscriptionStep(a))
}

// requireSubscriptionStep is requireSubscription with the check given.
func requireSubscriptionStep(global []gateway.Step, ga *gateway.API, check gateway.Step) {
	authored := ga.Policies.Inbound
	if authored == nil {
		ga.Policies.Inbound = []gateway.Step{check, {Base: true}}
	} else {
		ga.Policies.Inbound = append([]gateway.Step{check}, authored...)
	}
	// The API's effective inbound without the check, for flattening
	// (computed for the first operation that needs it).
	var apiRest []gateway.Step
	restDone := false
	for oi := range ga.Operations {
		op := &ga.Operations[oi].Policies
		if op.Inbound == nil || (len(op.Inbound) > 0 && op.Inbound[0].Base) {
			continue
		}
		if !restDone {
			apiRest, restDone = gateway.MergeSection(global, authored), true
		}
		op.Inbound = append([]gateway.Step{check}, gateway.MergeSection(apiRest, op.Inbound)...)
	}
}

// LookupSubscription implements engine.SubscriptionLookup: api is the
// gateway API name.
func (s *Source) LookupSubscription(ctx context.Context, key, api string) (engine.Subscription, bool, error) {
	sub, found, err := s.lookupKey(ctx, key)
	if err != nil || !found {
		return engine.Subscription{}, false, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	out := engine.Subscription{
		ID:    sub.ID,
		State: string(sub.EffectiveState(now())),
		Scope: string(sub.Scope),
		User:  sub.UserID,
	}
	switch sub.Scope {
	case catalog.ScopeAll:
		out.APIAllowed = true
	case catalog.ScopeAPI, catalog.ScopeProduct:
		st, err := s.lookupState(ctx)
		if err != nil {
			return engine.Subscription{}, false, err
		}
		if sub.Scope == catalog.ScopeAPI {
			id, ok := st.apiIDs[api]
			out.APIAllowed = ok && id == sub.ScopeID
		} else {
			out.Product = sub.ScopeID
			out.APIAllowed = st.productAPIs[sub.ScopeID][api]
		}
	}
	return out, true, nil
}

// lookupKey answers from the key cache when its entry is of the current
// version, and from the store otherwise.
func (s *Source) lookupKey(ctx context.Context, key string) (catalog.Subscription, bool, error) {
	st := s.state.Load()
	if st != nil {
		if e, ok := s.keys.Get(key); ok && e.version == st.version {
			return e.sub, e.found, nil
		}
	}
	sub, err := s.store.LookupKey(ctx, key)
	found := err == nil
	if errors.Is(err, catalog.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return catalog.Subscription{}, false, err
	}
	if st != nil && st.version >= 0 {
		s.keys.Add(key, keyEntry{version: st.version, sub: sub, found: found})
	}
	return sub, found, nil
}

// lookupState returns the maps of the last Load, reading them once from the
// store if no Load has succeeded yet.
func (s *Source) lookupState(ctx context.Context) (*state, error) {
	if st := s.state.Load(); st != nil {
		return st, nil
	}
	apis, err := s.store.ListAPIs(ctx)
	if err != nil {
		return nil, err
	}
	links, err := s.store.ListProductAPIs(ctx, "")
	if err != nil {
		return nil, err
	}
	_, st, err := newMapper(nil).mapCatalog(apis, nil, nil, links)
	if err != nil {
		return nil, err
	}
	st.version = -1
	s.state.CompareAndSwap(nil, st)
	return s.state.Load(), nil
}
