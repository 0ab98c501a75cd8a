package admin

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/catalog"
)

// renderAPIs shows one page of 100 APIs by name, read in SQL, with the
// operation count of each API on the page (one query for the page, not
// a read of every operation), and next/previous links.
func (s *Server) renderAPIs(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ctx := r.Context()
	data := map[string]any{"Title": "APIs", "URLImport": s.o.FetchDocument != nil}
	for k, v := range extra {
		data[k] = v
	}
	params := url.Values{}
	req, bad := s.pageRequest(r.URL.Query(), apisCursorKind, params)
	if bad {
		status, data["Error"] = http.StatusBadRequest, "That page link is not valid; showing the first page."
	}
	pager, ok := s.st.(catalog.Pager)
	if !ok {
		return errNoPager
	}
	p, err := pager.ListAPIsPage(ctx, catalog.APIPageFilter{}, req)
	if err != nil {
		return err
	}
	ids := make([]string, len(p.Items))
	for i, a := range p.Items {
		ids[i] = a.ID
	}
	count, err := pager.CountOperations(ctx, ids)
	if err != nil {
		return err
	}
	s.pageLinks(data, "/apis", apisCursorKind, params, req, p.More, p.Prev, p.Next, len(p.Items))
	data["APIs"], data["OpCount"] = p.Items, count
	s.render(w, r, status, "apis", data)
	return nil
}
