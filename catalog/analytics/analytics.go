// Package analytics is Gatehouse's request log and its rollups: the
// gateway hands every finished request to a Writer (Log never blocks),
// which appends it to a separate SQLite database (DATA/logs.db) in batches
// and maintains per-minute and per-hour aggregates in the same
// transactions. Query answers calls, errors, bytes, cache hits and latency
// percentiles over any range, grouped and bucketed; Requests answers the
// newest raw rows. docs/analytics.md describes the design and its loss
// window.
package analytics

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Record is one request as the gateway saw it.
type Record struct {
	Time                                                                                  time.Time
	RequestID, API, Operation, Product, Subscription, User, ClientIP, Method, Path, Query string // Query is already redacted by the gateway
	Status, BackendStatus                                                                 int    // BackendStatus 0 when the backend was not called
	Total, Backend, Policies                                                              time.Duration
	BytesIn, BytesOut                                                                     int64
	CacheHit                                                                              bool
	// CacheStatus is what the gateway's response cache did: "hit", "miss",
	// "stale", "revalidated", "bypass", or "" when no cache policy ran
	// (records written before it was kept read back "hit" or "").
	CacheStatus string
	PolicyError string
	// GRPC marks a gRPC call; GRPCStatus is then its final grpc-status
	// (-1: the response carried none). JSON: grpcStatus, absent when not
	// gRPC.
	GRPC       bool
	GRPCStatus int
}

// recordJSON is the JSON shape of a Record: durations in milliseconds.
type recordJSON struct {
	Time          time.Time `json:"time"`
	RequestID     string    `json:"requestId,omitempty"`
	API           string    `json:"api,omitempty"`
	Operation     string    `json:"operation,omitempty"`
	Product       string    `json:"product,omitempty"`
	Subscription  string    `json:"subscription,omitempty"`
	User          string    `json:"user,omitempty"`
	ClientIP      string    `json:"clientIp,omitempty"`
	Method        string    `json:"method,omitempty"`
	Path          string    `json:"path,omitempty"`
	Query         string    `json:"query,omitempty"`
	Status        int       `json:"status"`
	BackendStatus int       `json:"backendStatus,omitempty"`
	TotalMs       float64   `json:"totalMs"`
	BackendMs     float64   `json:"backendMs"`
	PoliciesMs    float64   `json:"policiesMs"`
	BytesIn       int64     `json:"bytesIn"`
	BytesOut      int64     `json:"bytesOut"`
	CacheHit      bool      `json:"cacheHit"`
	CacheStatus   string    `json:"cacheStatus,omitempty"`
	PolicyError   string    `json:"policyError,omitempty"`
	GRPCStatus    *int      `json:"grpcStatus,omitempty"`
}

// MarshalJSON encodes r with lowerCamelCase names and durations as
// milliseconds (totalMs, backendMs, policiesMs).
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		Time: r.Time.UTC(), RequestID: r.RequestID, API: r.API, Operation: r.Operation, Product: r.Product,
		Subscription: r.Subscription, User: r.User, ClientIP: r.ClientIP, Method: r.Method, Path: r.Path,
		Query: r.Query, Status: r.Status, BackendStatus: r.BackendStatus,
		TotalMs: ms(r.Total), BackendMs: ms(r.Backend), PoliciesMs: ms(r.Policies),
		BytesIn: r.BytesIn, BytesOut: r.BytesOut, CacheHit: r.CacheHit, CacheStatus: r.CacheStatus, PolicyError: r.PolicyError,
		GRPCStatus: grpcStatusJSON(r),
	})
}

// UnmarshalJSON decodes the shape MarshalJSON writes.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{Time: j.Time, RequestID: j.RequestID, API: j.API, Operation: j.Operation, Product: j.Product,
		Subscription: j.Subscription, User: j.User, ClientIP: j.ClientIP, Method: j.Method, Path: j.Path,
		Query: j.Query, Status: j.Status, BackendStatus: j.BackendStatus,
		Total: fromMs(j.TotalMs), Backend: fromMs(j.BackendMs), Policies: fromMs(j.PoliciesMs),
		BytesIn: j.BytesIn, BytesOut: j.BytesOut, CacheHit: j.CacheHit, CacheStatus: j.CacheStatus, PolicyError: j.PolicyError}
	if j.GRPCStatus != nil {
		r.GRPC, r.GRPCStatus = true, *j.GRPCStatus
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMs(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// Group-by dimensions and buckets accepted by Query.
var (
	Dimensions = []string{"api", "operation", "product", "subscription", "user"}
	Buckets    = []string{"", "minute", "hour", "day"}
)

// MaxMinuteSpan is the longest range a query with bucket "minute" may
// cover.
const MaxMinuteSpan = 48 * time.Hour

// Query selects and aggregates rollups. The range [From, To) is applied
// at minute granularity: a minute counts when it starts at or after From
// truncated to the minute and before To. A zero To means now; a zero From
// means To minus 24 hours.
type Query struct {
	From, To                                    time.Time
	GroupBy                                     []string // any of "api","operation","product","subscription","user"; empty = one total row
	Bucket                                      string   // "", "minute", "hour", "day" (UTC)
	API, Operation, Product, Subscription, User string   // filters
}

// Row is one aggregate: its bucket start (when bucketed), the grouped
// dimensions, and the figures.
type Row struct {
	Bucket                                      time.Time
	API, Operation, Product, Subscription, User string
	Calls, Errors4xx, Errors5xx                 int64
	BytesIn, BytesOut, CacheHits                int64
	CacheHitRatio                               float64
	P50, P95, P99                               time.Duration
}

type rowJSON struct {
	Bucket        time.Time `json:"bucket,omitzero"`
	API           string    `json:"api,omitempty"`
	Operation     string    `json:"operation,omitempty"`
	Product       string    `json:"product,omitempty"`
	Subscription  string    `json:"subscription,omitempty"`
	User          string    `json:"user,omitempty"`
	Calls         int64     `json:"calls"`
	Errors4xx     int64     `json:"errors4xx"`
	Errors5xx     int64     `json:"errors5xx"`
	BytesIn       int64     `json:"bytesIn"`
	BytesOut      int64     `json:"bytesOut"`
	CacheHits     int64     `json:"cacheHits"`
	CacheHitRatio float64   `json:"cacheHitRatio"`
	P50Ms         float64   `json:"p50Ms"`
	P95Ms         float64   `json:"p95Ms"`
	P99Ms         float64   `json:"p99Ms"`
}

// MarshalJSON encodes r with lowercase names and the percentiles as
// milliseconds (p50Ms, p95Ms, p99Ms).
func (r Row) MarshalJSON() ([]byte, error) {
	j := rowJSON{Bucket: r.Bucket, API: r.API, Operation: r.Operation, Product: r.Product, Subscription: r.Subscription,
		User: r.User, Calls: r.Calls, Errors4xx: r.Errors4xx, Errors5xx: r.Errors5xx, BytesIn: r.BytesIn,
		BytesOut: r.BytesOut, CacheHits: r.CacheHits, CacheHitRatio: r.CacheHitRatio,
		P50Ms: ms(r.P50), P95Ms: ms(r.P95), P99Ms: ms(r.P99)}
	if !j.Bucket.IsZero() {
		j.Bucket = j.Bucket.UTC()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the shape MarshalJSON writes.
func (r *Row) UnmarshalJSON(b []byte) error {
	var j rowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Row{Bucket: j.Bucket, API: j.API, Operation: j.Operation, Product: j.Product, Subscription: j.Subscription,
		User: j.User, Calls: j.Calls, Errors4xx: j.Errors4xx, Errors5xx: j.Errors5xx, BytesIn: j.BytesIn,
		BytesOut: j.BytesOut, CacheHits: j.CacheHits, CacheHitRatio: j.CacheHitRatio,
		P50: fromMs(j.P50Ms), P95: fromMs(j.P95Ms), P99: fromMs(j.P99Ms)}
	return nil
}

// Normalize fills the defaults of q (To = now, From = To - 24h, UTC) and
// validates it. Errors are *catalog.FieldError (wrapping
// catalog.ErrInvalid) naming the field: groupBy, bucket, from or to.
func (q Query) Normalize(now time.Time) (Query, error) {
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-24 * time.Hour)
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if !q.From.Before(q.To) {
		return q, &catalog.FieldError{Path: "to", Msg: "must be after from"}
	}
	var gb []string
	for i, g := range q.GroupBy {
		g = strings.TrimSpace(g)
		if !slices.Contains(Dimensions, g) {
			return q, &catalog.FieldError{Path: "groupBy", Msg: fmt.Sprintf("unknown dimension %q at position %d (want any of %s)", g, i, strings.Join(Dimensions, ", "))}
		}
		if slices.Contains(gb, g) {
			return q, &catalog.FieldError{Path: "groupBy", Msg: fmt.Sprintf("dimension %q given twice", g)}
		}
		gb = append(gb, g)
	}
	q.GroupBy = gb
	if !slices.Contains(Buckets, q.Bucket) {
		return q, &catalog.FieldError{Path: "bucket", Msg: fmt.Sprintf("unknown bucket %q (want minute, hour or day, or none)", q.Bucket)}
	}
	if q.Bucket == "minute" && q.To.Sub(q.From) > MaxMinuteSpan {
		return q, &catalog.FieldError{Path: "bucket", Msg: fmt.Sprintf("minute buckets cover at most %s; use hour or day", MaxMinuteSpan)}
	}
	return q, nil
}

// RequestFilter selects raw rows for Requests.
type RequestFilter struct {
	// Limit is the number of rows, newest first: default 100, at most
	// MaxRequestLimit.
	Limit                                       int
	API, Operation, Product, Subscription, User string
	// Status, when not 0, selects one status code.
	Status int
	// From and To, when not zero, bound the request time [From, To).
	From, To time.Time
}

// Request limits.
const (
	DefaultRequestLimit = 100
	MaxRequestLimit     = 1000
)

// The request log keeps the cache status in its cache_hit column as a
// small code, so that rows written before statuses existed (0 or 1) read
// back as they were: 0 none, 1 hit, 2 miss, 3 stale, 4 revalidated,
// 5 bypass.
var cacheCodes = [...]string{"", "hit", "miss", "stale", "revalidated", "bypass"}

func cacheCode(r *Record) int64 {
	for i, s := range cacheCodes {
		if i > 0 && s == r.CacheStatus {
			return int64(i)
		}
	}
	if r.CacheHit {
		return 1
	}
	return 0
}

// decodeCache turns a cache_hit column value back into CacheHit (the
// response came from the cache) and CacheStatus.
func decodeCache(code int) (hit bool, status string) {
	if code < 0 || code >= len(cacheCodes) {
		return false, ""
	}
	status = cacheCodes[code]
	return status == "hit" || status == "stale" || status == "revalidated", status
}
