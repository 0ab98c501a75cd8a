package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/catalog"
)

// Modules: upload (with the host's validation result), what each version
// requests and was granted (grant and revoke), which attachments use which
// version, and rolling an attachment back by pinning it to a version.

func (s *Server) moduleRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/modules", s.auth(s.modules))
	m.HandleFunc("POST "+Prefix+"/modules", s.auth(s.uploadModule))
	m.HandleFunc("GET "+Prefix+"/modules/{name}/{version}", s.auth(s.modulePage))
	m.HandleFunc("POST "+Prefix+"/modules/{name}/{version}/grant", s.auth(s.grantModule))
	m.HandleFunc("POST "+Prefix+"/modules/{name}/{version}/revoke", s.auth(s.revokeModule))
	m.HandleFunc("POST "+Prefix+"/modules/{name}/{version}/delete", s.auth(s.deleteModule))
	m.HandleFunc("POST "+Prefix+"/modules/{name}/pin", s.auth(s.pinAttachment))
}

// moduleRow is a module version as listed.
type moduleRow struct {
	catalog.Module
	Missing []string
	// Uses counts the attachments that resolve to this version.
	Uses int
}

// attachment is one policy entry that references a module.
type attachment struct {
	Scope    catalog.Scope
	ScopeID  string
	Section  string
	Index    int
	Ref      string // as written: name or name@version
	Policy   string
	Pinned   bool
	Resolved string // the version it runs ("" when none is granted)
	Link     string // the policy editor page
}

// attachments walks every stored policy document for entries referencing
// module name (as the entry or its fallback), with the version each
// resolves to among the granted versions (as the gateway resolves it).
func (s *Server) attachments(r *http.Request, name string, mods []catalog.Module) ([]attachment, error) {
	docs, err := s.st.ListPolicies(r.Context())
	if err != nil {
		return nil, err
	}
	var out []attachment
	for _, d := range docs {
		for _, sec := range []struct {
			name    string
			entries []catalog.PolicyEntry
		}{{"inbound", d.Inbound}, {"backend", d.Backend}, {"outbound", d.Outbound}, {"onError", d.OnError}} {
			for i, e := range sec.entries {
				if e.Base || e.Module == "" {
					continue
				}
				n, v, err := catalog.ParseModuleRef(e.Module)
				if err != nil || n != name {
					continue
				}
				a := attachment{Scope: d.Scope, ScopeID: d.ScopeID, Section: sec.name, Index: i, Ref: e.Module, Policy: e.Policy, Pinned: v != "", Link: policyLink(d.Scope, d.ScopeID)}
				if m, err := catalog.ResolveGranted(mods, e.Module); err == nil {
					a.Resolved = m.Version
				}
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func policyLink(scope catalog.Scope, id string) string {
	if scope == catalog.ScopeGlobal {
		return Prefix + "/policies/global"
	}
	return Prefix + "/policies/" + string(scope) + "/" + url.PathEscape(id)
}

func (s *Server) modules(w http.ResponseWriter, r *http.Request) error {
	return s.renderModules(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderModules(w http.ResponseWriter, r *http.Request, status int, errMsg string, form map[string]string) error {
	mods, err := s.st.ListModules(r.Context())
	if err != nil {
		return err
	}
	uses := map[string]int{}
	names := map[string]bool{}
	for _, m := range mods {
		if !names[m.Name] {
			names[m.Name] = true
			atts, err := s.attachments(r, m.Name, mods)
			if err != nil {
				return err
			}
			for _, a := range atts {
				uses[m.Name+"@"+a.Resolved]++
			}
		}
	}
	rows := make([]moduleRow, 0, len(mods))
	for _, m := range mods {
		rows = append(rows, moduleRow{Module: m, Missing: m.MissingGrants(), Uses: uses[m.Name+"@"+m.Version]})
	}
	slices.SortStableFunc(rows, func(a, b moduleRow) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		return -catalog.CompareSemver(a.Version, b.Version)
	})
	s.render(w, r, status, "modules", map[string]any{"Title": "Modules", "Modules": rows, "Error": errMsg, "Form": form})
	return nil
}

// uploadModule forwards the upload to the admin API (which runs the host's
// validation: ABI, imports, exports) and shows the stored module or the
// validation's refusal.
func (s *Server) uploadModule(w http.ResponseWriter, r *http.Request) error {
	fields := map[string]string{"name": form(r, "name"), "version": form(r, "version"), "manifest": r.PostFormValue("manifest")}
	show := func(msg string) error { return s.renderModules(w, r, http.StatusBadRequest, msg, fields) }
	f, hdr, err := r.FormFile("wasm")
	if err != nil {
		return show("choose the module's .wasm file")
	}
	defer f.Close()
	if mf, _, err := r.FormFile("manifestFile"); err == nil {
		b, err := io.ReadAll(io.LimitReader(mf, 1<<20))
		mf.Close()
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			fields["manifest"] = string(b)
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range []string{"name", "version", "manifest"} {
		if fields[k] != "" {
			mw.WriteField(k, fields[k])
		}
	}
	if checked(r, "grantAll") {
		mw.WriteField("grant", "all")
	}
	part, err := mw.CreateFormFile("wasm", hdr.Filename)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, f); err != nil {
		return err
	}
	mw.Close()
	var out catalog.Module
	if err := s.call(r, http.MethodPost, "/modules", mw.FormDataContentType(), &body, &out); err != nil {
		return s.retry(err, func(msg string) error { return show("The host refused the module: " + msg) })
	}
	redirect(w, r, Prefix+"/modules/"+url.PathEscape(out.Name)+"/"+url.PathEscape(out.Version), "uploaded")
	return nil
}

func (s *Server) modulePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderModule(w, r, http.StatusOK, "")
}

func (s *Server) renderModule(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	name, version := r.PathValue("name"), r.PathValue("version")
	mods, err := s.st.ListModules(r.Context())
	if err != nil {
		return err
	}
	var m *catalog.Module
	var versions []catalog.Module
	for i := range mods {
		if mods[i].Name == name {
			versions = append(versions, mods[i])
			if mods[i].Version == version {
				m = &mods[i]
			}
		}
	}
	if m == nil {
		return errNotFound
	}
	slices.SortStableFunc(versions, func(a, b catalog.Module) int { return -catalog.CompareSemver(a.Version, b.Version) })
	atts, err := s.attachments(r, name, mods)
	if err != nil {
		return err
	}
	type item struct {
		Name             string
		Requested, Given bool
	}
	var caps, egress []item
	for _, c := range m.Manifest.Capabilities {
		caps = append(caps, item{c, true, slices.Contains(m.Grant.Capabilities, c)})
	}
	for _, e := range m.Manifest.Egress {
		egress = append(egress, item{e, true, slices.Contains(m.Grant.Egress, e)})
	}
	var policies []string
	for _, p := range m.Manifest.Policies {
		policies = append(policies, p.Name)
	}
	schema, _ := json.MarshalIndent(m.Manifest.ConfigSchema, "", "  ")
	if len(m.Manifest.ConfigSchema) == 0 {
		schema = nil
	}
	s.render(w, r, status, "module", map[string]any{"Title": "Module " + m.Name + "@" + m.Version, "Nav": "module", "Module": m,
		"Builtin": m.Name == catalog.BuiltinModuleName, "Missing": m.MissingGrants(), "Caps": caps, "Egress": egress,
		"Versions": versions, "Attachments": atts, "Policies": policies, "Schema": string(schema), "Error": errMsg})
	return nil
}

// grantModule grants the checked capabilities and egress destinations
// (everything else the version requests stays refused).
func (s *Server) grantModule(w http.ResponseWriter, r *http.Request) error {
	name, version := r.PathValue("name"), r.PathValue("version")
	r.ParseForm()
	body := map[string]any{"capabilities": nonNil(r.PostForm["capability"]), "egress": nonNil(r.PostForm["egress"])}
	if err := s.callJSON(r, http.MethodPut, "/modules/"+url.PathEscape(name)+"/"+url.PathEscape(version)+"/grant", body, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderModule(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/modules/"+url.PathEscape(name)+"/"+url.PathEscape(version), "granted")
	return nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) revokeModule(w http.ResponseWriter, r *http.Request) error {
	name, version := r.PathValue("name"), r.PathValue("version")
	if err := s.callJSON(r, http.MethodDelete, "/modules/"+url.PathEscape(name)+"/"+url.PathEscape(version)+"/grant", nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderModule(w, r, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/modules/"+url.PathEscape(name)+"/"+url.PathEscape(version), "revoked")
	return nil
}

func (s *Server) deleteModule(w http.ResponseWriter, r *http.Request) error {
	name, version := r.PathValue("name"), r.PathValue("version")
	if form(r, "confirm") != name+"@"+version {
		return s.renderModule(w, r, http.StatusBadRequest, "Type "+name+"@"+version+" to confirm the deletion.")
	}
	if err := s.callJSON(r, http.MethodDelete, "/modules/"+url.PathEscape(name)+"/"+url.PathEscape(version), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderModule(w, r, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/modules", "deleted")
	return nil
}

// pinAttachment rewrites one policy entry's module reference to
// name@version (or to plain name: "newest granted"), through the admin
// API's whole-document PUT, which validates the config against that
// version's schema. This is how an attachment is rolled back.
func (s *Server) pinAttachment(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	scope, scopeID, section := catalog.Scope(form(r, "scope")), form(r, "scopeId"), form(r, "section")
	index, err := strconv.Atoi(form(r, "index"))
	if err != nil || index < 0 {
		return &statusError{http.StatusBadRequest, "index: a position in the section"}
	}
	version := form(r, "version")
	path := "/policies/global"
	if scope != catalog.ScopeGlobal {
		path = "/policies/" + url.PathEscape(string(scope)) + "/" + url.PathEscape(scopeID)
	}
	var doc map[string]json.RawMessage
	if err := s.callJSON(r, http.MethodGet, path, nil, &doc); err != nil {
		return err
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(doc[section], &entries); err != nil || index >= len(entries) {
		return &statusError{http.StatusConflict, fmt.Sprintf("the policy changed: %s has no entry %d any more; reload the page", section, index)}
	}
	var ref string
	json.Unmarshal(entries[index]["module"], &ref)
	if n, _, err := catalog.ParseModuleRef(ref); err != nil || n != name {
		return &statusError{http.StatusConflict, fmt.Sprintf("the policy changed: %s[%d] is no longer module %s; reload the page", section, index, name)}
	}
	newRef := name
	if version != "" {
		newRef = name + "@" + version
	}
	entries[index]["module"], _ = json.Marshal(newRef)
	doc[section], _ = json.Marshal(entries)
	if err := s.callJSON(r, http.MethodPut, path, doc, nil); err != nil {
		return s.retry(err, func(msg string) error {
			r.SetPathValue("version", form(r, "from"))
			return s.renderModule(w, r, http.StatusBadRequest, "Pinning refused: "+msg)
		})
	}
	back := form(r, "from")
	redirect(w, r, Prefix+"/modules/"+url.PathEscape(name)+"/"+url.PathEscape(back), "pinned")
	return nil
}
