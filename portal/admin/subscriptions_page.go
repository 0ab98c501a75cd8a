package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/catalog"
)

// The subscriptions page reads one page of 100 in SQL (catalog.Pager),
// filtered there by user, state and product or API, with next and
// previous links carrying keyset cursors (the admin API's codec, with the
// portal's own key): at 10,000 subscriptions and more a page costs what
// 100 rows cost (RATIONALE.md "Admin API paging").

// Page size and cursor kinds of the portal's paged pages (the portal's
// own cursor namespace: its own key).
const (
	uiPageSize     = 100
	subsCursorKind = 1
	apisCursorKind = 2
)

var errNoPager = errors.New("admin portal: the Store must implement catalog.Pager (catalog/sqlite does)")

func (s *Server) cursorKey() []byte {
	m := hmac.New(sha256.New, s.o.Secret)
	m.Write([]byte("gatehouse admin portal cursor v1"))
	return m.Sum(nil)
}

// pageRequest reads the after/before cursor of a paged page whose filters
// are params; bad reports a cursor that does not decode (or was made for
// other filters): the first page is shown then.
func (s *Server) pageRequest(q url.Values, kind byte, params url.Values) (req catalog.PageRequest, bad bool) {
	req.Limit = uiPageSize
	fh := catalog.FilterHash(params.Encode())
	for _, dir := range []string{"after", "before"} {
		c := q.Get(dir)
		if c == "" {
			continue
		}
		k, err := catalog.DecodeCursor(s.cursorKey(), kind, fh, c)
		if err != nil {
			return catalog.PageRequest{Limit: uiPageSize}, true
		}
		req.After, req.Backward = &k, dir == "before"
		break
	}
	return req, false
}

// pageLinks sets NextURL and PrevURL of a page of rows read with req: next
// when more follow (or when the page was read backwards), previous unless
// this is the first page.
func (s *Server) pageLinks(data map[string]any, path string, kind byte, params url.Values, req catalog.PageRequest, more bool, first, last catalog.PageKey, rows int) {
	if rows == 0 {
		return
	}
	fh := catalog.FilterHash(params.Encode())
	link := func(dir string, k catalog.PageKey) string {
		v := url.Values{}
		for name, x := range params {
			v[name] = x
		}
		v.Set(dir, catalog.EncodeCursor(s.cursorKey(), kind, fh, k))
		return Prefix + path + "?" + v.Encode()
	}
	backward := req.Backward && req.After != nil
	if backward || more {
		data["NextURL"] = link("after", last)
	}
	if (backward && more) || (!backward && req.After != nil) {
		data["PrevURL"] = link("before", first)
	}
}

// listPage reads one page of a paged list shown at path: the cursor from
// q (a bad one gives the first page, status 400 and a message in data),
// the rows from list, and the next/previous links into data.
func listPage[T any](s *Server, q url.Values, data map[string]any, status *int, path string, kind byte, params url.Values,
	list func(catalog.Pager, catalog.PageRequest) (catalog.Page[T], error)) (catalog.Page[T], error) {
	req, bad := s.pageRequest(q, kind, params)
	if bad {
		msg := "That page link is not valid; showing the first page."
		if len(params) > 0 {
			msg = "That page link is not valid (or was made for other filters); showing the first page."
		}
		*status, data["Error"] = http.StatusBadRequest, msg
	}
	pager, ok := s.st.(catalog.Pager)
	if !ok {
		return catalog.Page[T]{}, errNoPager
	}
	p, err := list(pager, req)
	if err != nil {
		return p, err
	}
	s.pageLinks(data, path, kind, params, req, p.More, p.Prev, p.Next, len(p.Items))
	return p, nil
}

func (s *Server) renderSubscriptions(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := catalog.SubscriptionPageFilter{
		SubscriptionFilter: catalog.SubscriptionFilter{UserID: q.Get("user"), Scope: catalog.Scope(q.Get("scope")), ScopeID: q.Get("scopeId")},
		State:              catalog.SubscriptionState(q.Get("state")),
	}
	data := map[string]any{"Title": "Subscriptions", "State": string(f.State), "Filter": f.SubscriptionFilter}
	for k, v := range extra {
		data[k] = v
	}
	if f.State != "" && !f.State.Valid() {
		f.State, data["State"] = "", ""
		status, data["Error"] = http.StatusBadRequest, "Unknown state; showing every state."
	}
	switch f.Scope {
	case "", catalog.ScopeAll, catalog.ScopeProduct, catalog.ScopeAPI:
	default:
		f.Scope, f.ScopeID = "", ""
		status, data["Error"] = http.StatusBadRequest, "Unknown scope; showing every scope."
	}
	params := url.Values{}
	for name, x := range map[string]string{"user": f.UserID, "state": string(f.State), "scope": string(f.Scope), "scopeId": f.ScopeID} {
		if x != "" {
			params.Set(name, x)
		}
	}
	p, err := listPage(s, q, data, &status, "/subscriptions", subsCursorKind, params, func(pg catalog.Pager, req catalog.PageRequest) (catalog.Page[catalog.Subscription], error) {
		return pg.ListSubscriptionsPage(ctx, f, req)
	})
	if err != nil {
		return err
	}
	// E-mails of the users on this page only.
	email := map[string]string{}
	rows := make([]subRow, 0, len(p.Items))
	for _, sub := range p.Items {
		e, ok := email[sub.UserID]
		if !ok {
			if u, err := s.st.GetUser(ctx, sub.UserID); err == nil {
				e = u.Email
			}
			email[sub.UserID] = e
		}
		rows = append(rows, subRow{Subscription: sub, Now: sub.EffectiveState(s.now()), UserEmail: e})
	}
	ps, err := s.st.ListProducts(ctx)
	if err != nil {
		return err
	}
	data["Subs"], data["Products"] = rows, ps
	s.render(w, r, status, "subscriptions", data)
	return nil
}
