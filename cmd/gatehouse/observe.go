package main

import (
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/metrics"
)

// requestLog adapts the analytics writer to the gateway's Observer: one
// record per call, queued without blocking (a full queue drops the record
// and counts it; gatehouse_request_log_dropped_total shows it).
type requestLog struct{ w *analytics.Writer }

// Observe implements gateway.Observer. Log copies the record.
func (l requestLog) Observe(c *gateway.CallRecord) {
	r := analytics.Record{
		Time: c.Time, RequestID: c.RequestID, API: c.API, Operation: c.Operation,
		Product: c.Product, Subscription: c.Subscription, User: c.User,
		ClientIP: c.ClientIP, Method: c.Method, Path: c.Path, Query: c.Query,
		Status: c.Status, BackendStatus: c.BackendStatus,
		Total: c.Total, Backend: c.Backend, Policies: c.Policies,
		BytesIn: c.BytesIn, BytesOut: c.BytesOut, CacheHit: c.CacheHit, CacheStatus: c.CacheStatus,
		PolicyError: c.PolicyError, GRPC: c.GRPC, GRPCStatus: c.GRPCStatus,
	}
	l.w.Log(&r)
}

// logStats reads the writer's counters for /metrics.
func logStats(w *analytics.Writer) func() metrics.LogStats {
	return func() metrics.LogStats {
		s := w.Stats()
		return metrics.LogStats{Written: s.Written, Dropped: s.Dropped, QueueDepth: s.QueueDepth, QueueCap: s.QueueCap}
	}
}

// observers fans one call record out to several observers.
type observers []gateway.Observer

func (o observers) Observe(c *gateway.CallRecord) {
	for _, x := range o {
		x.Observe(c)
	}
}
