package catalog

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// Keyset pagination of list reads (docs/admin-api.md "Paging").
//
// A page is read after a PageKey: the sort key of the last item of the
// previous page. The next page holds the items whose key sorts after it, so
// an item inserted or deleted between two page reads never makes another
// item be skipped or repeated (an offset would). Every listing pages on a
// key that is unique, so the order is total.

// PageKey is the sort key of one item: compared S, then N, then T (bytes,
// numbers, bytes). Which fields a listing uses is the listing's choice
// (subscriptions: N = created_at, T = id; APIs: S = name; audit: N = id,
// newest first).
type PageKey struct {
	S string
	N int64
	T string
}

// Compare orders keys: S, then N, then T.
func (k PageKey) Compare(o PageKey) int {
	if c := strings.Compare(k.S, o.S); c != 0 {
		return c
	}
	if c := cmp.Compare(k.N, o.N); c != 0 {
		return c
	}
	return strings.Compare(k.T, o.T)
}

// Page limits of the admin API.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// PageRequest asks for at most Limit items after After (nil: from the
// start). Backward asks for the Limit items just before After instead,
// still answered in listing order (the admin UI's "previous" link).
type PageRequest struct {
	Limit    int
	After    *PageKey
	Backward bool
}

// Page is one page of a listing. More reports that items follow the page
// (precede it when the request was Backward); Next is the key of the last
// item, to read the next page after, and Prev the key of the first.
type Page[T any] struct {
	Items      []T
	More       bool
	Prev, Next PageKey
}

// SubscriptionPageFilter narrows ListSubscriptionsPage; zero fields match
// all. State is the effective state (ExpiresAt taken into account).
type SubscriptionPageFilter struct {
	SubscriptionFilter
	State SubscriptionState
	// NamePrefix matches the start of the display name (case-sensitive).
	NamePrefix string
}

// APIPageFilter narrows ListAPIsPage (prefixes are case-sensitive).
type APIPageFilter struct {
	NamePrefix, PathPrefix string
}

// UserPageFilter narrows ListUsersPage. EmailPrefix ignores ASCII case,
// as e-mail uniqueness does.
type UserPageFilter struct {
	EmailPrefix string
	State       string
}

// AuditPageFilter narrows ListAuditPage; Entity is the kind of entity
// written (api, subscription, ...).
type AuditPageFilter struct {
	Entity, Action, Actor string
	Since                 time.Time
}

// Pager is implemented by stores that page the big listings in their query
// (catalog/sqlite). Keys: subscriptions (N created_at, T id) oldest first;
// APIs (S name); users (S e-mail); audit (N id) newest first.
type Pager interface {
	ListSubscriptionsPage(ctx context.Context, f SubscriptionPageFilter, p PageRequest) (Page[Subscription], error)
	ListAPIsPage(ctx context.Context, f APIPageFilter, p PageRequest) (Page[API], error)
	ListUsersPage(ctx context.Context, f UserPageFilter, p PageRequest) (Page[User], error)
	ListAuditPage(ctx context.Context, f AuditPageFilter, p PageRequest) (Page[AuditEntry], error)
	// CountOperations counts the operations of each of the given APIs (a
	// page of them); APIs without operations are absent.
	CountOperations(ctx context.Context, apiIDs []string) (map[string]int, error)
}

// PageSlice pages a whole listing in memory, for the small listings
// (products, modules, ...): the items are ordered by key (desc: newest
// first), then cut after p.After. Keys must be unique.
func PageSlice[T any](all []T, key func(T) PageKey, desc bool, p PageRequest) Page[T] {
	sorted := make([]T, len(all))
	copy(sorted, all)
	less := func(a, b PageKey) bool {
		if desc {
			return a.Compare(b) > 0
		}
		return a.Compare(b) < 0
	}
	sort.SliceStable(sorted, func(i, j int) bool { return less(key(sorted[i]), key(sorted[j])) })
	var out Page[T]
	if p.Backward && p.After != nil {
		// The items before After: those up to the first not before it.
		end := sort.Search(len(sorted), func(i int) bool { return !less(key(sorted[i]), *p.After) })
		start := max(0, end-p.Limit)
		out.Items, out.More = sorted[start:end], start > 0
	} else {
		start := 0
		if p.After != nil {
			start = sort.Search(len(sorted), func(i int) bool { return less(*p.After, key(sorted[i])) })
		}
		end := min(len(sorted), start+p.Limit)
		out.Items, out.More = sorted[start:end], end < len(sorted)
	}
	if len(out.Items) > 0 {
		out.Prev, out.Next = key(out.Items[0]), key(out.Items[len(out.Items)-1])
	}
	return out
}

// Cursors are opaque to clients: base64url (no padding) of
//
//	version (1) | kind (1) | filter hash (4) | S, T (uvarint length + bytes) | N (varint) | MAC (8)
//
// where MAC is HMAC-SHA256 over everything before it, truncated, keyed by
// the server. A cursor changed in any byte, cut short, made by someone
// without the key, issued by another listing (kind) or for other filters
// (hash) fails DecodeCursor.
const (
	cursorVersion = 1
	cursorMACLen  = 8
	// MaxCursorLen bounds an encoded cursor (sort keys are names, e-mails
	// and IDs of at most a few hundred bytes).
	MaxCursorLen = 2048
)

// ErrBadCursor is the error of DecodeCursor.
var ErrBadCursor = errors.New("invalid cursor")

// FilterHash hashes a listing's filter values (and the parent it lists
// under), so that a cursor works only with the filters it was issued for.
func FilterHash(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return h.Sum32()
}

// EncodeCursor returns the cursor of key k in listing kind with filter
// hash fh, authenticated with secret.
func EncodeCursor(secret []byte, kind byte, fh uint32, k PageKey) string {
	b := make([]byte, 0, 16+len(k.S)+len(k.T)+cursorMACLen)
	b = append(b, cursorVersion, kind)
	b = binary.BigEndian.AppendUint32(b, fh)
	b = binary.AppendUvarint(b, uint64(len(k.S)))
	b = append(b, k.S...)
	b = binary.AppendUvarint(b, uint64(len(k.T)))
	b = append(b, k.T...)
	b = binary.AppendVarint(b, k.N)
	b = append(b, cursorMAC(secret, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func cursorMAC(secret, msg []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	return m.Sum(nil)[:cursorMACLen]
}

// DecodeCursor checks and decodes a cursor made by EncodeCursor with the
// same secret, kind and filter hash. Every failure wraps ErrBadCursor with
// the reason.
func DecodeCursor(secret []byte, kind byte, fh uint32, c string) (PageKey, error) {
	bad := func(why string) (PageKey, error) {
		return PageKey{}, errors.Join(ErrBadCursor, errors.New(why))
	}
	if len(c) > MaxCursorLen {
		return bad("too long")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return bad("not base64url")
	}
	if len(b) < 6+3+cursorMACLen {
		return bad("too short")
	}
	body, mac := b[:len(b)-cursorMACLen], b[len(b)-cursorMACLen:]
	if !hmac.Equal(mac, cursorMAC(secret, body)) {
		return bad("not issued by this server (or altered)")
	}
	if body[0] != cursorVersion {
		return bad("unknown version")
	}
	if body[1] != kind {
		return bad("issued by another listing")
	}
	if binary.BigEndian.Uint32(body[2:6]) != fh {
		return bad("issued for other filters")
	}
	rest := body[6:]
	str := func() (string, bool) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return "", false
		}
		s := string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
		return s, true
	}
	var k PageKey
	var ok1, ok2 bool
	k.S, ok1 = str()
	k.T, ok2 = str()
	if !ok1 || !ok2 {
		return bad("malformed")
	}
	n, w := binary.Varint(rest)
	if w <= 0 || w != len(rest) {
		return bad("malformed")
	}
	k.N = n
	return k, nil
}
