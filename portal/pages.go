package portal

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/web"
)

// catalogView is the published part of the catalog: published products,
// the APIs they contain, and which products contain which API.
type catalogView struct {
	version     int64
	mu          sync.Mutex
	opCount     map[string]int    // API ID -> operations, filled on first use
	productName map[string]string // every product, published or not
	products    []catalog.Product
	apis        []catalog.API
	apiByID     map[string]catalog.API
	productAPI  map[string][]string // product ID -> API IDs
	apiProduct  map[string][]string // API ID -> published product IDs
}

// published returns the published view of the catalog, rebuilt only when
// the catalog version changed (one cheap query per request otherwise).
func (s *Server) published(ctx context.Context) (*catalogView, error) {
	v, err := s.st.Version(ctx)
	if err != nil {
		return nil, err
	}
	if c := s.cv.Load(); c != nil && c.version == v {
		return c, nil
	}
	cv, err := s.buildView(ctx)
	if err != nil {
		return nil, err
	}
	// Built after reading v: a write in between only makes the next
	// request rebuild again.
	cv.version = v
	s.cv.Store(cv)
	return cv, nil
}

func (s *Server) buildView(ctx context.Context) (*catalogView, error) {
	ps, err := s.st.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	links, err := s.st.ListProductAPIs(ctx, "")
	if err != nil {
		return nil, err
	}
	as, err := s.st.ListAPIs(ctx)
	if err != nil {
		return nil, err
	}
	cv := &catalogView{apiByID: map[string]catalog.API{}, productAPI: map[string][]string{}, apiProduct: map[string][]string{}, productName: map[string]string{}}
	pub := map[string]bool{}
	for _, p := range ps {
		cv.productName[p.ID] = p.Name
		if p.Published {
			cv.products = append(cv.products, p)
			pub[p.ID] = true
		}
	}
	for _, l := range links {
		if pub[l.ProductID] {
			cv.productAPI[l.ProductID] = append(cv.productAPI[l.ProductID], l.APIID)
			cv.apiProduct[l.APIID] = append(cv.apiProduct[l.APIID], l.ProductID)
		}
	}
	for _, a := range as {
		if len(cv.apiProduct[a.ID]) > 0 {
			cv.apis = append(cv.apis, a)
			cv.apiByID[a.ID] = a
		}
	}
	sort.Slice(cv.apis, func(i, j int) bool { return cv.apis[i].Name < cv.apis[j].Name })
	sort.Slice(cv.products, func(i, j int) bool { return cv.products[i].Name < cv.products[j].Name })
	return cv, nil
}

func (cv *catalogView) product(id string) (catalog.Product, bool) {
	for _, p := range cv.products {
		if p.ID == id {
			return p, true
		}
	}
	return catalog.Product{}, false
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "home", map[string]any{"Title": "Developer portal", "Products": cv.products, "APIs": cv.apis})
	return nil
}

func (s *Server) products(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	type item struct {
		Product     catalog.Product
		Description template.HTML
		APIs        []catalog.API
	}
	var items []item
	for _, p := range cv.products {
		it := item{Product: p, Description: renderMarkdown(p.Description)}
		for _, id := range cv.productAPI[p.ID] {
			it.APIs = append(it.APIs, cv.apiByID[id])
		}
		items = append(items, it)
	}
	s.render(w, r, http.StatusOK, "products", map[string]any{"Title": "Products", "Products": items})
	return nil
}

func (s *Server) product(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	p, ok := cv.product(r.PathValue("id"))
	if !ok {
		return errNotFound
	}
	var apis []catalog.API
	for _, id := range cv.productAPI[p.ID] {
		apis = append(apis, cv.apiByID[id])
	}
	data := map[string]any{"Title": p.Name, "Product": p, "Description": renderMarkdown(p.Description), "APIs": apis}
	if v := viewerFrom(r); v != nil {
		subs, err := s.st.ListSubscriptions(r.Context(), catalog.SubscriptionFilter{UserID: v.user.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
		if err != nil {
			return err
		}
		live := 0
		for _, sub := range subs {
			switch sub.State {
			case catalog.StateActive, catalog.StateSubmitted, catalog.StateSuspended:
				live++
			}
		}
		data["Mine"] = subs
		data["AtLimit"] = p.SubscriptionsLimit > 0 && live >= p.SubscriptionsLimit
	}
	if pol, err := s.st.GetPolicy(r.Context(), catalog.ScopeProduct, p.ID); err == nil {
		data["Limits"] = limitsOf(pol)
	}
	s.render(w, r, http.StatusOK, "product", data)
	return nil
}

// limitsOf lists, for developers, the rate limits and quotas a product's
// policy applies (their configs, as the admin wrote them).
func limitsOf(d catalog.PolicyDoc) []string {
	var out []string
	for _, e := range d.Inbound {
		switch e.Policy {
		case "rate-limit", "rate-limit-by-key", "quota", "quota-by-key", "limit-concurrency":
			out = append(out, e.Policy+" "+string(e.Config))
		}
	}
	return out
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	p, ok := cv.product(r.PathValue("id"))
	if !ok {
		return errNotFound
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = p.Name
	}
	if utf8.RuneCountInString(name) > 100 {
		return badRequest("A subscription name has at most 100 characters.")
	}
	// The store applies the product's rules: approval (submitted, not
	// active) and the per-user subscription limit (ErrConflict).
	sub, _, _, err := s.st.CreateSubscription(catalog.WithActor(r.Context(), "portal:"+v.user.ID),
		catalog.Subscription{UserID: v.user.ID, Name: name, Scope: catalog.ScopeProduct, ScopeID: p.ID})
	if errors.Is(err, catalog.ErrConflict) {
		return &statusError{http.StatusConflict, "You already have as many subscriptions to " + p.Name + " as it allows. Cancel one first."}
	}
	if err != nil {
		return err
	}
	if sub.State == catalog.StateSubmitted {
		redirect(w, r, "/subscriptions", "pending")
	} else {
		redirect(w, r, "/subscriptions", "subscribed")
	}
	return nil
}

// mySubscription returns the viewer's subscription id; another user's (or
// none) is ErrNotFound, never "forbidden": its existence is not revealed.
func (s *Server) mySubscription(r *http.Request, id string) (catalog.Subscription, error) {
	sub, err := s.st.GetSubscription(r.Context(), id)
	if err != nil {
		return catalog.Subscription{}, err
	}
	if v := viewerFrom(r); v == nil || sub.UserID != v.user.ID {
		return catalog.Subscription{}, errNotFound
	}
	return sub, nil
}

type subItem struct {
	Sub       catalog.Subscription
	ScopeName string
	APIs      []catalog.API
}

func (s *Server) mySubscriptions(ctx context.Context, userID string, cv *catalogView) ([]subItem, error) {
	subs, err := s.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{UserID: userID})
	if err != nil {
		return nil, err
	}
	pname := cv.productName
	var out []subItem
	for _, sub := range subs {
		it := subItem{Sub: sub}
		switch sub.Scope {
		case catalog.ScopeAll:
			it.ScopeName = "All APIs"
			it.APIs = cv.apis
		case catalog.ScopeProduct:
			it.ScopeName = "Product " + pname[sub.ScopeID]
			for _, id := range cv.productAPI[sub.ScopeID] {
				it.APIs = append(it.APIs, cv.apiByID[id])
			}
		case catalog.ScopeAPI:
			it.ScopeName = "API " + sub.ScopeID
			if a, ok := cv.apiByID[sub.ScopeID]; ok {
				it.ScopeName = "API " + a.Name
				it.APIs = []catalog.API{a}
			}
		}
		out = append(out, it)
	}
	return out, nil
}

func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	items, err := s.mySubscriptions(r.Context(), v.user.ID, cv)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "subscriptions", map[string]any{"Title": "My subscriptions", "Subs": items})
	return nil
}

func (s *Server) renameSubscription(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mySubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return badRequest("A subscription name has 1 to 100 characters.")
	}
	if _, err := s.st.RenameSubscription(catalog.WithActor(r.Context(), "portal:"+sub.UserID), sub.ID, name); err != nil {
		return err
	}
	redirect(w, r, "/subscriptions", "renamed")
	return nil
}

func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mySubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if sub.State == catalog.StateCancelled {
		return badRequest("This subscription is already cancelled.")
	}
	if _, err := s.st.SetSubscriptionState(catalog.WithActor(r.Context(), "portal:"+sub.UserID), sub.ID, catalog.StateCancelled); err != nil {
		return err
	}
	redirect(w, r, "/subscriptions", "cancelled")
	return nil
}

func (s *Server) regenerateKey(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mySubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	slot := catalog.KeySlot(r.PostFormValue("slot"))
	if !slot.Valid() {
		return badRequest("Choose the primary or the secondary key.")
	}
	if sub.State == catalog.StateCancelled {
		return badRequest("A cancelled subscription's keys cannot be regenerated.")
	}
	if _, err := s.st.RegenerateKey(catalog.WithActor(r.Context(), "portal:"+sub.UserID), sub.ID, slot); err != nil {
		return err
	}
	redirect(w, r, "/subscriptions", "regenerated")
	return nil
}

// showKeys answers the viewer's subscription keys as JSON, for the page's
// Show and Copy buttons: the keys are never in the page source. It wants
// the CSRF header, so no other origin can have the browser fetch it.
func (s *Server) showKeys(w http.ResponseWriter, r *http.Request) error {
	if !s.checkCSRF(r) {
		s.csrfFailed(w, r)
		return nil
	}
	sub, err := s.mySubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if sub.State == catalog.StateCancelled {
		return badRequest("This subscription is cancelled.")
	}
	k, err := s.st.ShowKeys(r.Context(), sub.ID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, k)
	return nil
}
