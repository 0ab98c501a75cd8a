package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) moduleRoutes(r routes) {
	r.Handle("/modules", s.h(s.listModules)).Methods(http.MethodGet)
	r.Handle("/modules", s.h(s.uploadModule)).Methods(http.MethodPost)
	r.Handle("/modules/{name}/{version}", s.h(s.getModule)).Methods(http.MethodGet)
	r.Handle("/modules/{name}/{version}", s.h(s.deleteModule)).Methods(http.MethodDelete)
	r.Handle("/modules/{name}/{version}/wasm", s.h(s.getModuleWasm)).Methods(http.MethodGet)
	s.grantRoutes(r)
}

func (s *server) listModules(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindModules, "")
	if err != nil {
		return err
	}
	ms, err := s.st.ListModules(r.Context())
	if err != nil {
		return err
	}
	if pq.paged {
		p := catalog.PageSlice(ms, func(m catalog.Module) catalog.PageKey { return catalog.PageKey{S: m.Name, T: m.Version} }, false, pq.req)
		views := make([]moduleView, len(p.Items))
		for i, m := range p.Items {
			views[i] = s.view(m)
		}
		writePage(w, s, pq, catalog.Page[moduleView]{Items: views, More: p.More, Next: p.Next})
		return nil
	}
	views := make([]moduleView, len(ms))
	for i, m := range ms {
		views[i] = s.view(m)
	}
	writeJSON(w, http.StatusOK, list(views))
	return nil
}

func (s *server) getModule(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	m, err := s.st.GetModule(r.Context(), v["name"], v["version"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(m))
	return nil
}

func (s *server) getModuleWasm(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	m, err := s.st.GetModule(r.Context(), v["name"], v["version"])
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Wasm)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(m.Wasm)
	return nil
}

// deleteModule deletes one version; 409 while a policy entry pins it, or
// names the module without a version and this is its last version.
func (s *server) deleteModule(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	name, version := v["name"], v["version"]
	if _, err := s.st.GetModule(r.Context(), name, version); err != nil {
		return err
	}
	ms, err := s.st.ListModules(r.Context())
	if err != nil {
		return err
	}
	versions := 0
	for _, m := range ms {
		if m.Name == name {
			versions++
		}
	}
	docs, err := s.st.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	for _, d := range docs {
		for _, sec := range sections(&d) {
			for i, e := range *sec.entries {
				for _, ref := range []string{e.Module, e.Fallback} {
					n, ver, err := catalog.ParseModuleRef(ref)
					if e.Base || ref == "" || err != nil || n != name {
						continue
					}
					if ver == version || (ver == "" && versions == 1) {
						return conflict("module %s@%s is used by policy %s %s[%d]", name, version, scopeLabel(d.Scope, d.ScopeID), sec.name, i)
					}
				}
			}
		}
	}
	if err := s.st.DeleteModule(writeCtx(r), name, version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func scopeLabel(scope catalog.Scope, id string) string {
	if id == "" {
		return string(scope)
	}
	return string(scope) + "/" + id
}

// uploadModule stores a module sent as multipart/form-data with fields
// name, version, optional manifest (JSON), optional grant ("all" or
// capability names separated by commas) and the file wasm. The host
// validates the module and derives abiVersion and capabilities (what the
// module requests); the grant field grants them at upload.
func (s *server) uploadModule(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "module uploads must be multipart/form-data"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxModuleBody)
	m, grant, err := readModuleForm(r)
	if err != nil {
		return err
	}
	if s.validate == nil {
		return errors.New("adminapi: no module validator configured")
	}
	if m.Name == "" {
		return invalid("name", "must not be empty")
	}
	if err := catalog.ValidateSemver("version", m.Version); err != nil {
		return err
	}
	abi, caps, err := s.validate(r.Context(), m.Wasm)
	if err != nil {
		return invalid("wasm", "%v", err)
	}
	m.Manifest.ABIVersion, m.Manifest.Capabilities = abi, caps
	if err := uploadGrant(&m, grant); err != nil {
		return err
	}
	if len(m.Manifest.ConfigSchema) > 0 {
		if _, err := compileSchema(m.Manifest.ConfigSchema); err != nil {
			return invalid("manifest.configSchema", "not a valid JSON Schema: %v", err)
		}
	}
	for i, p := range m.Manifest.Policies {
		if len(p.ConfigSchema) > 0 {
			if _, err := compileSchema(p.ConfigSchema); err != nil {
				return invalid(fmt.Sprintf("manifest.policies[%d].configSchema", i), "not a valid JSON Schema: %v", err)
			}
		}
	}
	m, err = s.st.CreateModule(writeCtx(r), m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.view(m))
	return nil
}

// readModuleForm reads the parts of a module upload.
func readModuleForm(r *http.Request) (catalog.Module, string, error) {
	var m catalog.Module
	var grant string
	mr, err := r.MultipartReader()
	if err != nil {
		return m, "", invalid("", "malformed multipart body: %v", err)
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, "", bodyErr(err, "malformed multipart body")
		}
		field := part.FormName()
		if seen[field] {
			return m, "", invalid(field, "given more than once")
		}
		seen[field] = true
		limit := int64(maxJSONBody)
		if field == "wasm" {
			limit = maxModuleBody
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return m, "", bodyErr(err, "reading field "+field)
		}
		if int64(len(b)) > limit {
			return m, "", &httpError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("field %s larger than %d bytes", field, limit)}
		}
		switch field {
		case "name":
			m.Name = strings.TrimSpace(string(b))
		case "version":
			m.Version = strings.TrimSpace(string(b))
		case "manifest":
			if err := decodeManifest(b, &m.Manifest); err != nil {
				return m, "", err
			}
		case "grant":
			grant = string(b)
		case "wasm":
			m.Wasm = b
		default:
			return m, "", invalid(field, "unknown field")
		}
	}
	if len(m.Wasm) == 0 {
		return m, "", invalid("wasm", "the module file is required")
	}
	return m, grant, nil
}

func bodyErr(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
	}
	return invalid("", "%s: %v", what, err)
}

// decodeManifest strictly decodes the manifest field; field paths are
// prefixed with "manifest.".
func decodeManifest(b []byte, mf *catalog.ModuleManifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(mf)
	if err == nil && dec.Decode(&json.RawMessage{}) != io.EOF {
		return invalid("manifest", "trailing data after the JSON value")
	}
	if err != nil {
		he := jsonError(err, maxJSONBody)
		for i := range he.fields {
			he.fields[i].Path = "manifest." + he.fields[i].Path
		}
		if len(he.fields) == 0 {
			he.fields = []fieldMsg{{Path: "manifest", Message: he.msg}}
		}
		he.msg = "invalid manifest: " + he.msg
		return he
	}
	return nil
}
