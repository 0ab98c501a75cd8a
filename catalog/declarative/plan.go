package declarative

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Phases order the writes: deletes first, dependents before what they
// depend on, then creates and updates the other way round.
const (
	delPolicy = iota
	// A certificate is deleted before another takes its hostnames.
	delCertificate
	delSubscription
	delProductAPI
	delProduct
	delOperation
	delAPI
	delNamedValue // after the APIs whose backendTls may name it
	delGroupUser
	delGroup
	delUser
	putUser
	putGroup
	putGroupUser
	putNamedValue // before the APIs whose backendTls may name it
	putAPI
	putOperation
	putProduct
	putProductAPI
	putSubscription
	putPolicy
	putCertificate
)

type step struct {
	Change
	phase int
	run   func(ctx context.Context, st catalog.Store) error
}

// Plan returns the changes Apply would make, in the order it would make
// them, without writing anything. It fails with a *catalog.FieldError
// naming the path of the first problem: a reference to an entity that
// neither the document nor the catalog has (or that prune would delete), a
// module that is not uploaded, a change a subscription cannot take.
func Plan(ctx context.Context, st catalog.Store, d *Document, prune bool) ([]Change, error) {
	return PlanWith(ctx, st, d, Options{Prune: prune})
}

// Options tune PlanWith and ApplyWith.
type Options struct {
	// Prune deletes entities of the kinds the document describes that it
	// omits.
	Prune bool
	// CheckPolicy, when set, is called for every policy document the plan
	// would set, after its module references are checked: the admin API
	// uses it to validate each entry's config against its module's JSON
	// Schema. The Path of a *catalog.FieldError it returns is taken as
	// relative to the policy ("inbound[0].config.calls") and prefixed with
	// the policy's path in the document. The scope target may not exist
	// yet (it may be created by the same apply).
	CheckPolicy func(ctx context.Context, d catalog.PolicyDoc) error
}

// PlanWith is Plan with options.
func PlanWith(ctx context.Context, st catalog.Store, d *Document, opts Options) ([]Change, error) {
	steps, err := plan(ctx, st, d, opts)
	if err != nil {
		return nil, err
	}
	changes := make([]Change, len(steps))
	for i, s := range steps {
		changes[i] = s.Change
	}
	return changes, nil
}

// Apply makes the catalog match d and returns the changes made. The whole
// document is validated and planned first, so a document with errors
// writes nothing. On a store that can batch writes (catalog.Batcher, as
// catalog/sqlite does) the writes are one transaction: an apply is all or
// nothing, bumps the catalog version once (the gateway reloads once), and
// a document that changes nothing writes nothing at all (no audit entry,
// no version bump). On another store the writes are made one by one: when
// the store refuses one, Apply stops and returns the changes made so far
// with the error, and applying again resumes. Applying the same document
// twice makes no changes the second time.
func Apply(ctx context.Context, st catalog.Store, d *Document, prune bool) ([]Change, error) {
	return ApplyWith(ctx, st, d, Options{Prune: prune})
}

// ApplyWith is Apply with options.
func ApplyWith(ctx context.Context, st catalog.Store, d *Document, opts Options) ([]Change, error) {
	b, batched := st.(catalog.Batcher)
	var v0 int64
	if batched {
		var err error
		if v0, err = st.Version(ctx); err != nil {
			return nil, err
		}
	}
	steps, err := plan(ctx, st, d, opts)
	if err != nil {
		return nil, err
	}
	if !batched {
		done := []Change{}
		for _, s := range steps {
			if err := s.run(ctx, st); err != nil {
				return done, fmt.Errorf("%s %s %s: %w", s.Action, s.Kind, s.Key, err)
			}
			done = append(done, s.Change)
		}
		return done, nil
	}
	if len(steps) == 0 {
		return []Change{}, nil // nothing to write: no transaction at all
	}
	// The plan was made outside the transaction, so that checking the
	// document does not hold the writer. No other write can commit while
	// the batch runs; if one did between the plan and the batch, plan
	// again against what is stored now.
	var done []Change
	err = b.Batch(ctx, func(ctx context.Context) error {
		if v, err := st.Version(ctx); err != nil {
			return err
		} else if v != v0 {
			if steps, err = plan(ctx, st, d, opts); err != nil {
				return err
			}
		}
		done = make([]Change, 0, len(steps))
		for _, s := range steps {
			if err := s.run(ctx, st); err != nil {
				return fmt.Errorf("%s %s %s: %w", s.Action, s.Kind, s.Key, err)
			}
			done = append(done, s.Change)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

type planner struct {
	ctx   context.Context
	st    catalog.Store
	d     *Document
	prune bool
	check func(ctx context.Context, d catalog.PolicyDoc) error
	steps []step
	// What exists once the plan has run, for reference checks.
	haveAPI, haveProduct, haveUser map[string]bool
	modules                        []catalog.Module
	policies                       map[string]catalog.PolicyDoc
}

func plan(ctx context.Context, st catalog.Store, d *Document, opts Options) ([]step, error) {
	if d == nil {
		return nil, invalid("", "no document")
	}
	if d.Version != FormatVersion {
		return nil, invalid("version", "must be %d", FormatVersion)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	p := &planner{ctx: ctx, st: st, d: d, prune: opts.Prune, check: opts.CheckPolicy, policies: map[string]catalog.PolicyDoc{}}
	var err error
	if p.modules, err = st.ListModules(ctx); err != nil {
		return nil, err
	}
	pols, err := st.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	for _, pd := range pols {
		p.policies[string(pd.Scope)+"/"+pd.ScopeID] = pd
	}
	for _, f := range []func() error{p.users, p.groups, p.apis, p.products, p.subscriptions, p.namedValues, p.clientKeys, p.certificates} {
		if err := f(); err != nil {
			return nil, err
		}
	}
	if d.GlobalPolicy != nil {
		if err := p.policy("globalPolicy", catalog.ScopeGlobal, "", d.GlobalPolicy, false); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(p.steps, func(i, j int) bool { return p.steps[i].phase < p.steps[j].phase })
	return p.steps, nil
}

func (p *planner) add(action, kind, key, diff string, phase int, run func(ctx context.Context, st catalog.Store) error) {
	p.steps = append(p.steps, step{Change{action, kind, key, diff}, phase, run})
}

// diff collects "field: old → new" lines.
type diff []string

func (d *diff) field(name string, old, new any) {
	if !reflect.DeepEqual(old, new) {
		*d = append(*d, fmt.Sprintf("%s: %s → %s", name, show(old), show(new)))
	}
}

func (d diff) String() string { return strings.Join(d, "; ") }

func show(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case *time.Time:
		if v == nil {
			return "none"
		}
		return v.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

func (p *planner) users() error {
	cur, err := p.st.ListUsers(p.ctx)
	if err != nil {
		return err
	}
	p.haveUser = map[string]bool{}
	byID := map[string]catalog.User{}
	for _, u := range cur {
		byID[u.ID] = u
		p.haveUser[u.ID] = true
	}
	if p.d.Users == nil {
		return nil
	}
	want := map[string]bool{}
	for _, u := range p.d.Users {
		cu := u.toCatalog()
		want[u.ID] = true
		old, ok := byID[u.ID]
		if !ok {
			p.add("create", "user", u.ID, "", putUser, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateUser(ctx, cu)
				return err
			})
			continue
		}
		var df diff
		df.field("email", old.Email, cu.Email)
		df.field("name", old.Name, cu.Name)
		df.field("state", old.State, cu.State)
		if len(df) > 0 {
			p.add("update", "user", u.ID, df.String(), putUser, func(ctx context.Context, st catalog.Store) error {
				_, err := st.UpdateUser(ctx, cu)
				return err
			})
		}
	}
	if p.prune {
		for _, u := range cur {
			if !want[u.ID] {
				id := u.ID
				delete(p.haveUser, id)
				p.add("delete", "user", id, "", delUser, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteUser(ctx, id)
				})
			}
		}
	}
	for _, u := range p.d.Users {
		p.haveUser[u.ID] = true
	}
	return nil
}

func (p *planner) groups() error {
	cur, err := p.st.ListGroups(p.ctx)
	if err != nil {
		return err
	}
	if p.d.Groups == nil {
		return nil
	}
	byID := map[string]catalog.Group{}
	for _, g := range cur {
		byID[g.ID] = g
	}
	want := map[string]bool{}
	for i, g := range p.d.Groups {
		cg := catalog.Group{ID: g.ID, Name: g.Name, Description: g.Description}
		want[g.ID] = true
		old, exists := byID[g.ID]
		if !exists {
			p.add("create", "group", g.ID, "", putGroup, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateGroup(ctx, cg)
				return err
			})
		} else {
			var df diff
			df.field("name", old.Name, cg.Name)
			df.field("description", old.Description, cg.Description)
			if len(df) > 0 {
				p.add("update", "group", g.ID, df.String(), putGroup, func(ctx context.Context, st catalog.Store) error {
					_, err := st.UpdateGroup(ctx, cg)
					return err
				})
			}
		}
		if g.Users == nil {
			continue
		}
		members := map[string]bool{}
		if exists {
			us, err := p.st.ListGroupUsers(p.ctx, g.ID)
			if err != nil {
				return err
			}
			for _, u := range us {
				members[u.ID] = true
			}
		}
		wantMember := map[string]bool{}
		for j, uid := range g.Users {
			wantMember[uid] = true
			if !p.haveUser[uid] {
				return invalid(fmt.Sprintf("groups[%d].users[%d]", i, j), "user %q does not exist", uid)
			}
			if !members[uid] {
				gid, uid := g.ID, uid
				p.add("create", "group-user", gid+"/"+uid, "", putGroupUser, func(ctx context.Context, st catalog.Store) error {
					return st.AddGroupUser(ctx, gid, uid)
				})
			}
		}
		if p.prune {
			for _, uid := range sortedKeys(members) {
				if !wantMember[uid] {
					gid, uid := g.ID, uid
					p.add("delete", "group-user", gid+"/"+uid, "", delGroupUser, func(ctx context.Context, st catalog.Store) error {
						return st.RemoveGroupUser(ctx, gid, uid)
					})
				}
			}
		}
	}
	if p.prune {
		for _, g := range cur {
			if !want[g.ID] {
				id := g.ID
				p.add("delete", "group", id, "", delGroup, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteGroup(ctx, id)
				})
			}
		}
	}
	return nil
}

func (p *planner) apis() error {
	cur, err := p.st.ListAPIs(p.ctx)
	if err != nil {
		return err
	}
	p.haveAPI = map[string]bool{}
	byID := map[string]catalog.API{}
	for _, a := range cur {
		byID[a.ID] = a
		p.haveAPI[a.ID] = true
	}
	if p.d.APIs == nil {
		return nil
	}
	allOps, err := p.st.ListOperations(p.ctx, "")
	if err != nil {
		return err
	}
	// Indexed once: looking an API's operations up must not cost the
	// whole catalog per API (it did: O(APIs × operations)).
	ops := opIndex{byID: make(map[string]catalog.Operation, len(allOps)), byAPI: map[string][]catalog.Operation{}}
	for _, o := range allOps {
		ops.byID[o.ID] = o
		ops.byAPI[o.APIID] = append(ops.byAPI[o.APIID], o)
	}
	want := map[string]bool{}
	for i, a := range p.d.APIs {
		path := fmt.Sprintf("apis[%d]", i)
		ca := a.toCatalog()
		ca.ApplyDefaults()
		want[a.ID] = true
		old, exists := byID[a.ID]
		if !exists {
			p.add("create", "api", a.ID, "", putAPI, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateAPI(ctx, ca)
				return err
			})
		} else {
			var df diff
			df.field("name", old.Name, ca.Name)
			df.field("pathPrefix", old.PathPrefix, ca.PathPrefix)
			df.field("backendUrl", old.BackendURL, ca.BackendURL)
			df.field("version", old.Version, ca.Version)
			df.field("subscriptionRequired", old.SubscriptionRequired, ca.SubscriptionRequired)
			df.field("keyHeader", old.KeyHeader, ca.KeyHeader)
			df.field("keyQuery", old.KeyQuery, ca.KeyQuery)
			df.field("allowQueryKey", old.AllowQueryKey, ca.AllowQueryKey)
			df.field("egressAllow", strings.Join(old.EgressAllow, ", "), strings.Join(ca.EgressAllow, ", "))
			df.field("consoleTraceDisabled", old.ConsoleTraceDisabled, ca.ConsoleTraceDisabled)
			df.field("transport", transportText(old.APITransport), transportText(ca.APITransport))
			if len(df) > 0 {
				p.add("update", "api", a.ID, df.String(), putAPI, func(ctx context.Context, st catalog.Store) error {
					// Keep what the document does not carry.
					stored, err := st.GetAPI(ctx, ca.ID)
					if err != nil {
						return err
					}
					ca.OpenAPIDoc, ca.Revision = stored.OpenAPIDoc, stored.Revision
					_, err = st.UpdateAPI(ctx, ca)
					return err
				})
			}
		}
		if err := p.operations(path, a, ops); err != nil {
			return err
		}
		if err := p.policy(path+".policy", catalog.ScopeAPI, a.ID, a.Policy, exists); err != nil {
			return err
		}
	}
	if p.prune {
		for _, a := range cur {
			if !want[a.ID] {
				id := a.ID
				delete(p.haveAPI, id)
				// Its operations, product links and policies go with it.
				p.add("delete", "api", id, "", delAPI, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteAPI(ctx, id)
				})
			}
		}
	}
	for _, a := range p.d.APIs {
		p.haveAPI[a.ID] = true
	}
	return nil
}

// opIndex is the stored operations by ID and by API.
type opIndex struct {
	byID  map[string]catalog.Operation
	byAPI map[string][]catalog.Operation
}

func (p *planner) operations(path string, a API, ops opIndex) error {
	cur, byID := ops.byAPI[a.ID], ops.byID
	byKey := map[string]catalog.Operation{}
	for _, o := range cur {
		byKey[o.Method+" "+o.URLTemplate] = o
	}
	matched := map[string]bool{}
	for j, o := range a.Operations {
		opath := fmt.Sprintf("%s.operations[%d]", path, j)
		co := o.toCatalog(a.ID)
		key := a.ID + "/" + o.Method + " " + o.URLTemplate
		var old catalog.Operation
		exists := false
		if o.ID != "" {
			key = a.ID + "/" + o.ID
			if old, exists = byID[o.ID]; exists && old.APIID != a.ID {
				return invalid(opath+".id", "operation %q belongs to api %q", o.ID, old.APIID)
			}
		} else {
			old, exists = byKey[o.Method+" "+o.URLTemplate]
			co.ID = old.ID
		}
		if !exists {
			if other, taken := byKey[o.Method+" "+o.URLTemplate]; taken && !p.prune {
				return invalid(opath+".id", "%s %s is operation %q; use that id, or prune to replace it", o.Method, o.URLTemplate, other.ID)
			}
			if co.ID == "" {
				co.ID = newID() // known now, so its policy can be set in the same apply
			}
			p.add("create", "operation", key, "", putOperation, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateOperation(ctx, co)
				return err
			})
		} else {
			matched[old.ID] = true
			var df diff
			df.field("name", old.Name, co.Name)
			df.field("method", old.Method, co.Method)
			df.field("urlTemplate", old.URLTemplate, co.URLTemplate)
			if len(df) > 0 {
				p.add("update", "operation", key, df.String(), putOperation, func(ctx context.Context, st catalog.Store) error {
					_, err := st.UpdateOperation(ctx, co)
					return err
				})
			}
		}
		if err := p.policy(opath+".policy", catalog.ScopeOperation, co.ID, o.Policy, exists); err != nil {
			return err
		}
	}
	if p.prune && a.Operations != nil {
		for _, o := range cur {
			if !matched[o.ID] {
				id := o.ID
				p.add("delete", "operation", a.ID+"/"+id, "", delOperation, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteOperation(ctx, id) // deletes its policy too
				})
			}
		}
	}
	return nil
}

func (p *planner) products() error {
	cur, err := p.st.ListProducts(p.ctx)
	if err != nil {
		return err
	}
	p.haveProduct = map[string]bool{}
	byID := map[string]catalog.Product{}
	for _, pr := range cur {
		byID[pr.ID] = pr
		p.haveProduct[pr.ID] = true
	}
	if p.d.Products == nil {
		return nil
	}
	links, err := p.st.ListProductAPIs(p.ctx, "")
	if err != nil {
		return err
	}
	linksOf := map[string][]string{} // product ID → API IDs
	for _, l := range links {
		linksOf[l.ProductID] = append(linksOf[l.ProductID], l.APIID)
	}
	want := map[string]bool{}
	for i, pr := range p.d.Products {
		path := fmt.Sprintf("products[%d]", i)
		cp := pr.toCatalog()
		want[pr.ID] = true
		old, exists := byID[pr.ID]
		if !exists {
			p.add("create", "product", pr.ID, "", putProduct, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateProduct(ctx, cp)
				return err
			})
		} else {
			var df diff
			df.field("name", old.Name, cp.Name)
			df.field("description", old.Description, cp.Description)
			df.field("published", old.Published, cp.Published)
			df.field("approvalRequired", old.ApprovalRequired, cp.ApprovalRequired)
			df.field("subscriptionsLimit", old.SubscriptionsLimit, cp.SubscriptionsLimit)
			if len(df) > 0 {
				p.add("update", "product", pr.ID, df.String(), putProduct, func(ctx context.Context, st catalog.Store) error {
					_, err := st.UpdateProduct(ctx, cp)
					return err
				})
			}
		}
		if pr.APIs != nil {
			have := map[string]bool{}
			for _, apiID := range linksOf[pr.ID] {
				if p.haveAPI[apiID] {
					have[apiID] = true
				}
			}
			wantLink := map[string]bool{}
			for j, apiID := range pr.APIs {
				wantLink[apiID] = true
				if !p.haveAPI[apiID] {
					return invalid(fmt.Sprintf("%s.apis[%d]", path, j), "api %q does not exist", apiID)
				}
				if !have[apiID] {
					l := catalog.ProductAPI{ProductID: pr.ID, APIID: apiID}
					p.add("create", "product-api", l.ProductID+"/"+l.APIID, "", putProductAPI, func(ctx context.Context, st catalog.Store) error {
						return st.AddProductAPI(ctx, l)
					})
				}
			}
			if p.prune {
				for _, apiID := range sortedKeys(have) {
					if !wantLink[apiID] {
						l := catalog.ProductAPI{ProductID: pr.ID, APIID: apiID}
						p.add("delete", "product-api", l.ProductID+"/"+l.APIID, "", delProductAPI, func(ctx context.Context, st catalog.Store) error {
							return st.RemoveProductAPI(ctx, l)
						})
					}
				}
			}
		}
		if err := p.policy(path+".policy", catalog.ScopeProduct, pr.ID, pr.Policy, exists); err != nil {
			return err
		}
	}
	if p.prune {
		for _, pr := range cur {
			if !want[pr.ID] {
				id := pr.ID
				delete(p.haveProduct, id)
				p.add("delete", "product", id, "", delProduct, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteProduct(ctx, id)
				})
			}
		}
	}
	for _, pr := range p.d.Products {
		p.haveProduct[pr.ID] = true
	}
	return nil
}

func (p *planner) subscriptions() error {
	cur, err := p.st.ListSubscriptions(p.ctx, catalog.SubscriptionFilter{})
	if err != nil {
		return err
	}
	if p.d.Subscriptions == nil {
		// Deleting a user, product or API that live subscriptions use
		// would fail in the middle of Apply; refuse it now.
		for _, s := range cur {
			if err := p.checkRefs("", s); err != nil {
				return invalid("subscriptions", "not in the document, but subscription %q needs what prune would delete: %s", s.ID, err.(*catalog.FieldError).Msg)
			}
		}
		return nil
	}
	byID := map[string]catalog.Subscription{}
	for _, s := range cur {
		byID[s.ID] = s
	}
	want := map[string]bool{}
	for i, s := range p.d.Subscriptions {
		path := fmt.Sprintf("subscriptions[%d]", i)
		cs := s.toCatalog()
		want[s.ID] = true
		if err := p.checkRefs(path, cs); err != nil {
			return err
		}
		old, exists := byID[s.ID]
		if !exists {
			p.add("create", "subscription", s.ID, "", putSubscription, func(ctx context.Context, st catalog.Store) error {
				_, _, _, err := st.CreateSubscription(ctx, cs)
				return err
			})
			continue
		}
		for _, f := range []struct{ name, old, new string }{
			{"userId", old.UserID, cs.UserID}, {"name", old.Name, cs.Name},
			{"scope", string(old.Scope), string(cs.Scope)}, {"scopeId", old.ScopeID, cs.ScopeID},
		} {
			if f.old != f.new {
				return invalid(path+"."+f.name, "cannot change from %q to %q; delete the subscription and create a new one", f.old, f.new)
			}
		}
		if cs.State != "" && cs.State != old.State {
			id, state := s.ID, cs.State
			p.add("update", "subscription", s.ID, diffOf("state", string(old.State), string(state)), putSubscription, func(ctx context.Context, st catalog.Store) error {
				_, err := st.SetSubscriptionState(ctx, id, state)
				return err
			})
		}
		if !sameTime(old.ExpiresAt, cs.ExpiresAt) {
			id, exp := s.ID, cs.ExpiresAt
			p.add("update", "subscription", s.ID, diffOf("expiresAt", old.ExpiresAt, exp), putSubscription, func(ctx context.Context, st catalog.Store) error {
				_, err := st.SetSubscriptionExpiry(ctx, id, exp)
				return err
			})
		}
	}
	for _, s := range cur {
		if want[s.ID] {
			continue
		}
		if p.prune {
			id := s.ID
			p.add("delete", "subscription", id, "", delSubscription, func(ctx context.Context, st catalog.Store) error {
				return st.DeleteSubscription(ctx, id)
			})
		} else if err := p.checkRefs("", s); err != nil {
			return invalid("subscriptions", "subscription %q, kept, needs what prune would delete: %s", s.ID, err.(*catalog.FieldError).Msg)
		}
	}
	return nil
}

// checkRefs checks that a subscription's user and scope target exist
// after the plan.
func (p *planner) checkRefs(path string, s catalog.Subscription) error {
	if !p.haveUser[s.UserID] {
		return invalid(join(path, "userId"), "user %q does not exist", s.UserID)
	}
	switch s.Scope {
	case catalog.ScopeProduct:
		if !p.haveProduct[s.ScopeID] {
			return invalid(join(path, "scopeId"), "product %q does not exist", s.ScopeID)
		}
	case catalog.ScopeAPI:
		if !p.haveAPI[s.ScopeID] {
			return invalid(join(path, "scopeId"), "api %q does not exist", s.ScopeID)
		}
	}
	return nil
}

func (p *planner) namedValues() error {
	cur, err := p.st.ListNamedValues(p.ctx)
	if err != nil {
		return err
	}
	if p.d.NamedValues == nil {
		return nil
	}
	byName := map[string]catalog.NamedValue{}
	for _, n := range cur {
		byName[n.Name] = n
	}
	want := map[string]bool{}
	for i, n := range p.d.NamedValues {
		want[n.Name] = true
		old, exists := byName[n.Name]
		cn := catalog.NamedValue{Name: n.Name, Secret: n.Secret, Value: old.Value}
		if n.Value != nil {
			cn.Value = *n.Value
		}
		if !exists {
			if n.Value == nil {
				return invalid(fmt.Sprintf("namedValues[%d].value", i), "must be given to create named value %q", n.Name)
			}
			p.add("create", "named-value", n.Name, "", putNamedValue, func(ctx context.Context, st catalog.Store) error {
				_, err := st.CreateNamedValue(ctx, cn)
				return err
			})
			continue
		}
		var df diff
		if old.Value != cn.Value {
			if old.Secret || cn.Secret {
				df = append(df, "value: (secret) changed")
			} else {
				df.field("value", old.Value, cn.Value)
			}
		}
		df.field("secret", old.Secret, cn.Secret)
		if len(df) > 0 {
			p.add("update", "named-value", n.Name, df.String(), putNamedValue, func(ctx context.Context, st catalog.Store) error {
				_, err := st.UpdateNamedValue(ctx, cn)
				return err
			})
		}
	}
	if p.prune {
		for _, n := range cur {
			if !want[n.Name] {
				name := n.Name
				p.add("delete", "named-value", name, "", delNamedValue, func(ctx context.Context, st catalog.Store) error {
					return st.DeleteNamedValue(ctx, name)
				})
			}
		}
	}
	return nil
}

// policy plans the policy document of one scope. A nil pol leaves the
// stored one alone (deletes it with prune); an empty one deletes it.
// ownerExists is false when the owner is created by this plan.
func (p *planner) policy(path string, scope catalog.Scope, id string, pol *Policy, ownerExists bool) error {
	key := string(scope) + "/" + id
	if scope == catalog.ScopeGlobal {
		key = "global"
	}
	old, has := p.policies[string(scope)+"/"+id]
	if !ownerExists && scope != catalog.ScopeGlobal {
		has = false // a stale document of a deleted entity is not ours
	}
	del := func() {
		p.add("delete", "policy", key, "", delPolicy, func(ctx context.Context, st catalog.Store) error {
			err := st.DeletePolicy(ctx, scope, id)
			if errors.Is(err, catalog.ErrNotFound) {
				return nil
			}
			return err
		})
	}
	if pol == nil {
		if p.prune && has {
			del()
		}
		return nil
	}
	doc, err := pol.toCatalog(scope, id)
	if err != nil {
		return invalid(path+"."+err.(*catalog.FieldError).Path, "%s", err.(*catalog.FieldError).Msg)
	}
	if !has {
		old = catalog.PolicyDoc{}
	}
	if doc, err = catalog.UnmaskPolicySecrets(doc, old); err != nil {
		return invalid(join(path, err.(*catalog.FieldError).Path), "%s", err.(*catalog.FieldError).Msg)
	}
	if doc.Inbound == nil && doc.Backend == nil && doc.Outbound == nil && doc.OnError == nil {
		if has {
			del()
		}
		return nil
	}
	if err := p.checkModules(path, doc); err != nil {
		return err
	}
	if p.check != nil {
		if err := p.check(p.ctx, doc); err != nil {
			var fe *catalog.FieldError
			if errors.As(err, &fe) {
				return invalid(join(path, fe.Path), "%s", fe.Msg)
			}
			return err
		}
	}
	var df diff
	for _, sec := range []struct {
		name     string
		old, new []catalog.PolicyEntry
	}{{"inbound", old.Inbound, doc.Inbound}, {"backend", old.Backend, doc.Backend},
		{"outbound", old.Outbound, doc.Outbound}, {"onError", old.OnError, doc.OnError}} {
		if canon(sec.old) == canon(sec.new) {
			continue
		}
		if o, n := labels(sec.old), labels(sec.new); o != n {
			df = append(df, fmt.Sprintf("%s: [%s] → [%s]", sec.name, o, n))
		} else {
			df = append(df, sec.name+": configuration changed")
		}
	}
	if has && len(df) == 0 {
		return nil
	}
	action, d := "update", df.String()
	if !has {
		action, d = "create", ""
	}
	p.add(action, "policy", key, d, putPolicy, func(ctx context.Context, st catalog.Store) error {
		return st.SetPolicy(ctx, doc)
	})
	return nil
}

func (p *planner) checkModules(path string, d catalog.PolicyDoc) error {
	for _, sec := range []struct {
		name    string
		entries []catalog.PolicyEntry
	}{{"inbound", d.Inbound}, {"backend", d.Backend}, {"outbound", d.Outbound}, {"onError", d.OnError}} {
		for i, e := range sec.entries {
			for _, r := range [...]struct{ field, ref string }{{"module", e.Module}, {"fallback", e.Fallback}} {
				if e.Base || r.ref == "" {
					continue
				}
				if _, err := catalog.ResolveGranted(p.modules, r.ref); err != nil {
					return invalid(fmt.Sprintf("%s.%s[%d].%s", path, sec.name, i, r.field), "%s", err)
				}
			}
		}
	}
	return nil
}

// canon renders policy entries with configs in canonical JSON.
func canon(es []catalog.PolicyEntry) string {
	if es == nil {
		return "" // absent
	}
	if len(es) == 0 {
		return "[]"
	}
	cp := make([]catalog.PolicyEntry, len(es))
	for i, e := range es {
		if len(e.Config) > 0 {
			var v any
			if json.Unmarshal(e.Config, &v) == nil {
				e.Config, _ = json.Marshal(v)
			}
			if bytes.Equal(e.Config, []byte("null")) {
				e.Config = nil
			}
		}
		cp[i] = e
	}
	b, _ := json.Marshal(cp)
	return string(b)
}

func labels(es []catalog.PolicyEntry) string {
	var out []string
	for _, e := range es {
		switch {
		case e.Base:
			out = append(out, "base")
		case e.Policy != "":
			out = append(out, e.Module+":"+e.Policy)
		default:
			out = append(out, e.Module)
		}
	}
	return strings.Join(out, ", ")
}

func diffOf(name string, old, new any) string {
	var d diff
	d.field(name, old, new)
	return d.String()
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newID returns a random 24-hex-digit identifier, like the stores make.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
