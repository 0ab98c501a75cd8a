package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) subscriptionRoutes(r routes) {
	r.Handle("/subscriptions", s.h(s.listSubscriptions)).Methods(http.MethodGet)
	r.Handle("/subscriptions", s.h(s.createSubscription)).Methods(http.MethodPost)
	r.Handle("/subscriptions/{subId}", s.h(s.getSubscription)).Methods(http.MethodGet)
	r.Handle("/subscriptions/{subId}", s.h(s.deleteSubscription)).Methods(http.MethodDelete)
	r.Handle("/subscriptions/{subId}/keys", s.h(s.showKeys)).Methods(http.MethodGet)
	r.Handle("/subscriptions/{subId}/keys/{slot:primary|secondary}/regenerate", s.h(s.regenerateKey)).Methods(http.MethodPost)
	r.Handle("/subscriptions/{subId}/{action:approve|activate|suspend|cancel}", s.h(s.setSubscriptionState)).Methods(http.MethodPost)
	r.Handle("/subscriptions/{subId}/expiry", s.h(s.setSubscriptionExpiry)).Methods(http.MethodPut)
}

func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindSubscriptions, "", "userId", "scope", "scopeId", "productId", "apiId", "state", "namePrefix")
	if err != nil {
		return err
	}
	q := pq.q
	f := catalog.SubscriptionPageFilter{SubscriptionFilter: catalog.SubscriptionFilter{UserID: q.Get("userId"), Scope: catalog.Scope(q.Get("scope")), ScopeID: q.Get("scopeId")},
		State: catalog.SubscriptionState(q.Get("state")), NamePrefix: q.Get("namePrefix")}
	switch f.Scope {
	case "", catalog.ScopeAll, catalog.ScopeProduct, catalog.ScopeAPI:
	default:
		return invalid("scope", "must be one of all, product, api")
	}
	// productId and apiId are short for scope=product|api&scopeId=ID.
	for _, by := range []struct {
		param string
		scope catalog.Scope
	}{{"productId", catalog.ScopeProduct}, {"apiId", catalog.ScopeAPI}} {
		if id := q.Get(by.param); id != "" {
			if (f.Scope != "" && f.Scope != by.scope) || (f.ScopeID != "" && f.ScopeID != id) {
				return invalid(by.param, "contradicts scope/scopeId (or the other of productId, apiId)")
			}
			f.Scope, f.ScopeID = by.scope, id
		}
	}
	if f.State != "" && !f.State.Valid() {
		return invalid("state", "must be one of submitted, active, suspended, cancelled, expired")
	}
	p, err := s.pager.ListSubscriptionsPage(r.Context(), f, pq.req)
	if err != nil {
		return err
	}
	writePage(w, s, pq, p)
	return nil
}

type createdSubscription struct {
	Subscription catalog.Subscription `json:"subscription"`
	PrimaryKey   string               `json:"primaryKey"`
	SecondaryKey string               `json:"secondaryKey"`
}

// createSubscription creates a subscription. Its state is active, or
// submitted when the client asks for it or the product requires
// approval; a product's subscriptionsLimit counts the user's live
// (not cancelled, not expired) subscriptions to it.
func (s *server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var sub catalog.Subscription
	if err := decode(w, r, maxJSONBody, &sub); err != nil {
		return err
	}
	if sub.State != "" && !sub.State.Valid() {
		return invalid("state", "must be one of submitted, active, suspended, cancelled, expired")
	}
	if sub.State != catalog.StateSubmitted {
		sub.State = catalog.StateActive
	}
	sub.CreatedAt = time.Time{}
	if sub.Scope == catalog.ScopeProduct && sub.ScopeID != "" {
		p, err := s.st.GetProduct(r.Context(), sub.ScopeID)
		if errors.Is(err, catalog.ErrNotFound) {
			return conflict("product %q does not exist", sub.ScopeID)
		} else if err != nil {
			return err
		}
		if p.ApprovalRequired {
			sub.State = catalog.StateSubmitted
		}
		if p.SubscriptionsLimit > 0 && sub.UserID != "" {
			have, err := s.st.ListSubscriptions(r.Context(), catalog.SubscriptionFilter{UserID: sub.UserID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
			if err != nil {
				return err
			}
			live := 0
			now := time.Now()
			for _, h := range have {
				if st := h.EffectiveState(now); st != catalog.StateCancelled && st != catalog.StateExpired {
					live++
				}
			}
			if live >= p.SubscriptionsLimit {
				return conflict("user %q already has %d live subscriptions to product %q (limit %d)", sub.UserID, live, p.ID, p.SubscriptionsLimit)
			}
		}
	}
	created, k1, k2, err := s.st.CreateSubscription(writeCtx(r), sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdSubscription{created, k1, k2})
	return nil
}

func (s *server) getSubscription(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.st.GetSubscription(r.Context(), mux.Vars(r)["subId"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (s *server) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteSubscription(writeCtx(r), mux.Vars(r)["subId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// showKeys answers both plaintext keys. The disclosure is written to the
// audit log with the actor, and logged.
func (s *server) showKeys(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["subId"]
	if _, err := s.st.GetSubscription(r.Context(), id); err != nil {
		return err
	}
	k, err := s.st.ShowKeys(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.st.RecordRead(writeCtx(r), "subscription", id, "keys shown"); err != nil {
		return err
	}
	s.log.Info("admin api: subscription keys shown", "actor", principalOf(r).actor, "subscription", id, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, k)
	return nil
}

func (s *server) regenerateKey(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	key, err := s.st.RegenerateKey(writeCtx(r), v["subId"], catalog.KeySlot(v["slot"]))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Key string `json:"key"`
	}{key})
	return nil
}

var actionStates = map[string]catalog.SubscriptionState{
	"approve":  catalog.StateActive,
	"activate": catalog.StateActive,
	"suspend":  catalog.StateSuspended,
	"cancel":   catalog.StateCancelled,
}

func (s *server) setSubscriptionState(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	sub, err := s.st.GetSubscription(r.Context(), v["subId"])
	if err != nil {
		return err
	}
	if v["action"] == "approve" && sub.State != catalog.StateSubmitted {
		return conflict("subscription %q is %s; only submitted subscriptions can be approved", sub.ID, sub.State)
	}
	sub, err = s.st.SetSubscriptionState(writeCtx(r), sub.ID, actionStates[v["action"]])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (s *server) setSubscriptionExpiry(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if err := decode(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	var at *time.Time
	switch {
	case len(body.ExpiresAt) == 0:
		return invalid("expiresAt", "required: an RFC 3339 time, or null to clear")
	case bytes.Equal(body.ExpiresAt, []byte("null")):
	default:
		var t time.Time
		if err := json.Unmarshal(body.ExpiresAt, &t); err != nil {
			return invalid("expiresAt", "must be an RFC 3339 time or null")
		}
		at = &t
	}
	sub, err := s.st.SetSubscriptionExpiry(writeCtx(r), mux.Vars(r)["subId"], at)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}
