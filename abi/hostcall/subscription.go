package hostcall

import (
	"encoding/json"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/canon"
)

// Capability subscription (ABI.md §5 "subscription").

// SubscriptionLookup is subscription_lookup: the subscription as JSON; an
// active one whose scope covers the API is bound to the request.
func (h *Host) SubscriptionLookup(env Env, x *Exchange, key, buf []byte) int32 {
	l := h.svc().Subscriptions
	if l == nil {
		return abi.ErrUnavail
	}
	if len(key) == 0 || len(key) > abi.MaxSubscriptionKey {
		return abi.ErrNotFound
	}
	sub, ok, err := l.LookupSubscription(x.context(), string(key), x.API)
	if err != nil {
		return abi.ErrUnavail
	}
	if !ok {
		return abi.ErrNotFound
	}
	if sub.State == "active" && sub.APIAllowed {
		x.bind(sub)
	}
	enc, _ := json.Marshal(sub)
	return out(buf, enc)
}

func (x *Exchange) bind(sub Subscription) {
	x.sub = sub
	x.Subscription = &x.sub
}

// SubscriptionCheck is subscription_check: the whole key check in one call.
// The key is taken from the request header or (with abi.SubAllowQuery) the
// query parameter; on success it is removed from the forwarded request
// unless abi.SubKeep, and the query parameter the key was read from (or
// removed from) is recorded: the host redacts it from its request log
// (KeyQueryParams), whatever policy made the call.
func (h *Host) SubscriptionCheck(env Env, x *Exchange, header, query []byte, flags int32) int32 {
	if x.Phase == PhaseResponse {
		return abi.ErrPhase
	}
	l := h.svc().Subscriptions
	if l == nil {
		return abi.ErrUnavail
	}
	var key string
	// A canonical name (what the SDK sends) is found without allocating.
	canonName := ""
	vs, found := x.ReqHeader[string(header)]
	if !found {
		k, ok := canonicalKey(header)
		if !ok {
			return abi.ErrInvalid
		}
		canonName = k
		vs = x.ReqHeader[k]
	}
	if len(vs) > 0 {
		key = vs[0]
	}
	useQuery := flags&abi.SubAllowQuery != 0 && len(query) > 0
	if useQuery {
		// The parameter may carry a key whatever the outcome: the host
		// keeps it out of its logs.
		x.noteKeyQuery(query)
	}
	if key == "" && useQuery {
		key, _ = canon.QueryValue(x.Query, string(query))
	}
	if key == "" {
		return abi.SubMissing
	}
	if len(key) > abi.MaxSubscriptionKey {
		return abi.SubInvalid
	}
	sub, ok, err := l.LookupSubscription(x.context(), key, x.API)
	switch {
	case err != nil:
		return abi.ErrUnavail
	case !ok || sub.State != "active":
		return abi.SubInvalid
	case !sub.APIAllowed:
		return abi.SubOutOfScope
	}
	x.bind(sub)
	if flags&abi.SubKeep == 0 {
		// The key leaves the request wherever it was: header and, when the
		// query form is allowed, the query parameter too.
		if canonName != "" {
			delete(x.ReqHeader, canonName)
		} else {
			delete(x.ReqHeader, string(header))
		}
		if useQuery {
			if _, ok := canon.QueryValue(x.Query, string(query)); ok {
				x.Query = canon.RemoveQueryParam(x.Query, string(query))
			}
		}
	}
	return abi.SubOK
}

// noteKeyQuery records a query parameter name subscription_check read a key
// from (or could have).
func (x *Exchange) noteKeyQuery(name []byte) {
	for _, n := range x.keyQuery {
		if n == string(name) {
			return
		}
	}
	x.keyQuery = append(x.keyQuery, string(name))
}

// KeyQueryParams returns the query parameter names subscription_check was
// asked to take a key from during this request (ABI v1.2): the host redacts
// them from what it logs of the query.
func (x *Exchange) KeyQueryParams() []string { return x.keyQuery }
