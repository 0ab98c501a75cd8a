package admin

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/catalog"
)

const usersCursorKind = 3

// renderUsers shows one page of 100 developers by e-mail, read in SQL,
// filtered by an e-mail prefix and a state, with next/previous links, and
// the groups with their members. The add-member form takes an ID or an
// e-mail (no list of every user: at 100,000 users that list was the page).
func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := catalog.UserPageFilter{EmailPrefix: q.Get("email"), State: q.Get("state")}
	data := map[string]any{"Title": "Users and groups", "Error": errMsg}
	switch f.State {
	case "", "active", "blocked":
	default:
		f.State = ""
		status, data["Error"] = http.StatusBadRequest, "Unknown state; showing every state."
	}
	data["Filter"] = f
	params := url.Values{}
	if f.EmailPrefix != "" {
		params.Set("email", f.EmailPrefix)
	}
	if f.State != "" {
		params.Set("state", f.State)
	}
	p, err := listPage(s, q, data, &status, "/users", usersCursorKind, params, func(pg catalog.Pager, req catalog.PageRequest) (catalog.Page[catalog.User], error) {
		return pg.ListUsersPage(ctx, f, req)
	})
	if err != nil {
		return err
	}
	data["Users"] = p.Items
	gs, err := s.st.ListGroups(ctx)
	if err != nil {
		return err
	}
	groups := make([]groupRow, 0, len(gs))
	for _, g := range gs {
		members, err := s.st.ListGroupUsers(ctx, g.ID)
		if err != nil {
			return err
		}
		groups = append(groups, groupRow{Group: g, Members: members})
	}
	data["Groups"] = groups
	s.render(w, r, status, "users", data)
	return nil
}
