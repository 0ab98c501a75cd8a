package sqlite

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Keyset-paged listings (catalog.Pager). Each reads one page in its query
// (LIMIT n+1, to know whether more follow) after the key of the previous
// page's last item, on an index whose order is the listing's
// (0010_paging.sql for subscriptions). The List… functions above stay as
// they are: the gateway's catalog source and the declarative code read
// whole tables on purpose.

var _ catalog.Pager = (*Store)(nil)

// keyset is one paged query under construction.
type keyset struct {
	where []string
	args  []any
}

func (q *keyset) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

func (q *keyset) clause() string {
	if len(q.where) == 0 {
		return "1"
	}
	return strings.Join(q.where, " AND ")
}

// page runs sel (a SELECT without WHERE/ORDER BY) with q's conditions, the
// keyset condition and order: cols are the key columns in order; after
// builds the bound values of a key; desc lists newest first. Rows are
// scanned by scan, keyed by key.
func page[T any](ctx context.Context, s *Store, sel string, q keyset, cols []string, after func(catalog.PageKey) []any, desc bool,
	p catalog.PageRequest, scan func(scanner) (T, error), key func(T) catalog.PageKey) (catalog.Page[T], error) {
	if p.Limit <= 0 {
		p.Limit = catalog.DefaultPageLimit
	}
	// Backward reads the other way from After, then reverses.
	forward := !desc
	if p.Backward && p.After != nil {
		forward = !forward
	}
	if p.After != nil {
		tuple := "(" + strings.Join(cols, ", ") + ")"
		marks := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		op := ">"
		if !forward {
			op = "<"
		}
		q.add(tuple+" "+op+" "+marks, after(*p.After)...)
	}
	dir := " ASC"
	if !forward {
		dir = " DESC"
	}
	order := make([]string, len(cols))
	for i, c := range cols {
		order[i] = c + dir
	}
	rows, err := s.r.QueryContext(ctx, sel+" WHERE "+q.clause()+" ORDER BY "+strings.Join(order, ", ")+" LIMIT ?", append(q.args, p.Limit+1)...)
	if err != nil {
		return catalog.Page[T]{}, mapErr(err)
	}
	defer rows.Close()
	var out catalog.Page[T]
	for rows.Next() {
		if len(out.Items) == p.Limit {
			out.More = true
			break
		}
		v, err := scan(rows)
		if err != nil {
			return catalog.Page[T]{}, mapErr(err)
		}
		out.Items = append(out.Items, v)
	}
	if err := rows.Err(); err != nil {
		return catalog.Page[T]{}, mapErr(err)
	}
	if p.Backward && p.After != nil {
		slices.Reverse(out.Items)
	}
	if len(out.Items) > 0 {
		out.Prev, out.Next = key(out.Items[0]), key(out.Items[len(out.Items)-1])
	}
	return out, nil
}

// prefix is the condition "col starts with v" (exact bytes; substr counts
// characters, as len in Go does not, so compare the character count).
func prefixCond(col string) string {
	return "substr(" + col + ", 1, length(?)) = ?"
}

// ListSubscriptionsPage pages subscriptions oldest first (key: N =
// created_at, T = id), filtered in the query.
func (s *Store) ListSubscriptionsPage(ctx context.Context, f catalog.SubscriptionPageFilter, p catalog.PageRequest) (catalog.Page[catalog.Subscription], error) {
	var q keyset
	if f.UserID != "" {
		q.add("s.user_id = ?", f.UserID)
	}
	if f.Scope != "" {
		q.add("s.scope = ?", string(f.Scope))
	}
	if f.ScopeID != "" {
		switch f.Scope {
		case catalog.ScopeProduct:
			q.add("s.product_id = ?", f.ScopeID)
		case catalog.ScopeAPI:
			q.add("s.api_id = ?", f.ScopeID)
		default:
			q.add("COALESCE(s.product_id, s.api_id) = ?", f.ScopeID)
		}
	}
	if f.NamePrefix != "" {
		q.add(prefixCond("s.name"), f.NamePrefix, f.NamePrefix)
	}
	now := s.now()
	if f.State != "" {
		// The effective state (catalog.Subscription.EffectiveState): a
		// subscription that is not cancelled is expired once expires_at
		// has passed.
		n := now.UnixNano()
		switch f.State {
		case catalog.StateExpired:
			q.add("(s.state = 'expired' OR (s.state <> 'cancelled' AND s.expires_at IS NOT NULL AND s.expires_at <= ?))", n)
		case catalog.StateCancelled:
			q.add("s.state = 'cancelled'")
		default:
			q.add("s.state = ? AND (s.expires_at IS NULL OR s.expires_at > ?)", string(f.State), n)
		}
	}
	return page(ctx, s, `SELECT `+subCols+` FROM subscriptions s`, q, []string{"s.created_at", "s.id"},
		func(k catalog.PageKey) []any { return []any{k.N, k.T} }, false, p,
		func(r scanner) (catalog.Subscription, error) { return scanSub(r, now) },
		func(v catalog.Subscription) catalog.PageKey {
			return catalog.PageKey{N: v.CreatedAt.UnixNano(), T: v.ID}
		})
}

// ListAPIsPage pages APIs by name (unique), without OpenAPI documents.
func (s *Store) ListAPIsPage(ctx context.Context, f catalog.APIPageFilter, p catalog.PageRequest) (catalog.Page[catalog.API], error) {
	var q keyset
	if f.NamePrefix != "" {
		q.add(prefixCond("name"), f.NamePrefix, f.NamePrefix)
	}
	if f.PathPrefix != "" {
		q.add(prefixCond("path_prefix"), f.PathPrefix, f.PathPrefix)
	}
	return page(ctx, s, `SELECT `+apiCols+` FROM apis`, q, []string{"name"},
		func(k catalog.PageKey) []any { return []any{k.S} }, false, p,
		func(r scanner) (catalog.API, error) { return scanAPI(r) },
		func(a catalog.API) catalog.PageKey { return catalog.PageKey{S: a.Name} })
}

// ListUsersPage pages users by e-mail (unique ignoring ASCII case; the
// column's NOCASE collation orders and compares).
func (s *Store) ListUsersPage(ctx context.Context, f catalog.UserPageFilter, p catalog.PageRequest) (catalog.Page[catalog.User], error) {
	var q keyset
	if f.EmailPrefix != "" {
		q.add("substr(email, 1, length(?)) = ? COLLATE NOCASE", f.EmailPrefix, f.EmailPrefix)
	}
	if f.State != "" {
		q.add("state = ?", f.State)
	}
	return page(ctx, s, `SELECT id, email, name, state FROM users`, q, []string{"email"},
		func(k catalog.PageKey) []any { return []any{k.S} }, false, p,
		func(r scanner) (catalog.User, error) {
			var u catalog.User
			err := r.Scan(&u.ID, &u.Email, &u.Name, &u.State)
			return u, err
		},
		func(u catalog.User) catalog.PageKey { return catalog.PageKey{S: u.Email} })
}

// ListAuditPage pages the audit log newest first (key: N = id).
func (s *Store) ListAuditPage(ctx context.Context, f catalog.AuditPageFilter, p catalog.PageRequest) (catalog.Page[catalog.AuditEntry], error) {
	var q keyset
	if f.Entity != "" {
		q.add("entity = ?", f.Entity)
	}
	if f.Action != "" {
		q.add("action = ?", f.Action)
	}
	if f.Actor != "" {
		q.add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		q.add("at >= ?", f.Since.UnixNano())
	}
	return page(ctx, s, `SELECT id, at, actor, action, entity, entity_id, detail, version FROM audit_log`, q, []string{"id"},
		func(k catalog.PageKey) []any { return []any{k.N} }, true, p,
		func(r scanner) (catalog.AuditEntry, error) {
			var e catalog.AuditEntry
			var at int64
			err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &e.Detail, &e.Version)
			e.At = time.Unix(0, at).UTC()
			return e, err
		},
		func(e catalog.AuditEntry) catalog.PageKey { return catalog.PageKey{N: e.ID} })
}

// CountOperations counts the operations of each of apiIDs in one query.
func (s *Store) CountOperations(ctx context.Context, apiIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(apiIDs))
	if len(apiIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(apiIDs))
	for i, id := range apiIDs {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT api_id, COUNT(*) FROM operations WHERE api_id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(apiIDs)), ", ")+`) GROUP BY api_id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, mapErr(err)
		}
		out[id] = n
	}
	return out, mapErr(rows.Err())
}
