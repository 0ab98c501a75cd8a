package adminapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) grantRoutes(r routes) {
	r.Handle("/modules/{name}/{version}/grant", s.h(s.putGrant)).Methods(http.MethodPut)
	r.Handle("/modules/{name}/{version}/grant", s.h(s.deleteGrant)).Methods(http.MethodDelete)
}

// moduleView is a module as the admin API shows it: what it requests (its
// manifest), what is granted, what is missing (it cannot be attached
// while anything is), and the limits it runs with (its requests clamped
// by the ceilings).
type moduleView struct {
	catalog.Module
	MissingGrants   []string             `json:"missingGrants"`
	EffectiveLimits catalog.ModuleLimits `json:"effectiveLimits"`
}

func (s *server) view(m catalog.Module) moduleView {
	missing := m.MissingGrants()
	if missing == nil {
		missing = []string{}
	}
	if m.Grant.Capabilities == nil {
		m.Grant.Capabilities = []string{}
	}
	if m.Grant.Egress == nil {
		m.Grant.Egress = []string{}
	}
	return moduleView{Module: m, MissingGrants: missing, EffectiveLimits: m.Manifest.Limits.Clamp(s.ceilings)}
}

// grantBody is the body of PUT …/grant: the whole new grant. "all": true
// grants everything the module requests (capabilities and egress).
type grantBody struct {
	All          bool     `json:"all"`
	Capabilities []string `json:"capabilities"`
	Egress       []string `json:"egress"`
}

func (s *server) putGrant(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	var b grantBody
	if err := decode(w, r, maxJSONBody, &b); err != nil {
		return err
	}
	m, err := s.st.GetModule(r.Context(), v["name"], v["version"])
	if err != nil {
		return err
	}
	g := catalog.ModuleGrant{Capabilities: b.Capabilities, Egress: b.Egress}
	if b.All {
		if len(b.Capabilities) > 0 || len(b.Egress) > 0 {
			return invalid("all", "give either all or capabilities/egress, not both")
		}
		g = catalog.ModuleGrant{Capabilities: m.Manifest.Capabilities, Egress: m.Manifest.Egress}
	}
	m, err = s.st.SetModuleGrant(writeCtx(r), m.Name, m.Version, g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(m))
	return nil
}

// deleteGrant revokes everything granted to a module version (409 while a
// policy runs it).
func (s *server) deleteGrant(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	m, err := s.st.SetModuleGrant(writeCtx(r), v["name"], v["version"], catalog.ModuleGrant{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(m))
	return nil
}

// uploadGrant turns the upload form's grant field ("all", or capability
// names separated by commas) into a grant of m's requests.
func uploadGrant(m *catalog.Module, field string) error {
	field = strings.TrimSpace(field)
	if field == "" {
		return nil
	}
	if field == "all" {
		m.Grant = catalog.ModuleGrant{Capabilities: slices.Clone(m.Manifest.Capabilities), Egress: slices.Clone(m.Manifest.Egress)}
	} else {
		var caps []string
		for _, c := range strings.Split(field, ",") {
			caps = append(caps, strings.TrimSpace(c))
		}
		m.Grant = catalog.ModuleGrant{Capabilities: caps}
	}
	g, err := m.CheckGrant(m.Grant)
	if err != nil {
		fe := err.(*catalog.FieldError)
		return invalid("grant", "%s", fe.Msg)
	}
	m.Grant = g
	return nil
}
