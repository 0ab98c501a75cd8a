package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// gRPC calls by API and final grpc-status (docs/tls.md "gRPC"). The labels
// are bounded: the 17 codes of the gRPC spec and "other" for anything
// else; the API label as for requests_total (its series go with the API,
// RetainRoutes). The gateway counts each gRPC call of a route
// (routeMetrics.ObserveGRPC; api "" for calls that matched no route).

const grpcCodes = 17

type grpcCounters struct {
	once sync.Once
	vec  *prometheus.CounterVec
	by   [grpcCodes + 1]prometheus.Counter // api "": index grpcCodes is "other"
}

func grpcLabel(code int) string {
	if code < 0 || code >= grpcCodes {
		return "other"
	}
	return strconv.Itoa(code)
}

// grpcVec registers gatehouse_grpc_calls_total on first use.
func (m *Metrics) grpcVec() *prometheus.CounterVec {
	g := &m.grpc
	g.once.Do(func() {
		g.vec = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "grpc_calls_total",
			Help: "Finished gRPC calls by API and grpc-status (0-16; other: a missing or unknown status), whether the backend or the gateway (a policy, no route, a backend failure) answered; api is empty for calls that matched no route.",
		}, []string{"api", "grpc_status"})
		m.reg.MustRegister(g.vec)
		for i := range grpcCodes + 1 {
			g.by[i] = g.vec.WithLabelValues("", grpcLabel(i))
		}
	})
	return g.vec
}

// GRPCObserver returns a function counting a gRPC call's final status
// under api "" (for edge.GRPCErrors when the gateway has no Metrics;
// serve gives the gateway its Metrics, which count per API instead).
// Observing is an array index and an atomic add.
func (m *Metrics) GRPCObserver() func(code int) {
	m.grpcVec()
	g := &m.grpc
	return func(code int) {
		if code < 0 || code >= grpcCodes {
			code = grpcCodes
		}
		g.by[code].Inc()
	}
}

// ObserveGRPC implements gateway.GRPCMetrics: one finished gRPC call of
// the route. Its counter is resolved once per route and status.
func (r *routeMetrics) ObserveGRPC(code int) {
	if code < 0 || code >= grpcCodes {
		code = grpcCodes
	}
	c := r.byGRPC[code].Load()
	if c == nil {
		cnt := r.m.grpcVec().WithLabelValues(r.api, grpcLabel(code))
		c = &cnt
		r.byGRPC[code].Store(c)
	}
	(*c).Inc()
}

var _ gateway.GRPCMetrics = (*routeMetrics)(nil)
