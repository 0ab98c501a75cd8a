package catalogsource

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// Load's patch path: after a write to a few APIs, operations, policy
// documents, products, modules or named values, the source re-reads only
// the rows those writes touched (the audit log names each one) into the
// catalog entities the last config was built from (raw), and maps the
// patched entities again in memory. What each kind costs:
//
//   - api X: the API row (with its OpenAPI document, when a mock-response
//     policy needs it), its operations, its policy document and its
//     operations' documents; deleted (even if created again since), its
//     product links go too (the database deletes them with it);
//   - operation O: as a write to O's API (its operations are re-read, its
//     operations' documents too);
//   - policy S/ID: that one document; a global document changes every API's
//     effective chains, so the gateway rebuilds all of them (not the
//     source's cost);
//   - product P: its API links and its document;
//   - module: the module list (names, versions, grants, manifests; no
//     bytes — those are cached per version and SHA-256);
//   - named-value: nothing to patch: the named values the documents
//     reference are read at every load (a small table), as on a full read;
//   - subscription, user, group, admin, admin-token: nothing (keyOnly);
//     when only those changed Load does not map at all (unchanged).
//
// Any other entity (a kind this code does not know, e.g. one a later
// version adds), an audit log that cannot account for every version since
// the last load, or more than maxPatchChanges entries make Load read the
// whole catalog instead. The mapping itself is the full one
// (mapper.mapCatalog over every entity, in memory), so a patched config
// equals what a full read would build, by construction
// (TestPatchedLoadMatchesFull checks it over random writes).

// maxPatchChanges bounds the audit entries the patch path re-reads; past
// it a full read is cheaper than one query per entity.
const maxPatchChanges = 256

// raw is what a config is built from: the catalog entities in the order
// the store lists them.
type raw struct {
	version  int64
	apis     []catalog.API                  // by name, without OpenAPI documents
	ops      []catalog.Operation            // by API ID, template, method
	docs     []catalog.PolicyDoc            // by scope, scope ID
	mods     []catalog.Module               // by name, upload time, version; no bytes
	links    []catalog.ProductAPI           // by product ID, API ID
	examples map[string]*oasimport.Examples // API ID → its document's examples, for mock-response
	exKeys   map[string]string              // API ID → SHA-256 of the document read for examples
}

// ChangeReader is implemented by a store that lists the writes after a
// version from its audit log and reads single entities (*sqlite.Store).
type ChangeReader interface {
	ChangesSince(ctx context.Context, since, upto int64) (changes []catalog.AuditEntry, complete bool, err error)
	GetAPI(ctx context.Context, id string) (catalog.API, error)
	GetOperation(ctx context.Context, id string) (catalog.Operation, error)
	GetPolicy(ctx context.Context, scope catalog.Scope, scopeID string) (catalog.PolicyDoc, error)
}

// Load kinds, for logs and tests (Source.LastLoad).
const (
	LoadFull      = "full"
	LoadPatched   = "patched"
	LoadUnchanged = "unchanged"
)

// patched is Load's patch path: the config of the current catalog built
// from the last load's entities and the rows the writes since touched;
// nil (no error) means: read everything.
func (s *Source) patched(ctx context.Context) (*gateway.Config, *state, error) {
	cr, ok := s.store.(ChangeReader)
	st := s.state.Load()
	if !ok || st == nil || st.raw == nil || st.version < 0 {
		return nil, nil, nil
	}
	ver, err := s.store.Version(ctx)
	if err != nil || ver <= st.version {
		return nil, nil, nil
	}
	changes, complete, err := cr.ChangesSince(ctx, st.version, ver)
	if err != nil || !complete || len(changes) > maxPatchChanges {
		return nil, nil, nil
	}
	p := &patch{ctx: ctx, cr: cr, r: st.raw.clone(ver), apis: map[string]bool{}, deleted: map[string]bool{}}
	for _, c := range changes {
		if ok, err := p.note(c); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, nil, nil
		}
	}
	if err := p.apply(s); err != nil {
		return nil, nil, err
	}
	return s.mapRaw(ctx, p.r, false)
}

// clone copies r's slices (entities are values; their own slices are
// never changed in place) under a new version.
func (r *raw) clone(version int64) *raw {
	c := *r
	c.version = version
	c.apis = slices.Clone(r.apis)
	c.ops = slices.Clone(r.ops)
	c.docs = slices.Clone(r.docs)
	c.mods = slices.Clone(r.mods)
	c.links = slices.Clone(r.links)
	return &c
}

// patch collects what the writes touched, then re-reads it.
type patch struct {
	ctx      context.Context
	cr       ChangeReader
	r        *raw
	apis     map[string]bool // API IDs to re-read whole
	deleted  map[string]bool // API IDs deleted (maybe created again) since
	docs     []docKey
	products []string
	modules  bool
}

type docKey struct {
	scope catalog.Scope
	id    string
}

// note records one audit entry; false means the patch path cannot handle
// it.
func (p *patch) note(c catalog.AuditEntry) (bool, error) {
	switch c.Entity {
	case "api":
		p.apis[c.EntityID] = true
		if c.Action == "delete" {
			p.deleted[c.EntityID] = true
		}
	case "operation":
		o, err := p.cr.GetOperation(p.ctx, c.EntityID)
		switch {
		case err == nil:
			p.apis[o.APIID] = true
		case errors.Is(err, catalog.ErrNotFound):
			// Deleted: its API is the one the last load knew (created and
			// deleted since: nothing of it was ever mapped).
			if i := slices.IndexFunc(p.r.ops, func(x catalog.Operation) bool { return x.ID == c.EntityID }); i >= 0 {
				p.apis[p.r.ops[i].APIID] = true
			}
		default:
			return false, err
		}
	case "policy":
		scope, id, ok := strings.Cut(c.EntityID, "/")
		if !ok {
			return false, nil
		}
		p.docs = append(p.docs, docKey{catalog.Scope(scope), id})
	case "product":
		p.products = append(p.products, c.EntityID)
	case "module":
		p.modules = true
	case "named-value":
		// read at every mapping (mapRaw → namedValues)
	default:
		if !keyOnly[c.Entity] {
			return false, nil
		}
	}
	return true, nil
}

// apply re-reads what the writes touched into p.r.
func (p *patch) apply(s *Source) error {
	store := s.store
	var err error
	if p.modules {
		if p.r.mods, err = store.ListModules(p.ctx); err != nil {
			return err
		}
	}
	// APIs before products: a deleted API's links go with it, and the
	// links of an API created again since are product writes, re-read
	// after.
	changedAPIs := map[string]bool{}
	for id := range p.apis {
		if err := p.api(store, id); err != nil {
			return err
		}
		changedAPIs[id] = true
	}
	for _, pid := range p.products {
		links, err := store.ListProductAPIs(p.ctx, pid)
		if err != nil {
			return err
		}
		p.r.links = replaceRange(p.r.links, links, func(l catalog.ProductAPI) int { return strings.Compare(l.ProductID, pid) })
		p.docs = append(p.docs, docKey{catalog.ScopeProduct, pid})
	}
	for _, k := range p.docs {
		if err := p.doc(k); err != nil {
			return err
		}
	}
	return p.examples(s, changedAPIs)
}

// api re-reads one API with its operations and their documents.
func (p *patch) api(store Store, id string) error {
	r := p.r
	old := opsOf(r.ops, id)
	a, err := p.cr.GetAPI(p.ctx, id)
	gone := errors.Is(err, catalog.ErrNotFound)
	if err != nil && !gone {
		return err
	}
	if i := slices.IndexFunc(r.apis, func(x catalog.API) bool { return x.ID == id }); i >= 0 {
		r.apis = slices.Delete(r.apis, i, i+1)
	}
	var ops []catalog.Operation
	if !gone {
		a.OpenAPIDoc = nil // ListAPIs leaves it out
		i, _ := slices.BinarySearchFunc(r.apis, a.Name, func(x catalog.API, name string) int { return strings.Compare(x.Name, name) })
		r.apis = slices.Insert(r.apis, i, a)
		if ops, err = store.ListOperations(p.ctx, id); err != nil {
			return err
		}
	}
	if gone || p.deleted[id] {
		r.links = slices.DeleteFunc(r.links, func(l catalog.ProductAPI) bool { return l.APIID == id })
	}
	r.ops = replaceRange(r.ops, ops, func(o catalog.Operation) int { return strings.Compare(o.APIID, id) })
	p.docs = append(p.docs, docKey{catalog.ScopeAPI, id})
	for _, o := range old {
		p.docs = append(p.docs, docKey{catalog.ScopeOperation, o.ID})
	}
	for _, o := range ops {
		p.docs = append(p.docs, docKey{catalog.ScopeOperation, o.ID})
	}
	return nil
}

// doc re-reads one policy document.
func (p *patch) doc(k docKey) error {
	d, err := p.cr.GetPolicy(p.ctx, k.scope, k.id)
	gone := errors.Is(err, catalog.ErrNotFound)
	if err != nil && !gone {
		return err
	}
	cmp := func(x catalog.PolicyDoc, k docKey) int {
		if c := strings.Compare(string(x.Scope), string(k.scope)); c != 0 {
			return c
		}
		return strings.Compare(x.ScopeID, k.id)
	}
	i, found := slices.BinarySearchFunc(p.r.docs, k, cmp)
	switch {
	case gone && found:
		p.r.docs = slices.Delete(p.r.docs, i, i+1)
	case !gone && found:
		p.r.docs[i] = d
	case !gone:
		p.r.docs = slices.Insert(p.r.docs, i, d)
	}
	return nil
}

// examples loads the OpenAPI examples the mock-response policies need,
// reading the documents of the changed APIs only.
func (p *patch) examples(s *Source, changed map[string]bool) error {
	var err error
	p.r.examples, p.r.exKeys, err = s.loadExamplesReusing(p.ctx, mockAPIs(p.r.ops, p.r.docs), p.r.exKeys, changed)
	return err
}

// opsOf returns the operations of API id in ops (sorted by API ID).
func opsOf(ops []catalog.Operation, id string) []catalog.Operation {
	lo, _ := slices.BinarySearchFunc(ops, id, func(o catalog.Operation, id string) int { return strings.Compare(o.APIID, id) })
	hi := lo
	for hi < len(ops) && ops[hi].APIID == id {
		hi++
	}
	return slices.Clone(ops[lo:hi])
}

// replaceRange replaces the run of s for which cmp is 0 (s sorted by cmp's
// key) with repl.
func replaceRange[T any](s, repl []T, cmp func(T) int) []T {
	lo, _ := slices.BinarySearchFunc(s, 0, func(x T, _ int) int { return cmp(x) })
	hi := lo
	for hi < len(s) && cmp(s[hi]) == 0 {
		hi++
	}
	return slices.Replace(s, lo, hi, repl...)
}
