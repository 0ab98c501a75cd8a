package metrics

import "github.com/prometheus/client_golang/prometheus"

// RetainRoutes forgets the cached routes whose API and operation are not in
// keep (the routes of the snapshot now serving; the gateway calls it after
// each swap), deletes their request series and gives their places under the
// LimitOperations and LimitAPIs caps back. An API's "_other" route stays
// while the API does; the no-route route ("", "") always stays; the "_other"
// API's routes stay while an API of the snapshot is counted there. A call
// still finishing on the old snapshot counts on the instruments its route
// resolved, which a deleted series no longer has in the scrape: that call is
// not seen (it does not recreate the series).
func (m *Metrics) RetainRoutes(keep map[[2]string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	apis := map[string]bool{}
	for k := range keep {
		apis[k[0]] = true
	}
	gone := map[string]bool{} // APIs deleted: their series go in one pass each
	for k, r := range m.routes {
		if keep[k] || k == [2]string{} || (k[1] == OverflowOperation && apis[k[0]]) {
			continue
		}
		delete(m.routes, k)
		if r.op != "" && r.op != OverflowOperation {
			m.opCount--
		}
		if !apis[k[0]] {
			gone[k[0]] = true
			continue
		}
		l := prometheus.Labels{"api": k[0], "operation": k[1]}
		m.requests.DeletePartialMatch(l)
		m.latency.DeletePartialMatch(l)
	}
	for api := range gone {
		m.deleteAPISeries(api)
	}
	m.retainAPIs(keep, apis)
}
