package gateway

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/host/edge"
)

// grpcStatus is the final grpc-status of a gRPC call as its client sees
// it: the one the backend's response carried (in headers or trailers, -1
// when none, e.g. a call cancelled midway), or, for an answer the gateway
// made itself (a policy's 401, no route, a backend failure), the code
// edge.GRPCErrors converts its HTTP status to.
func grpcStatus(h http.Header, status int) int {
	if strings.HasPrefix(h.Get("Content-Type"), "application/grpc") {
		return edge.FinalGRPCStatus(h)
	}
	return edge.GRPCStatusForHTTP(status)
}

// GRPCMetrics is implemented by RouteMetrics that count gRPC calls by
// their final grpc-status (host/metrics: gatehouse_grpc_calls_total by API).
type GRPCMetrics interface {
	ObserveGRPC(code int)
}

// observeGRPC counts a finished gRPC call of the route m with its final
// grpc-status code.
func observeGRPC(m RouteMetrics, code int) {
	if o, ok := m.(GRPCMetrics); ok {
		o.ObserveGRPC(code)
	}
}
