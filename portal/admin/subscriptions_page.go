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

const (
	subsPageSize   = 100
	subsCursorKind = 1 // the portal's cursor namespace (its own key)
)

var errNoPager = errors.New("admin portal: the Store must implement catalog.Pager (catalog/sqlite does)")

func (s *Server) cursorKey() []byte {
	m := hmac.New(sha256.New, s.o.Secret)
	m.Write([]byte("gatehouse admin portal cursor v1"))
	return m.Sum(nil)
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
	fh := catalog.FilterHash(f.UserID, string(f.Scope), f.ScopeID, string(f.State))
	req := catalog.PageRequest{Limit: subsPageSize}
	for _, dir := range []string{"after", "before"} {
		c := q.Get(dir)
		if c == "" {
			continue
		}
		k, err := catalog.DecodeCursor(s.cursorKey(), subsCursorKind, fh, c)
		if err != nil {
			status, data["Error"] = http.StatusBadRequest, "That page link is not valid (or was made for other filters); showing the first page."
			break
		}
		req.After, req.Backward = &k, dir == "before"
	}
	pager, ok := s.st.(catalog.Pager)
	if !ok {
		return errNoPager
	}
	p, err := pager.ListSubscriptionsPage(ctx, f, req)
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
	// Links: next when more follow (or when we came back from a later
	// page), previous when we are not on the first page.
	link := func(dir string, k catalog.PageKey) string {
		v := url.Values{}
		for name, x := range map[string]string{"user": f.UserID, "state": string(f.State), "scope": string(f.Scope), "scopeId": f.ScopeID} {
			if x != "" {
				v.Set(name, x)
			}
		}
		v.Set(dir, catalog.EncodeCursor(s.cursorKey(), subsCursorKind, fh, k))
		return Prefix + "/subscriptions?" + v.Encode()
	}
	if len(rows) > 0 {
		backward := req.Backward && req.After != nil
		if (backward && req.After != nil) || (!backward && p.More) {
			data["NextURL"] = link("after", p.Next)
		}
		if (backward && p.More) || (!backward && req.After != nil) {
			data["PrevURL"] = link("before", p.Prev)
		}
	}
	ps, err := s.st.ListProducts(ctx)
	if err != nil {
		return err
	}
	data["Subs"], data["Products"] = rows, ps
	s.render(w, r, status, "subscriptions", data)
	return nil
}
