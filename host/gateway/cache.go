package gateway

import "github.com/gatehouse/gatehouse/host/engine"

// CacheObserver is implemented by RouteMetrics that count what the
// response cache did per API (host/metrics does): status is one of
// abi.CacheStatus* as the host counts it (engine.Exchange.CacheStatus).
type CacheObserver interface {
	ObserveCache(status string)
}

// observeCache counts the call's cache outcome, if a cache policy ran.
func observeCache(m RouteMetrics, ex *engine.Exchange) {
	if o, ok := m.(CacheObserver); ok {
		if st := ex.CacheStatus(); st != "" {
			o.ObserveCache(st)
		}
	}
}
