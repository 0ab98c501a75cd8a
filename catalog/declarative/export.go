package declarative

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/gatehouse/gatehouse/catalog"
)

// Export describes the whole catalog (every kind present, entities sorted
// by ID). Subscription keys and modules are not included, nor the values of
// secret named values, nor the private keys of certificates.
func Export(ctx context.Context, st catalog.Store) (*Document, error) {
	d := &Document{Version: FormatVersion, APIs: []API{}, Products: []Product{}, Groups: []Group{},
		Users: []User{}, Subscriptions: []Subscription{}, NamedValues: []NamedValue{}, GlobalPolicy: &Policy{}}
	pols, err := st.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	policy := map[string]*Policy{}
	for _, p := range pols {
		// Inline secrets are masked; apply restores them (see
		// catalog.UnmaskPolicySecrets). References ({{name}}) stay.
		policy[string(p.Scope)+"/"+p.ScopeID] = policyFromCatalog(catalog.MaskPolicySecrets(p))
	}
	if p := policy["global/"]; p != nil {
		d.GlobalPolicy = p
	}

	apis, err := st.ListAPIs(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(apis, func(i, j int) bool { return apis[i].ID < apis[j].ID })
	ops, err := st.ListOperations(ctx, "")
	if err != nil {
		return nil, err
	}
	opsOf := map[string][]catalog.Operation{} // in ListOperations' order
	for _, o := range ops {
		opsOf[o.APIID] = append(opsOf[o.APIID], o)
	}
	for _, a := range apis {
		req := a.SubscriptionRequired
		x := API{ID: a.ID, Name: a.Name, PathPrefix: a.PathPrefix, BackendURL: a.BackendURL, Version: a.Version,
			SubscriptionRequired: &req, AllowQueryKey: a.AllowQueryKey, EgressAllow: a.EgressAllow, ConsoleTraceDisabled: a.ConsoleTraceDisabled, Operations: []Operation{},
			Policy: policy["api/"+a.ID], APITransport: a.APITransport}
		if a.KeyHeader != catalog.DefaultKeyHeader {
			x.KeyHeader = a.KeyHeader
		}
		if a.KeyQuery != catalog.DefaultKeyQuery {
			x.KeyQuery = a.KeyQuery
		}
		for _, o := range opsOf[a.ID] {
			x.Operations = append(x.Operations, Operation{ID: o.ID, Name: o.Name, Method: o.Method,
				URLTemplate: o.URLTemplate, Policy: policy["operation/"+o.ID]})
		}
		d.APIs = append(d.APIs, x)
	}

	prods, err := st.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(prods, func(i, j int) bool { return prods[i].ID < prods[j].ID })
	links, err := st.ListProductAPIs(ctx, "")
	if err != nil {
		return nil, err
	}
	linksOf := map[string][]string{}
	for _, l := range links {
		linksOf[l.ProductID] = append(linksOf[l.ProductID], l.APIID)
	}
	for _, p := range prods {
		x := Product{ID: p.ID, Name: p.Name, Description: p.Description, Published: p.Published,
			ApprovalRequired: p.ApprovalRequired, SubscriptionsLimit: p.SubscriptionsLimit, APIs: []string{},
			Policy: policy["product/"+p.ID]}
		x.APIs = append(x.APIs, linksOf[p.ID]...)
		sort.Strings(x.APIs)
		d.Products = append(d.Products, x)
	}

	groups, err := st.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	for _, g := range groups {
		x := Group{ID: g.ID, Name: g.Name, Description: g.Description, Users: []string{}}
		members, err := st.ListGroupUsers(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		for _, u := range members {
			x.Users = append(x.Users, u.ID)
		}
		sort.Strings(x.Users)
		d.Groups = append(d.Groups, x)
	}

	users, err := st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	for _, u := range users {
		d.Users = append(d.Users, User{ID: u.ID, Email: u.Email, Name: u.Name, State: u.State})
	}

	subs, err := st.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
	if err != nil {
		return nil, err
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	for _, s := range subs {
		d.Subscriptions = append(d.Subscriptions, Subscription{ID: s.ID, UserID: s.UserID, Name: s.Name,
			Scope: string(s.Scope), ScopeID: s.ScopeID, State: string(s.State), ExpiresAt: s.ExpiresAt})
	}

	nvs, err := st.ListNamedValues(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(nvs, func(i, j int) bool { return nvs[i].Name < nvs[j].Name })
	for _, n := range nvs {
		x := NamedValue{Name: n.Name, Secret: n.Secret}
		if !n.Secret {
			v := n.Value
			x.Value = &v
		}
		d.NamedValues = append(d.NamedValues, x)
	}
	if d.Certificates, err = exportCertificates(ctx, st); err != nil {
		return nil, err
	}
	return d, nil
}

// transportText is an API's transport settings as compact JSON for plan
// diffs ("" when none); it holds no key, only the key's named value.
func transportText(t catalog.APITransport) string {
	if t.IsZero() {
		return ""
	}
	b, _ := json.Marshal(t)
	return string(b)
}
