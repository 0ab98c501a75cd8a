package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

const subCols = `s.id, s.user_id, s.name, s.scope, COALESCE(s.product_id, s.api_id, ''), s.state, s.expires_at, s.created_at`

// scanSub reads a subscription and reports its effective state at now.
func scanSub(row scanner, now time.Time) (catalog.Subscription, error) {
	var sub catalog.Subscription
	var scope, state string
	var exp sql.NullInt64
	var created int64
	if err := row.Scan(&sub.ID, &sub.UserID, &sub.Name, &scope, &sub.ScopeID, &state, &exp, &created); err != nil {
		return catalog.Subscription{}, err
	}
	sub.Scope = catalog.Scope(scope)
	sub.State = catalog.SubscriptionState(state)
	if exp.Valid {
		t := time.Unix(0, exp.Int64).UTC()
		sub.ExpiresAt = &t
	}
	sub.CreatedAt = time.Unix(0, created).UTC()
	sub.State = sub.EffectiveState(now)
	return sub, nil
}

// liveStates are the states that count against a product's subscription limit.
const liveStates = `('submitted', 'active', 'suspended')`

// CreateSubscription stores a new subscription and returns it with its
// freshly generated primary and secondary keys. An empty ID is generated.
// An empty State becomes submitted for a product that requires approval and
// active otherwise. It fails with ErrConflict when the user or the scope
// target does not exist or the user reached the product's subscriptions
// limit.
func (s *Store) CreateSubscription(ctx context.Context, sub catalog.Subscription) (catalog.Subscription, string, string, error) {
	if sub.ID == "" {
		sub.ID = newID()
	}
	if err := sub.Validate(); err != nil {
		return catalog.Subscription{}, "", "", err
	}
	now := s.now()
	sub.CreatedAt = now.UTC()
	if sub.ExpiresAt != nil {
		t := sub.ExpiresAt.UTC()
		sub.ExpiresAt = &t
	}
	primary, err := catalog.NewKey()
	if err != nil {
		return catalog.Subscription{}, "", "", err
	}
	secondary, err := catalog.NewKey()
	if err != nil {
		return catalog.Subscription{}, "", "", err
	}
	var productID, apiID any
	switch sub.Scope {
	case catalog.ScopeProduct:
		productID = sub.ScopeID
	case catalog.ScopeAPI:
		apiID = sub.ScopeID
	}
	err = s.write(ctx, audit{"create", "subscription", sub.ID, fmt.Sprintf("user=%s scope=%s %s", sub.UserID, sub.Scope, sub.ScopeID)}, func(tx *sql.Tx) error {
		if sub.Scope == catalog.ScopeProduct {
			var approval bool
			var limit int
			err := tx.QueryRowContext(ctx, `SELECT approval_required, subscriptions_limit FROM products WHERE id = ?`, sub.ScopeID).Scan(&approval, &limit)
			if errors.Is(err, sql.ErrNoRows) {
				return catalog.Conflictf("product %q does not exist", sub.ScopeID)
			}
			if err != nil {
				return err
			}
			if sub.State == "" && approval {
				sub.State = catalog.StateSubmitted
			}
			if limit > 0 {
				var n int
				// Expired subscriptions (by date) do not count.
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE user_id = ? AND product_id = ?
					AND state IN `+liveStates+` AND (expires_at IS NULL OR expires_at > ?)`, sub.UserID, sub.ScopeID, now.UnixNano()).Scan(&n); err != nil {
					return err
				}
				if n >= limit {
					return catalog.Conflictf("user %q already has %d subscriptions to product %q (limit %d)", sub.UserID, n, sub.ScopeID, limit)
				}
			}
		}
		if sub.State == "" {
			sub.State = catalog.StateActive
		}
		var exp any
		if sub.ExpiresAt != nil {
			exp = sub.ExpiresAt.UnixNano()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (id, user_id, name, scope, product_id, api_id, state, expires_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sub.ID, sub.UserID, sub.Name, string(sub.Scope), productID, apiID,
			string(sub.State), exp, now.UnixNano(), now.UnixNano()); err != nil {
			return err
		}
		if err := s.putKey(ctx, tx, sub.ID, catalog.SlotPrimary, primary); err != nil {
			return err
		}
		return s.putKey(ctx, tx, sub.ID, catalog.SlotSecondary, secondary)
	})
	if err != nil {
		return catalog.Subscription{}, "", "", err
	}
	sub.State = sub.EffectiveState(now)
	return sub, primary, secondary, nil
}

// putKey stores (or replaces) one key slot as hash + sealed ciphertext.
func (s *Store) putKey(ctx context.Context, tx *sql.Tx, id string, slot catalog.KeySlot, key string) error {
	sealed, err := s.sealer.Seal([]byte(key), catalog.KeyAD(id, slot))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO subscription_keys (subscription_id, slot, key_hash, key_sealed, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (subscription_id, slot) DO UPDATE SET key_hash = excluded.key_hash,
			key_sealed = excluded.key_sealed, created_at = excluded.created_at`,
		id, string(slot), catalog.HashKey(key), sealed, s.now().UnixNano())
	return err
}

// GetSubscription returns one subscription; State reflects ExpiresAt.
func (s *Store) GetSubscription(ctx context.Context, id string) (catalog.Subscription, error) {
	sub, err := scanSub(s.r.QueryRowContext(ctx, `SELECT `+subCols+` FROM subscriptions s WHERE s.id = ?`, id), s.now())
	if err != nil {
		return catalog.Subscription{}, notFound(err, "subscription", id)
	}
	return sub, nil
}

// ListSubscriptions returns matching subscriptions, oldest first.
func (s *Store) ListSubscriptions(ctx context.Context, f catalog.SubscriptionFilter) ([]catalog.Subscription, error) {
	// Only the given filters are in the WHERE clause, so that SQLite can
	// use the user index (an "?1 = '' OR user_id = ?1" term defeats it:
	// a full scan per developer portal page with many subscriptions).
	where, args := []string{"1"}, []any{}
	if f.UserID != "" {
		where, args = append(where, "s.user_id = ?"), append(args, f.UserID)
	}
	if f.Scope != "" {
		where, args = append(where, "s.scope = ?"), append(args, string(f.Scope))
	}
	if f.ScopeID != "" {
		where, args = append(where, "COALESCE(s.product_id, s.api_id) = ?"), append(args, f.ScopeID)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+subCols+` FROM subscriptions s
		WHERE `+strings.Join(where, " AND ")+` ORDER BY s.created_at, s.id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	now := s.now()
	var out []catalog.Subscription
	for rows.Next() {
		sub, err := scanSub(rows, now)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, sub)
	}
	return out, mapErr(rows.Err())
}

// SetSubscriptionState moves a subscription to state (approve = active,
// suspend, cancel, ...) and returns it.
func (s *Store) SetSubscriptionState(ctx context.Context, id string, state catalog.SubscriptionState) (catalog.Subscription, error) {
	if !state.Valid() {
		return catalog.Subscription{}, &catalog.FieldError{Path: "state", Msg: "must be one of submitted, active, suspended, cancelled, expired"}
	}
	err := s.writeOne(ctx, audit{"set-state", "subscription", id, string(state)}, "subscription", id, `UPDATE subscriptions SET state = ?, updated_at = ? WHERE id = ?`, string(state), s.now().UnixNano(), id)
	if err != nil {
		return catalog.Subscription{}, err
	}
	return s.getSubW(ctx, id)
}

// SetSubscriptionExpiry sets or (with nil) clears the expiry date.
func (s *Store) SetSubscriptionExpiry(ctx context.Context, id string, expiresAt *time.Time) (catalog.Subscription, error) {
	var exp any
	detail := "never"
	if expiresAt != nil {
		exp = expiresAt.UnixNano()
		detail = expiresAt.UTC().Format(time.RFC3339)
	}
	err := s.writeOne(ctx, audit{"set-expiry", "subscription", id, detail}, "subscription", id, `UPDATE subscriptions SET expires_at = ?, updated_at = ? WHERE id = ?`, exp, s.now().UnixNano(), id)
	if err != nil {
		return catalog.Subscription{}, err
	}
	return s.getSubW(ctx, id)
}

// getSubW reads a subscription through the writer so the caller sees its
// own write.
func (s *Store) getSubW(ctx context.Context, id string) (catalog.Subscription, error) {
	sub, err := scanSub(s.writer(ctx).QueryRowContext(ctx, `SELECT `+subCols+` FROM subscriptions s WHERE s.id = ?`, id), s.now())
	if err != nil {
		return catalog.Subscription{}, notFound(err, "subscription", id)
	}
	return sub, nil
}

// RegenerateKey replaces one key slot with a fresh key and returns it; the
// other slot is untouched and the old key stops matching at once.
func (s *Store) RegenerateKey(ctx context.Context, id string, slot catalog.KeySlot) (string, error) {
	if !slot.Valid() {
		return "", &catalog.FieldError{Path: "slot", Msg: "must be primary or secondary"}
	}
	key, err := catalog.NewKey()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, audit{"regenerate-key", "subscription", id, string(slot)}, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM subscriptions WHERE id = ?`, id).Scan(&one); err != nil {
			return notFound(err, "subscription", id)
		}
		return s.putKey(ctx, tx, id, slot, key)
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// ShowKeys decrypts and returns both keys of a subscription.
func (s *Store) ShowKeys(ctx context.Context, id string) (catalog.Keys, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slot, key_sealed FROM subscription_keys WHERE subscription_id = ?`, id)
	if err != nil {
		return catalog.Keys{}, mapErr(err)
	}
	defer rows.Close()
	var k catalog.Keys
	n := 0
	for rows.Next() {
		var slot string
		var sealed []byte
		if err := rows.Scan(&slot, &sealed); err != nil {
			return catalog.Keys{}, mapErr(err)
		}
		pt, err := s.sealer.Open(sealed, catalog.KeyAD(id, catalog.KeySlot(slot)))
		if err != nil {
			return catalog.Keys{}, fmt.Errorf("subscription %q %s key: %w", id, slot, err)
		}
		switch catalog.KeySlot(slot) {
		case catalog.SlotPrimary:
			k.Primary = string(pt)
		case catalog.SlotSecondary:
			k.Secondary = string(pt)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return catalog.Keys{}, mapErr(err)
	}
	if n == 0 {
		return catalog.Keys{}, catalog.NotFoundf("subscription %q", id)
	}
	return k, nil
}

// LookupKey finds the subscription owning key (either slot) by its SHA-256.
// The subscription is returned whatever its state, with State reflecting
// ExpiresAt; callers must check it is active. Unknown or malformed keys
// give ErrNotFound, and so do keys of a user who is not active (blocked or
// pending): blocking a user revokes their keys like deleting them, at the
// next catalog version the gateway sees.
func (s *Store) LookupKey(ctx context.Context, key string) (catalog.Subscription, error) {
	if !catalog.WellFormedKey(key) {
		return catalog.Subscription{}, catalog.NotFoundf("subscription key")
	}
	sub, err := scanSub(s.r.QueryRowContext(ctx, `SELECT `+subCols+` FROM subscription_keys k
		JOIN subscriptions s ON s.id = k.subscription_id
		JOIN users u ON u.id = s.user_id AND u.state = 'active'
		WHERE k.key_hash = ?`, catalog.HashKey(key)), s.now())
	if err != nil {
		return catalog.Subscription{}, notFound(err, "subscription key", "")
	}
	return sub, nil
}

// DeleteSubscription deletes a subscription and its keys.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "subscription", id, ""}, "subscription", id, `DELETE FROM subscriptions WHERE id = ?`, id)
}
