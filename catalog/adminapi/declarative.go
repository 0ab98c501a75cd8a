package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// maxApplyBody bounds a declarative document (POST /apply): a 10,000-API
// catalog is about 6 MiB of JSON or 9 MiB of YAML. Its parse tree costs
// tens of times its size in memory, so the cap is a deliberate 32 MiB, not
// unlimited (RATIONALE "Apply at scale").
const maxApplyBody = declarative.MaxDocumentSize

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
	body, err := readBody(w, r, maxApplyBody)
	if err != nil {
		return err
	}
	doc, err := declarative.Parse(body)
	if err != nil {
		return err
	}
	// Every policy of the document is checked against the modules and
	// named values, listed once for the whole apply.
	mods, nvs := onceList(s.st.ListModules), onceList(s.st.ListNamedValues)
	check := func(ctx context.Context, d catalog.PolicyDoc) error {
		return fieldErr(s.checkPolicyWith(ctx, &d, mods, nvs))
	}
	opts := declarative.Options{Prune: prune, CheckPolicy: check}
	var changes []declarative.Change
	if dryRun {
		changes, err = declarative.PlanWith(r.Context(), s.st, doc, opts)
	} else {
		changes, err = declarative.ApplyWith(writeCtx(r), s.st, doc, opts)
	}
	if err != nil {
		if len(changes) > 0 {
			// A store write failed part-way (only on a store that cannot
			// batch: catalog/sqlite applies all or nothing): say what was
			// already applied.
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

// fieldErr turns an httpError with fields into a *catalog.FieldError of the
// first.
func fieldErr(err error) error {
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

// onceList returns list, reading the first time only (for one request).
func onceList[T any](list func(context.Context) ([]T, error)) func(context.Context) ([]T, error) {
	var (
		mu   sync.Mutex
		done bool
		v    []T
	)
	return func(ctx context.Context) ([]T, error) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			var err error
			if v, err = list(ctx); err != nil {
				return nil, err
			}
			done = true
		}
		return v, nil
	}
}
