package gateway

// routeMetricsReleaser is a Metrics that caps its per-API labels and can
// give the places of APIs a new config no longer has back before the build
// resolves that config's routes (host/metrics), so an API created by the
// same write that deleted another can take its place.
type routeMetricsReleaser interface {
	ReleaseAPIs(keep map[string]bool)
}

// releaseRouteMetrics tells a capping Metrics which APIs cfg holds.
func (g *Gateway) releaseRouteMetrics(cfg *Config) {
	r, ok := g.opts.Metrics.(routeMetricsReleaser)
	if !ok {
		return
	}
	keep := make(map[string]bool, len(cfg.APIs))
	for i := range cfg.APIs {
		keep[cfg.APIs[i].Name] = true
	}
	r.ReleaseAPIs(keep)
}
