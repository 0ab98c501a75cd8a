package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
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
	opts := declarative.Options{Prune: prune, CheckPolicy: s.checkPolicyField}
	var changes []declarative.Change
	if dryRun {
		changes, err = declarative.PlanWith(r.Context(), s.st, doc, opts)
	} else {
		changes, err = declarative.ApplyWith(writeCtx(r), s.st, doc, opts)
	}
	if err != nil {
		if len(changes) > 0 {
			// A store write failed part-way: say what was already applied.
			s.log.Warn("apply failed part-way", "applied", len(changes), "err", err)
			var he *httpError
			if errors.As(err, &he) {
				he.msg += fmt.Sprintf(" (%d changes were applied before the failure; run the apply again)", len(changes))
				return he
			}
			return fmt.Errorf("%w (%d changes were applied before the failure; run the apply again)", err, len(changes))
		}
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Changes []declarative.Change `json:"changes"`
		Applied bool                 `json:"applied"`
	}{nonNil(changes), !dryRun})
	return nil
}

// checkPolicyField is checkPolicy for declarative documents: the first
// failure as a *catalog.FieldError, whose path the planner prefixes with
// the policy's place in the document.
func (s *server) checkPolicyField(ctx context.Context, d catalog.PolicyDoc) error {
	err := s.checkPolicy(ctx, &d)
	var he *httpError
	if errors.As(err, &he) && len(he.fields) > 0 {
		return &catalog.FieldError{Path: he.fields[0].Path, Msg: he.fields[0].Message}
	}
	return err
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
