package adminapi

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) getVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := s.st.Version(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Version int64 `json:"version"`
	}{v})
	return nil
}

func (s *server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(openAPIDoc)
	return nil
}

const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

func (s *server) listAudit(w http.ResponseWriter, r *http.Request) error {
	// The audit log always pages (newest first, 100 by default) and caps
	// a larger limit at 1000, as it did before paging existed.
	limit := defaultAuditLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return invalid("limit", "must be a positive integer")
		}
		limit = min(n, maxAuditLimit)
		q := r.URL.Query()
		q.Set("limit", strconv.Itoa(limit))
		r.URL.RawQuery = q.Encode()
	}
	pq, err := s.parsePage(r, kindAudit, "", "entity", "action", "actor", "since")
	if err != nil {
		return err
	}
	pq.req.Limit = limit
	f := catalog.AuditPageFilter{Entity: pq.q.Get("entity"), Action: pq.q.Get("action"), Actor: pq.q.Get("actor")}
	if v := pq.q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalid("since", "must be an RFC 3339 time (2026-12-05T21:00:00Z)")
		}
		f.Since = t
	}
	p, err := s.pager.ListAuditPage(r.Context(), f, pq.req)
	if err != nil {
		return err
	}
	writePage(w, s, pq, p)
	return nil
}

func (s *server) namedValueRoutes(r routes) {
	r.Handle("/named-values", s.h(s.listNamedValues)).Methods(http.MethodGet)
	r.Handle("/named-values", s.h(s.createNamedValue)).Methods(http.MethodPost)
	r.Handle("/named-values/{name}", s.h(s.getNamedValue)).Methods(http.MethodGet)
	r.Handle("/named-values/{name}", s.h(s.updateNamedValue)).Methods(http.MethodPut)
	r.Handle("/named-values/{name}", s.h(s.deleteNamedValue)).Methods(http.MethodDelete)
	r.Handle("/named-values/{name}/value", s.h(s.revealNamedValue)).Methods(http.MethodGet)
}

// masked hides a secret value.
func masked(n catalog.NamedValue) catalog.NamedValue {
	if n.Secret {
		n.Value = "***"
	}
	return n
}

func (s *server) listNamedValues(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindNamedValues, "")
	if err != nil {
		return err
	}
	ns, err := s.st.ListNamedValues(r.Context())
	if err != nil {
		return err
	}
	for i := range ns {
		ns[i] = masked(ns[i])
	}
	sliceAnswer(w, s, pq, ns, func(n catalog.NamedValue) catalog.PageKey { return catalog.PageKey{S: n.Name} })
	return nil
}

func (s *server) createNamedValue(w http.ResponseWriter, r *http.Request) error {
	var n catalog.NamedValue
	if err := decode(w, r, maxJSONBody, &n); err != nil {
		return err
	}
	n, err := s.st.CreateNamedValue(writeCtx(r), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, masked(n))
	return nil
}

func (s *server) getNamedValue(w http.ResponseWriter, r *http.Request) error {
	n, err := s.st.GetNamedValue(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, masked(n))
	return nil
}

// revealNamedValue answers a named value's plaintext, a secret one
// included; every such read of a secret is written to the audit log with
// the actor.
func (s *server) revealNamedValue(w http.ResponseWriter, r *http.Request) error {
	n, err := s.st.GetNamedValue(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	if n.Secret {
		if err := s.st.RecordRead(writeCtx(r), "named-value", n.Name, "secret value shown"); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Value string `json:"value"`
	}{n.Value})
	return nil
}

func (s *server) updateNamedValue(w http.ResponseWriter, r *http.Request) error {
	var n catalog.NamedValue
	if err := decode(w, r, maxJSONBody, &n); err != nil {
		return err
	}
	if err := pathID("name", &n.Name, mux.Vars(r)["name"]); err != nil {
		return err
	}
	n, err := s.st.UpdateNamedValue(writeCtx(r), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, masked(n))
	return nil
}

func (s *server) deleteNamedValue(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteNamedValue(writeCtx(r), mux.Vars(r)["name"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readBody reads the whole body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, bodyErr(err, "reading the body")
	}
	if len(b) == 0 {
		return nil, invalid("", "empty body; a document is required")
	}
	return b, nil
}
