package adminapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog/analytics"
)

// Analytics is the request log the analytics routes read
// (*analytics.Writer satisfies it).
type Analytics interface {
	Query(ctx context.Context, q analytics.Query) ([]analytics.Row, error)
	Requests(ctx context.Context, f analytics.RequestFilter) ([]analytics.Record, error)
}

func (s *server) analyticsRoutes(r routes) {
	r.Handle("/analytics", s.h(s.getAnalytics)).Methods(http.MethodGet)
	r.Handle("/analytics/requests", s.h(s.getAnalyticsRequests)).Methods(http.MethodGet)
	r.Handle("/subscriptions/{subId}/usage", s.h(s.getSubscriptionUsage)).Methods(http.MethodGet)
}

// noAnalytics answers routes of a server without a request log.
func noAnalytics() *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "analytics are not enabled on this server"}
}

// parseAnalyticsQuery reads from, to, bucket and the filters (and groupBy
// when withGroup) of an analytics query. Defaults: to = now, from = to -
// 24h.
func parseAnalyticsQuery(v url.Values, withGroup bool) (analytics.Query, error) {
	var q analytics.Query
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, invalid(p.name, "must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z")
			}
			*p.dst = t
		}
	}
	q.Bucket = v.Get("bucket")
	if withGroup {
		if g := v.Get("groupBy"); g != "" {
			q.GroupBy = strings.Split(g, ",")
		}
	}
	q.API, q.Operation, q.Product, q.Subscription, q.User = v.Get("api"), v.Get("operation"), v.Get("product"), v.Get("subscription"), v.Get("user")
	// Validate here so that errors name the query parameter.
	return q.Normalize(time.Now())
}

func (s *server) getAnalytics(w http.ResponseWriter, r *http.Request) error {
	if s.analytics == nil {
		return noAnalytics()
	}
	q, err := parseAnalyticsQuery(r.URL.Query(), true)
	if err != nil {
		return err
	}
	rows, err := s.analytics.Query(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list(rows))
	return nil
}

func (s *server) getAnalyticsRequests(w http.ResponseWriter, r *http.Request) error {
	if s.analytics == nil {
		return noAnalytics()
	}
	v := r.URL.Query()
	f := analytics.RequestFilter{API: v.Get("api"), Operation: v.Get("operation"), Product: v.Get("product"),
		Subscription: v.Get("subscription"), User: v.Get("user")}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return invalid("limit", "must be a positive integer")
		}
		f.Limit = min(n, analytics.MaxRequestLimit)
	}
	if st := v.Get("status"); st != "" {
		n, err := strconv.Atoi(st)
		if err != nil || n < 100 || n > 599 {
			return invalid("status", "must be an HTTP status code")
		}
		f.Status = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return invalid(p.name, "must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z")
			}
			*p.dst = t
		}
	}
	recs, err := s.analytics.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list(recs))
	return nil
}

// usage is the answer of GET /subscriptions/{subId}/usage.
type usage struct {
	SubscriptionID string          `json:"subscriptionId"`
	From           time.Time       `json:"from"`
	To             time.Time       `json:"to"`
	Bucket         string          `json:"bucket,omitempty"`
	Items          []analytics.Row `json:"items"`
}

// getSubscriptionUsage is the per-subscription view: the analytics of one
// (existing) subscription, optionally grouped by api and operation.
func (s *server) getSubscriptionUsage(w http.ResponseWriter, r *http.Request) error {
	if s.analytics == nil {
		return noAnalytics()
	}
	id := mux.Vars(r)["subId"]
	if _, err := s.st.GetSubscription(r.Context(), id); err != nil {
		return err
	}
	v := r.URL.Query()
	if v.Get("subscription") != "" {
		return invalid("subscription", "not allowed here: the subscription is in the path")
	}
	q, err := parseAnalyticsQuery(v, true)
	if err != nil {
		return err
	}
	for _, g := range q.GroupBy {
		if g != "api" && g != "operation" && g != "product" {
			return invalid("groupBy", "must be api, operation or product here")
		}
	}
	q.Subscription = id
	rows, err := s.analytics.Query(r.Context(), q)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []analytics.Row{}
	}
	writeJSON(w, http.StatusOK, usage{SubscriptionID: id, From: q.From, To: q.To, Bucket: q.Bucket, Items: rows})
	return nil
}
