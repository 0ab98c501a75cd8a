package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
)

func (s *server) apiRoutes(r routes) {
	r.Handle("/apis", s.h(s.listAPIs)).Methods(http.MethodGet)
	r.Handle("/apis", s.h(s.createAPI)).Methods(http.MethodPost)
	r.Handle("/apis/import", s.h(s.importAPI)).Methods(http.MethodPost)
	r.Handle("/apis/{apiId}", s.h(s.getAPI)).Methods(http.MethodGet)
	r.Handle("/apis/{apiId}", s.h(s.updateAPI)).Methods(http.MethodPut)
	r.Handle("/apis/{apiId}", s.h(s.deleteAPI)).Methods(http.MethodDelete)
	r.Handle("/apis/{apiId}/openapi", s.h(s.getAPIDocument)).Methods(http.MethodGet)
	r.Handle("/apis/{apiId}/operations", s.h(s.listOperations)).Methods(http.MethodGet)
	r.Handle("/apis/{apiId}/operations", s.h(s.createOperation)).Methods(http.MethodPost)
	r.Handle("/apis/{apiId}/operations/{opId}", s.h(s.getOperation)).Methods(http.MethodGet)
	r.Handle("/apis/{apiId}/operations/{opId}", s.h(s.updateOperation)).Methods(http.MethodPut)
	r.Handle("/apis/{apiId}/operations/{opId}", s.h(s.deleteOperation)).Methods(http.MethodDelete)
	r.Handle("/apis/{apiId}/operations/{opId}/effective-policy", s.h(s.effectivePolicy)).Methods(http.MethodGet)
}

func (s *server) listAPIs(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindAPIs, "", "namePrefix", "pathPrefix")
	if err != nil {
		return err
	}
	p, err := s.pager.ListAPIsPage(r.Context(), catalog.APIPageFilter{NamePrefix: pq.q.Get("namePrefix"), PathPrefix: pq.q.Get("pathPrefix")}, pq.req)
	if err != nil {
		return err
	}
	for i := range p.Items {
		p.Items[i].OpenAPIDoc = nil
	}
	writePage(w, s, pq, p)
	return nil
}

func (s *server) createAPI(w http.ResponseWriter, r *http.Request) error {
	var a catalog.API
	if err := decode(w, r, maxJSONBody, &a); err != nil {
		return err
	}
	a, err := s.st.CreateAPI(writeCtx(r), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *server) getAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.st.GetAPI(r.Context(), mux.Vars(r)["apiId"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// updateAPI replaces the API. An absent openApiDoc keeps the stored one
// (it is set by imports).
func (s *server) updateAPI(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["apiId"]
	var a catalog.API
	if err := decode(w, r, maxJSONBody, &a); err != nil {
		return err
	}
	if err := pathID("id", &a.ID, id); err != nil {
		return err
	}
	old, err := s.st.GetAPI(r.Context(), id)
	if err != nil {
		return err
	}
	if a.OpenAPIDoc == nil {
		a.OpenAPIDoc = old.OpenAPIDoc
	}
	a, err = s.st.UpdateAPI(writeCtx(r), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *server) deleteAPI(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteAPI(writeCtx(r), mux.Vars(r)["apiId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getAPIDocument(w http.ResponseWriter, r *http.Request) error {
	a, err := s.st.GetAPI(r.Context(), mux.Vars(r)["apiId"])
	if err != nil {
		return err
	}
	if len(a.OpenAPIDoc) == 0 {
		return notFound("api %q has no OpenAPI document", a.ID)
	}
	ct := "application/yaml"
	if t := bytes.TrimSpace(a.OpenAPIDoc); len(t) > 0 && t[0] == '{' {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(a.OpenAPIDoc)
	return nil
}

// importRequest is the body of POST /apis/import.
type importRequest struct {
	APIID                string `json:"apiId"`
	Name                 string `json:"name"`
	PathPrefix           string `json:"pathPrefix"`
	BackendURL           string `json:"backendUrl"`
	SubscriptionRequired *bool  `json:"subscriptionRequired"`
	Document             string `json:"document"`
	// Transport settings, as in an API (backendProtocol, backendTls,
	// clientCertificate, websocket): on re-import, a field given (null
	// clears it) replaces the stored one and an absent one is kept.
	catalog.APITransport
}

type importReport struct {
	API     catalog.API         `json:"api"`
	Created []catalog.Operation `json:"created"`
	Updated []catalog.Operation `json:"updated"`
	Deleted []catalog.Operation `json:"deleted"`
}

func (s *server) importAPI(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDocumentBody))
	if err != nil {
		return jsonError(err, maxDocumentBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req importRequest
	if err := decode(w, r, maxDocumentBody, &req); err != nil {
		return err
	}
	fields := oasimport.TransportFieldNames // a create takes all (absent: none)
	if req.APIID != "" {
		var given map[string]json.RawMessage // which are given, null included
		_ = json.Unmarshal(body, &given)
		fields = nil
		for _, f := range oasimport.TransportFieldNames {
			if _, ok := given[f]; ok {
				fields = append(fields, f)
			}
		}
	}
	if req.Document == "" {
		return invalid("document", "must not be empty")
	}
	if req.BackendURL != "" {
		if err := catalog.ValidateBackendURL("backendUrl", req.BackendURL); err != nil {
			return err
		}
	}
	rep, err := oasimport.Import(writeCtx(r), s.st, oasimport.Request{
		APIID: req.APIID, Name: req.Name, PathPrefix: req.PathPrefix, BackendURL: req.BackendURL,
		SubscriptionRequired: req.SubscriptionRequired, Document: []byte(req.Document),
		Transport: req.APITransport, TransportFields: fields,
	})
	if err != nil {
		return err
	}
	if rep == nil {
		return errors.New("oasimport.Import returned no report")
	}
	out := importReport{API: rep.API, Created: nonNil(rep.Created), Updated: nonNil(rep.Updated), Deleted: nonNil(rep.Deleted)}
	out.API.OpenAPIDoc = nil
	status := http.StatusOK
	if req.APIID == "" {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// pathID checks that an ID given in the body matches the one in the path,
// and fills it in when absent.
func pathID(field string, body *string, path string) error {
	if *body != "" && *body != path {
		return invalid(field, "%q does not match %q in the path", *body, path)
	}
	*body = path
	return nil
}

func (s *server) listOperations(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["apiId"]
	if _, err := s.st.GetAPI(r.Context(), id); err != nil {
		return err
	}
	pq, err := s.parsePage(r, kindOperations, id)
	if err != nil {
		return err
	}
	ops, err := s.st.ListOperations(r.Context(), id)
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, ops, func(o catalog.Operation) catalog.PageKey { return catalog.PageKey{S: o.URLTemplate, T: o.Method} })
	return nil
}

func (s *server) createOperation(w http.ResponseWriter, r *http.Request) error {
	apiID := mux.Vars(r)["apiId"]
	var o catalog.Operation
	if err := decode(w, r, maxJSONBody, &o); err != nil {
		return err
	}
	if err := pathID("apiId", &o.APIID, apiID); err != nil {
		return err
	}
	if _, err := s.st.GetAPI(r.Context(), apiID); err != nil {
		return err
	}
	o, err := s.st.CreateOperation(writeCtx(r), o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

// operation returns the operation addressed by the path (404 when it does
// not exist or belongs to another API).
func (s *server) operation(r *http.Request) (catalog.Operation, error) {
	v := mux.Vars(r)
	o, err := s.st.GetOperation(r.Context(), v["opId"])
	if err != nil {
		return o, err
	}
	if o.APIID != v["apiId"] {
		return o, notFound("api %q has no operation %q", v["apiId"], v["opId"])
	}
	return o, nil
}

func (s *server) getOperation(w http.ResponseWriter, r *http.Request) error {
	o, err := s.operation(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *server) updateOperation(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	var o catalog.Operation
	if err := decode(w, r, maxJSONBody, &o); err != nil {
		return err
	}
	if err := pathID("id", &o.ID, v["opId"]); err != nil {
		return err
	}
	if err := pathID("apiId", &o.APIID, v["apiId"]); err != nil {
		return err
	}
	if _, err := s.operation(r); err != nil {
		return err
	}
	o, err := s.st.UpdateOperation(writeCtx(r), o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *server) deleteOperation(w http.ResponseWriter, r *http.Request) error {
	o, err := s.operation(r)
	if err != nil {
		return err
	}
	if err := s.st.DeleteOperation(writeCtx(r), o.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
