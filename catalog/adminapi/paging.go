package adminapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// Paging of list answers (docs/admin-api.md "Paging"; RATIONALE.md
// "Admin API paging"). Every list route takes ?limit=N&after=CURSOR and
// its own filters; any other query parameter is 400. With limit or after
// the answer is one page, {"items": [...], "next": "CURSOR"} with next
// absent on the last page; without either it is the whole list, as
// before paging existed (except /audit, which always pages).

// Listing kinds, written into cursors so a cursor works only on the
// listing that issued it. Never renumber: cursors held by clients carry
// them.
const (
	kindAPIs byte = iota + 1
	kindOperations
	kindProducts
	kindProductAPIs
	kindGroups
	kindGroupUsers
	kindUsers
	kindSubscriptions
	kindModules
	kindPolicies
	kindNamedValues
	kindAudit
	kindAdmins
	kindAdminTokens
	kindCertificates
)

// unpagedLimit reads a whole listing in one query when the client asked
// for no page.
const unpagedLimit = 1 << 40

// pageQuery is a list request's paging: the page asked for, the filters
// given, and what its cursors are bound to.
type pageQuery struct {
	paged bool // limit or after given
	req   catalog.PageRequest
	kind  byte
	fh    uint32
	q     url.Values
}

// cursorSecret derives the key that authenticates cursors from the
// break-glass token: cursors outlive a restart with the same token and a
// client cannot make one the server did not issue.
func cursorSecret(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("gatehouse admin api cursor v1"))
	return m.Sum(nil)
}

// parsePage reads limit, after and the listing's filters (the only other
// query parameters allowed); parent is the ID the listing lists under
// ("" for top-level listings), bound into cursors with the filters.
func (s *server) parsePage(r *http.Request, kind byte, parent string, filters ...string) (pageQuery, error) {
	q := r.URL.Query()
	pq := pageQuery{kind: kind, q: q}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k != "limit" && k != "after" && !containsStr(filters, k) {
			allowed := append([]string{"limit", "after"}, filters...)
			return pq, invalid(k, "unknown query parameter; this list takes %s", strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return pq, invalid(k, "given more than once")
		}
	}
	parts := []string{parent}
	for _, f := range filters {
		parts = append(parts, f+"="+q.Get(f))
	}
	pq.fh = catalog.FilterHash(parts...)
	pq.req.Limit = catalog.DefaultPageLimit
	if _, ok := q["limit"]; ok {
		n, err := parseLimit(q.Get("limit"))
		if err != nil {
			return pq, err
		}
		pq.paged, pq.req.Limit = true, n
	}
	if _, ok := q["after"]; ok {
		c := q.Get("after")
		if c == "" {
			return pq, invalid("after", "empty; give the next of the previous page, or leave after out for the first page")
		}
		k, err := catalog.DecodeCursor(s.cursorKey, kind, pq.fh, c)
		if err != nil {
			return pq, invalid("after", "%s; start again without after", cursorReason(err))
		}
		pq.paged, pq.req.After = true, &k
	}
	if !pq.paged {
		pq.req.Limit = unpagedLimit
	}
	return pq, nil
}

// parseLimit accepts decimal digits only, 1 to catalog.MaxPageLimit.
func parseLimit(v string) (int, error) {
	bad := invalid("limit", "must be an integer from 1 to %d", catalog.MaxPageLimit)
	if v == "" || len(v) > 7 || strings.Trim(v, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > catalog.MaxPageLimit {
		return 0, bad
	}
	return n, nil
}

func cursorReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	return "invalid cursor: " + msg
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// pageBody is a list answer: items, and next when more follow.
type pageBody[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// writePage answers one page (or the whole list when not paged).
func writePage[T any](w http.ResponseWriter, s *server, pq pageQuery, p catalog.Page[T]) {
	b := pageBody[T]{Items: p.Items}
	if b.Items == nil {
		b.Items = []T{}
	}
	if p.More {
		b.Next = catalog.EncodeCursor(s.cursorKey, pq.kind, pq.fh, p.Next)
	}
	writeJSON(w, http.StatusOK, b)
}

// sliceAnswer pages a whole small listing in memory by key, or answers it
// as it is when the client asked for no page (the order it always had).
func sliceAnswer[T any](w http.ResponseWriter, s *server, pq pageQuery, all []T, key func(T) catalog.PageKey) {
	if !pq.paged {
		writeJSON(w, http.StatusOK, list(all))
		return
	}
	writePage(w, s, pq, catalog.PageSlice(all, key, false, pq.req))
}

var errNoPager = errors.New("adminapi: Store must implement catalog.Pager (catalog/sqlite does)")
