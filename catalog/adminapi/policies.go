package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

const sectionRe = "{section:inbound|backend|outbound|onError}"

func (s *server) policyRoutes(r routes) {
	r.Handle("/policies", s.h(s.listPolicies)).Methods(http.MethodGet)
	for _, base := range []string{"/policies/global", "/policies/{scope:product|api|operation}/{scopeId}"} {
		r.Handle(base, s.h(s.getPolicy)).Methods(http.MethodGet)
		r.Handle(base, s.h(s.putPolicy)).Methods(http.MethodPut)
		r.Handle(base, s.h(s.deletePolicy)).Methods(http.MethodDelete)
		r.Handle(base+"/"+sectionRe, s.h(s.attachEntry)).Methods(http.MethodPost)
		r.Handle(base+"/"+sectionRe+"/{index:[0-9]+}", s.h(s.detachEntry)).Methods(http.MethodDelete)
		r.Handle(base+"/"+sectionRe+"/{index:[0-9]+}/move", s.h(s.moveEntry)).Methods(http.MethodPost)
	}
}

// section is one named section of a policy document.
type section struct {
	name    string
	entries *[]catalog.PolicyEntry
}

func sections(d *catalog.PolicyDoc) []section {
	return []section{{"inbound", &d.Inbound}, {"backend", &d.Backend}, {"outbound", &d.Outbound}, {"onError", &d.OnError}}
}

func sectionOf(d *catalog.PolicyDoc, name string) *[]catalog.PolicyEntry {
	for _, s := range sections(d) {
		if s.name == name {
			return s.entries
		}
	}
	return nil
}

// policyScope is the scope addressed by the path.
func policyScope(r *http.Request) (catalog.Scope, string) {
	v := mux.Vars(r)
	if sc, ok := v["scope"]; ok {
		return catalog.Scope(sc), v["scopeId"]
	}
	return catalog.ScopeGlobal, ""
}

func (s *server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindPolicies, "")
	if err != nil {
		return err
	}
	ds, err := s.st.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	for i := range ds {
		ds[i] = catalog.MaskPolicySecrets(ds[i])
	}
	sliceAnswer(w, s, pq, ds, func(d catalog.PolicyDoc) catalog.PageKey { return catalog.PageKey{S: string(d.Scope), T: d.ScopeID} })
	return nil
}

func (s *server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	scope, id := policyScope(r)
	d, err := s.st.GetPolicy(r.Context(), scope, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", policyETag(d))
	writeJSON(w, http.StatusOK, catalog.MaskPolicySecrets(d))
	return nil
}

func (s *server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	scope, id := policyScope(r)
	var d catalog.PolicyDoc
	if err := decode(w, r, maxJSONBody, &d); err != nil {
		return err
	}
	if d.Scope != "" && d.Scope != scope {
		return invalid("scope", "%q does not match %q in the path", d.Scope, scope)
	}
	d.Scope = scope
	if err := pathID("scopeId", &d.ScopeID, id); err != nil {
		return err
	}
	return s.storePolicy(w, r, d)
}

// storePolicy checks d and stores it, answering the stored document
// (inline secrets masked). Entries that still carry the mask of an inline
// secret, as a GET answered them, get their stored config back
// (catalog.UnmaskPolicySecrets).
func (s *server) storePolicy(w http.ResponseWriter, r *http.Request, d catalog.PolicyDoc) error {
	cur, err := s.st.GetPolicy(r.Context(), d.Scope, d.ScopeID)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return err
	}
	if err := checkIfMatch(r, d.Scope, d.ScopeID, cur, err == nil); err != nil {
		return err
	}
	if d, err = catalog.UnmaskPolicySecrets(d, cur); err != nil {
		return err
	}
	if err := s.checkPolicy(r.Context(), &d); err != nil {
		return err
	}
	if err := s.st.SetPolicy(writeCtx(r), d); err != nil {
		return err
	}
	s.setPolicyETag(w, r, d.Scope, d.ScopeID)
	writeJSON(w, http.StatusOK, catalog.MaskPolicySecrets(d))
	return nil
}

func (s *server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	scope, id := policyScope(r)
	if err := s.st.DeletePolicy(writeCtx(r), scope, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// currentPolicy returns the document of the addressed scope, or an empty
// one when none is stored.
func (s *server) currentPolicy(r *http.Request) (catalog.PolicyDoc, error) {
	scope, id := policyScope(r)
	d, err := s.st.GetPolicy(r.Context(), scope, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return catalog.PolicyDoc{Scope: scope, ScopeID: id}, nil
	}
	return d, err
}

func (s *server) attachEntry(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Entry    *catalog.PolicyEntry `json:"entry"`
		Position *int                 `json:"position"`
	}
	if err := decode(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	if body.Entry == nil {
		return invalid("entry", "required")
	}
	d, err := s.currentPolicy(r)
	if err != nil {
		return err
	}
	sec := sectionOf(&d, mux.Vars(r)["section"])
	if *sec == nil && d.Scope != catalog.ScopeGlobal {
		// A section the scope does not have yet starts as APIM's default,
		// <base/>, so attaching one policy does not drop the parent's.
		*sec = []catalog.PolicyEntry{{Base: true}}
	}
	pos := len(*sec)
	if body.Position != nil {
		if *body.Position < 0 || *body.Position > len(*sec) {
			return invalid("position", "must be between 0 and %d", len(*sec))
		}
		pos = *body.Position
	}
	entries := make([]catalog.PolicyEntry, 0, len(*sec)+1)
	entries = append(append(append(entries, (*sec)[:pos]...), *body.Entry), (*sec)[pos:]...)
	*sec = entries
	return s.storePolicy(w, r, d)
}

// entryIndex returns the section and index addressed by the path (404
// when there is no such entry).
func (s *server) entryIndex(r *http.Request, d *catalog.PolicyDoc) (*[]catalog.PolicyEntry, int, error) {
	v := mux.Vars(r)
	sec := sectionOf(d, v["section"])
	i, err := strconv.Atoi(v["index"])
	if err != nil || i >= len(*sec) {
		return nil, 0, notFound("%s has no entry %s[%s]", scopeLabel(d.Scope, d.ScopeID), v["section"], v["index"])
	}
	return sec, i, nil
}

func (s *server) detachEntry(w http.ResponseWriter, r *http.Request) error {
	scope, id := policyScope(r)
	d, err := s.st.GetPolicy(r.Context(), scope, id)
	if err != nil {
		return err
	}
	sec, i, err := s.entryIndex(r, &d)
	if err != nil {
		return err
	}
	*sec = append((*sec)[:i:i], (*sec)[i+1:]...)
	if err := s.checkPolicy(r.Context(), &d); err != nil {
		return err
	}
	if err := s.st.SetPolicy(writeCtx(r), d); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) moveEntry(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		To *int `json:"to"`
	}
	if err := decode(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	if body.To == nil {
		return invalid("to", "required")
	}
	scope, id := policyScope(r)
	d, err := s.st.GetPolicy(r.Context(), scope, id)
	if err != nil {
		return err
	}
	sec, i, err := s.entryIndex(r, &d)
	if err != nil {
		return err
	}
	to := *body.To
	if to < 0 || to >= len(*sec) {
		return invalid("to", "must be between 0 and %d", len(*sec)-1)
	}
	e := (*sec)[i]
	rest := append((*sec)[:i:i], (*sec)[i+1:]...)
	moved := make([]catalog.PolicyEntry, 0, len(*sec))
	moved = append(append(append(moved, rest[:to]...), e), rest[to:]...)
	*sec = moved
	return s.storePolicy(w, r, d)
}

// checkPolicy validates d beyond the catalog's own checks: every module
// an entry references must be uploaded and provide the policy, and each
// entry's config must satisfy the policy's JSON Schema. All config
// failures are reported together.
func (s *server) checkPolicy(ctx context.Context, d *catalog.PolicyDoc) error {
	return s.checkPolicyWith(ctx, d, s.st.ListModules, s.st.ListNamedValues)
}

// checkPolicyWith is checkPolicy reading the modules and named values
// through the given functions (an apply lists them once for all its
// policies: apply).
func (s *server) checkPolicyWith(ctx context.Context, d *catalog.PolicyDoc,
	listModules func(context.Context) ([]catalog.Module, error),
	listNamedValues func(context.Context) ([]catalog.NamedValue, error)) error {
	if err := d.Validate(); err != nil {
		return err
	}
	mods, err := listModules(ctx)
	if err != nil {
		return err
	}
	values, secrets, err := namedValuesOf(ctx, d, listNamedValues)
	if err != nil {
		return err
	}
	var bad []fieldMsg
	for _, sec := range sections(d) {
		for i, e := range *sec.entries {
			if e.Base {
				continue
			}
			p := fmt.Sprintf("%s[%d]", sec.name, i)
			m, err := catalog.ResolveGranted(mods, e.Module)
			if err != nil {
				return invalid(p+".module", "%s", err)
			}
			if e.Fallback != "" {
				if _, err := catalog.ResolveGranted(mods, e.Fallback); err != nil {
					return invalid(p+".fallback", "%s", err)
				}
			}
			schema, ok := m.Manifest.PolicySchema(m.Name, e.Policy)
			if !ok {
				return invalid(p+".policy", "module %s@%s provides no policy %q", m.Name, m.Version, e.Policy)
			}
			if len(schema) == 0 {
				continue
			}
			policy := e.Policy
			if policy == "" {
				policy = m.Name
			}
			sch, err := s.schemas.get(m.SHA256+"\x00"+policy, schema)
			if err != nil {
				return invalid(p+".module", "the config schema of %s@%s policy %q does not compile: %v", m.Name, m.Version, policy, err)
			}
			// The schema checks the config the gateway will run: with
			// named values substituted. Messages never carry a secret.
			cfg, err := catalog.ResolveNamedValues(e.Config, values)
			if err != nil {
				return invalid(p+".config", "%v", err)
			}
			for _, f := range validateConfig(sch, p+".config", cfg) {
				for _, sv := range secrets {
					f.Message = strings.ReplaceAll(f.Message, sv, catalog.Mask)
				}
				bad = append(bad, f)
			}
		}
	}
	if len(bad) > 0 {
		msg := "invalid " + bad[0].Path + ": " + bad[0].Message
		// (secret values were masked in every message above)
		if len(bad) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(bad)-1)
		}
		return &httpError{status: http.StatusBadRequest, code: "invalid", msg: msg, fields: bad}
	}
	return nil
}

// namedValuesOf returns the values of the named values d references, and
// the values of those that are secret (to keep them out of messages). It
// reads nothing when d references none.
func namedValuesOf(ctx context.Context, d *catalog.PolicyDoc, list func(context.Context) ([]catalog.NamedValue, error)) (values map[string]string, secrets []string, err error) {
	want := map[string]bool{}
	for _, sec := range sections(d) {
		for _, e := range *sec.entries {
			for _, n := range catalog.NamedValueRefs(e.Config) {
				want[n] = true
			}
		}
	}
	if len(want) == 0 {
		return nil, nil, nil
	}
	ns, err := list(ctx)
	if err != nil {
		return nil, nil, err
	}
	values = map[string]string{}
	for _, n := range ns {
		if !want[n.Name] {
			continue
		}
		values[n.Name] = n.Value
		if n.Secret && n.Value != "" {
			secrets = append(secrets, n.Value)
		}
	}
	return values, secrets, nil
}
