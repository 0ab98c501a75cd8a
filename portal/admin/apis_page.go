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
	var pager catalog.Pager
	p, err := listPage(s, r.URL.Query(), data, &status, "/apis", apisCursorKind, url.Values{}, func(pg catalog.Pager, req catalog.PageRequest) (catalog.Page[catalog.API], error) {
		pager = pg
		return pg.ListAPIsPage(ctx, catalog.APIPageFilter{}, req)
	})
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
	data["APIs"], data["OpCount"] = p.Items, count
	s.render(w, r, status, "apis", data)
	return nil
}
