package adminapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	q := r.URL.Query().Get(name)
	if q == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(q)
	if err != nil {
		return false, invalid(name, "must be true or false")
	}
	return b, nil
}

// apply plans (dryRun=true) or applies a declarative catalog document.
func (s *server) apply(w http.ResponseWriter, r *http.Request) error {
	dryRun, err := queryBool(r, "dryRun")
	if err != nil {
		return err
	}
	prune, err := queryBool(r, "prune")
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxDocumentBody)
	if err != nil {
		return err
	}
	doc, err := declarative.Parse(body)
	if err != nil {
		return err
	}
	var changes []declarative.Change
	if dryRun {
		changes, err = declarative.Plan(r.Context(), s.st, doc, prune)
	} else {
		changes, err = declarative.Apply(writeCtx(r), s.st, doc, prune)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Changes []declarative.Change `json:"changes"`
		Applied bool                 `json:"applied"`
	}{nonNil(changes), !dryRun})
	return nil
}

// export answers the catalog as a declarative document: YAML when the
// client accepts application/yaml, JSON otherwise.
func (s *server) export(w http.ResponseWriter, r *http.Request) error {
	doc, err := declarative.Export(r.Context(), s.st)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "yaml") {
		b, err := declarative.Marshal(doc)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
		return nil
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}
