package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// gRPC calls by their final grpc-status (docs/tls.md "gRPC"). The label is
// bounded: the 17 codes of the gRPC spec and "other" for anything else.

const grpcCodes = 17

type grpcCounters struct {
	once sync.Once
	by   [grpcCodes + 1]prometheus.Counter // index grpcCodes: "other"
}

// GRPCObserver returns the function the edge calls with the grpc-status
// of every finished gRPC call (edge.GRPCErrors). Its counters are resolved
// once: observing is an array index and an atomic add.
func (m *Metrics) GRPCObserver() func(code int) {
	g := &m.grpc
	g.once.Do(func() {
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "grpc_calls_total",
			Help: "Finished gRPC calls by grpc-status (0-16; other: a missing or unknown status), whether the backend or the gateway (a policy, no route, a backend failure) answered.",
		}, []string{"grpc_status"})
		m.reg.MustRegister(vec)
		for i := range grpcCodes {
			g.by[i] = vec.WithLabelValues(strconv.Itoa(i))
		}
		g.by[grpcCodes] = vec.WithLabelValues("other")
	})
	return func(code int) {
		if code < 0 || code >= grpcCodes {
			code = grpcCodes
		}
		g.by[code].Inc()
	}
}
