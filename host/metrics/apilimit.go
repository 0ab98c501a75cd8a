package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// API label cardinality (issue 15): the api label of requests_total,
// request_duration_seconds, cache_requests_total and grpc_calls_total is
// capped like the operation label, so the series of a catalog do not grow
// with its number of APIs. The first LimitAPIs APIs resolved keep their own
// label for the life of the process (or until the API is deleted, which
// frees its place for the next API resolved); every later API is counted
// under api="_other": its API-level calls under operation="" and its
// operations under operation="_other". The operation cap applies within the
// admitted APIs only.

// OverflowAPI is the api label of the calls to APIs past the LimitAPIs cap.
// An API whose ID is literally "_other" is always counted there.
const OverflowAPI = "_other"

// DefaultAPILimit is the APIs with their own series unless LimitAPIs says
// otherwise.
const DefaultAPILimit = 1000

// LimitAPIs caps how many APIs get their own api label. n < 0 lifts the
// cap; 0 counts every API under "_other" (no per-API series). Call it
// before the gateway resolves routes; it does not relabel routes already
// resolved.
func (m *Metrics) LimitAPIs(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.apiLimit = n
}

// CheckLimit says what is wrong with a --metrics-apis or
// --metrics-operations value: -1 (no cap), 0 or more.
func CheckLimit(n int) error {
	if n < -1 {
		return fmt.Errorf("%d: want -1 (no cap), 0 or a positive count", n)
	}
	return nil
}

// admitAPI reports whether api has (or now gets) its own label. m.mu held.
func (m *Metrics) admitAPI(api string) bool {
	if _, ok := m.apis[api]; ok {
		return true
	}
	if api == OverflowAPI || m.apiLimit >= 0 && m.inUse >= m.apiLimit {
		return false
	}
	m.apis[api] = struct{}{}
	m.inUse++
	m.fresh = append(m.fresh, api)
	return true
}

// ReleaseAPIs is called by the gateway before it builds a config, with the
// APIs of that config: the admitted APIs not in keep no longer count
// against the cap, so the build can admit new APIs in their place (an API
// created by the write that deleted another takes its place). Their routes
// keep their labels while the serving snapshot has them; RetainRoutes
// deletes them at the swap. If the build fails, they keep serving under
// their labels, and the APIs that build admitted (never served) are
// dropped here at the next build, so a refused config takes no place.
func (m *Metrics) ReleaseAPIs(keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.fresh) > 0 {
		fresh := make(map[string]bool, len(m.fresh))
		for _, api := range m.fresh {
			fresh[api] = true
			delete(m.apis, api)
		}
		for k, r := range m.routes {
			if fresh[k[0]] {
				delete(m.routes, k)
				if r.op != "" && r.op != OverflowOperation {
					m.opCount--
				}
			}
		}
		m.fresh = m.fresh[:0]
	}
	m.inUse = 0
	for api := range m.apis {
		if keep[api] {
			m.inUse++
		}
	}
}

// overflowRoute is the shared route of every API past the cap: index 0 for
// API-level calls (operation ""), 1 for operations. m.mu held.
func (m *Metrics) overflowRoute(op string) *routeMetrics {
	i, label := 0, ""
	if op != "" {
		i, label = 1, OverflowOperation
	}
	if m.other[i] == nil {
		m.other[i] = &routeMetrics{m: m, api: OverflowAPI, op: label}
	}
	return m.other[i]
}

// retainAPIs forgets the admitted APIs the serving snapshot no longer has
// (their places go to the next APIs resolved), counts the APIs and
// operations of the snapshot that are counted under "_other" (the
// label-overflow gauge), and deletes the "_other" API's series when no API
// is counted there any more. apis are the snapshot's APIs; m.mu held.
func (m *Metrics) retainAPIs(keep map[[2]string]bool, apis map[string]bool) {
	for api := range m.apis {
		if !apis[api] {
			delete(m.apis, api)
		}
	}
	m.inUse, m.fresh = len(m.apis), m.fresh[:0]
	overAPIs, overOps := 0, 0
	for api := range apis {
		if _, ok := m.apis[api]; !ok {
			overAPIs++
		}
	}
	for k := range keep {
		if k[1] == "" {
			continue
		}
		if _, admitted := m.apis[k[0]]; !admitted {
			continue
		}
		if _, own := m.routes[k]; !own {
			overOps++
		}
	}
	m.overAPIs.Store(int64(overAPIs))
	m.overOps.Store(int64(overOps))
	if overAPIs == 0 && (m.other[0] != nil || m.other[1] != nil) {
		m.other = [2]*routeMetrics{}
		m.deleteAPISeries(OverflowAPI)
	}
}

// deleteAPISeries removes every per-API series of api. m.mu held.
func (m *Metrics) deleteAPISeries(api string) {
	l := prometheus.Labels{"api": api}
	m.requests.DeletePartialMatch(l)
	m.latency.DeletePartialMatch(l)
	m.cache.DeletePartialMatch(l)
	if m.grpc.vec != nil {
		m.grpc.vec.DeletePartialMatch(l)
	}
}

var descOverflow = prometheus.NewDesc(namespace+"_metrics_label_overflow",
	"APIs (label=\"api\") and operations of APIs with their own label (label=\"operation\") in the serving snapshot that are counted under \"_other\" because of --metrics-apis / --metrics-operations; 0 when every one has its own series.",
	[]string{"label"}, nil)

// overflowCollector exposes the label-overflow gauge, as of the last
// RetainRoutes (the last snapshot swap).
type overflowCollector struct{ m *Metrics }

func (c overflowCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descOverflow }

func (c overflowCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.GaugeValue, float64(c.m.overAPIs.Load()), "api")
	ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.GaugeValue, float64(c.m.overOps.Load()), "operation")
}
