// Package metrics exposes the gateway's Prometheus metrics on its own
// registry (never the global one).
//
// The request path pays little: per-route and per-stage instruments are
// resolved when a snapshot is built (gateway.Metrics), each route caching its
// children per status class, so a call costs one atomic load, one counter
// increment and one histogram observation, with no label lookups. Everything
// else (engine counters, instance pools, the catalog snapshot, the request
// log queue) is read from existing counters at scrape time.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
)

const namespace = "gatehouse"

// LatencyBuckets are the request duration histogram's bounds (seconds).
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// PolicyBuckets are the policy execution histogram's bounds (seconds).
var PolicyBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}

// Metrics is a registry with the gateway's instruments. It implements
// gateway.Metrics; pass it as gateway.Options.Metrics.
type Metrics struct {
	reg      *prometheus.Registry
	grpc     grpcCounters // grpc.go
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	policy   *prometheus.HistogramVec
	failures *prometheus.CounterVec
	cache    *prometheus.CounterVec

	mu     sync.Mutex
	routes map[[2]string]*routeMetrics
	stages map[string]*stageMetrics
	// opLimit caps the operations with their own operation label (-1: no
	// cap); opCount counts those admitted. See LimitOperations.
	opLimit, opCount int
	// apiLimit caps the APIs with their own api label (-1: no cap); apis
	// are those admitted, inUse those counted against the cap, fresh those
	// admitted since the last swap, other the routes of the rest
	// (apilimit.go).
	apiLimit, inUse int
	apis            map[string]struct{}
	fresh           []string
	other           [2]*routeMetrics
	// overAPIs, overOps: the label-overflow gauge, set by RetainRoutes.
	overAPIs, overOps atomic.Int64
}

// OverflowOperation is the operation label of the calls to operations past
// the LimitOperations cap, one per API.
const OverflowOperation = "_other"

// DefaultOperationLimit is the operations with their own series unless
// LimitOperations says otherwise.
const DefaultOperationLimit = 1000

// LimitOperations caps how many operations get their own operation label
// (requests_total and request_duration_seconds series): the first n routes
// resolved keep theirs for the life of the process; later operations are
// counted under operation="_other" of their API. n < 0 lifts the cap; 0
// counts every operation as "_other" (per-API series only). Call it before
// the gateway resolves routes; it does not relabel routes already resolved.
func (m *Metrics) LimitOperations(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opLimit = n
}

// New creates the registry with the request and policy instruments and the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		routes:  map[[2]string]*routeMetrics{},
		stages:  map[string]*stageMetrics{},
		opLimit: DefaultOperationLimit,

		apiLimit: DefaultAPILimit,
		apis:     map[string]struct{}{},
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "Calls served, by API, operation and status class (api and operation are empty for calls that matched no route).",
	}, []string{"api", "operation", "status_class"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "request_duration_seconds",
		Help:    "Time from a call's arrival to its response written, by API, operation and status class.",
		Buckets: LatencyBuckets,
	}, []string{"api", "operation", "status_class"})
	m.policy = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "policy_duration_seconds",
		Help:    "Execution time of one policy stage call (one guest call; stage is module/policy[,policy]), both phases.",
		Buckets: PolicyBuckets,
	}, []string{"stage"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "policy_failures_total",
		Help: "Policy stage calls that failed (trap, deadline, limit, bad result), by stage.",
	}, []string{"stage"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cache_requests_total",
		Help: "What the response cache did per call, by API and result (hit, miss, stale, revalidated, bypass); a hit is counted from the gateway's own cache calls, never from a backend's X-Cache header.",
	}, []string{"api", "result"})
	m.reg.MustRegister(m.requests, m.latency, m.policy, m.failures, m.cache, overflowCollector{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// statusClasses are the status_class label values, by status/100 (0 for
// anything outside 100–599).
var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// routeMetrics caches one route's children per status class; a class is
// resolved on its first call (so unused classes create no series).
type routeMetrics struct {
	m         *Metrics
	api, op   string
	byClass   [6]atomic.Pointer[classMetrics]
	byCache   [len(cacheResults)]atomic.Pointer[prometheus.Counter]
	byGRPC    [grpcCodes + 1]atomic.Pointer[prometheus.Counter] // grpc.go
	resolveMu sync.Mutex
}

type classMetrics struct {
	count prometheus.Counter
	hist  prometheus.Observer
}

// Route implements gateway.Metrics. Routes are cached across snapshots.
// Past the LimitAPIs cap an API shares the "_other" API's routes; past the
// LimitOperations cap an operation of an admitted API shares its API's
// "_other" route, so series stay bounded however big the catalog is.
func (m *Metrics) Route(api, op string) gateway.RouteMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{api, op}
	r, ok := m.routes[k]
	if ok {
		return r
	}
	overOp := op == OverflowOperation || m.opLimit >= 0 && m.opCount >= m.opLimit
	if op != "" && overOp {
		// An admitted API's "_other" route, found as before the API cap
		// (only admitted APIs have routes in m.routes).
		if r, ok = m.routes[[2]string{api, OverflowOperation}]; ok {
			return r
		}
	}
	if api != "" && !m.admitAPI(api) {
		return m.overflowRoute(op)
	}
	if op != "" {
		if overOp {
			op = OverflowOperation
			k[1] = op
		} else {
			m.opCount++
		}
	}
	r = &routeMetrics{m: m, api: api, op: op}
	m.routes[k] = r
	return r
}

// ObserveCall implements gateway.RouteMetrics.
func (r *routeMetrics) ObserveCall(status int, d time.Duration) {
	cls := status / 100
	if cls < 1 || cls > 5 {
		cls = 0
	}
	c := r.byClass[cls].Load()
	if c == nil {
		c = r.resolve(cls)
	}
	c.count.Inc()
	c.hist.Observe(d.Seconds())
}

func (r *routeMetrics) resolve(cls int) *classMetrics {
	r.resolveMu.Lock()
	defer r.resolveMu.Unlock()
	if c := r.byClass[cls].Load(); c != nil {
		return c
	}
	c := &classMetrics{
		count: r.m.requests.WithLabelValues(r.api, r.op, statusClasses[cls]),
		hist:  r.m.latency.WithLabelValues(r.api, r.op, statusClasses[cls]),
	}
	r.byClass[cls].Store(c)
	return c
}

// cacheResults are the result label values of cache_requests_total.
var cacheResults = [...]string{abi.CacheStatusHit, abi.CacheStatusMiss, abi.CacheStatusStale, abi.CacheStatusRevalidated, abi.CacheStatusBypass}

// ObserveCache implements gateway.CacheObserver: one call's cache result,
// counted per API (the operation label would multiply series for nothing).
func (r *routeMetrics) ObserveCache(status string) {
	for i, s := range cacheResults {
		if s != status {
			continue
		}
		c := r.byCache[i].Load()
		if c == nil {
			cnt := r.m.cache.WithLabelValues(r.api, s)
			c = &cnt
			r.byCache[i].Store(c)
		}
		(*c).Inc()
		return
	}
}

type stageMetrics struct {
	hist     prometheus.Observer
	failures prometheus.Counter
}

// Stage implements gateway.Metrics.
func (m *Metrics) Stage(label string) gateway.StageMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.stages[label]
	if !ok {
		s = &stageMetrics{hist: m.policy.WithLabelValues(label), failures: m.failures.WithLabelValues(label)}
		m.stages[label] = s
	}
	return s
}

// ObserveStage implements gateway.StageMetrics.
func (s *stageMetrics) ObserveStage(d time.Duration, failed bool) {
	s.hist.Observe(d.Seconds())
	if failed {
		s.failures.Inc()
	}
}

// LogStats is what the request log reports at scrape time.
type LogStats struct {
	Written, Dropped     int64
	QueueDepth, QueueCap int
}

// Sources are read at scrape time. Any may be nil.
type Sources struct {
	Gateway *gateway.Gateway
	Engine  *engine.Engine
	// Log returns the request log writer's counters.
	Log func() LogStats
	// Cache returns the value cache's size (entries, bytes): the
	// response cache and the value cache policies share it.
	Cache func() (entries int, bytes int64)
	// SQLiteMemory returns the bytes SQLite has allocated in the process
	// (all its databases), or a negative number where it cannot tell.
	SQLiteMemory func() int64
}

// Watch registers the scrape-time collectors of src.
func (m *Metrics) Watch(src Sources) {
	m.reg.MustRegister(&scrapeCollector{src: src})
}

var (
	descEngine = map[string]*prometheus.Desc{}

	descLiveInstances = prometheus.NewDesc(namespace+"_engine_live_instances", "Guest instances alive (all modules).", nil, nil)
	descGuestMem      = prometheus.NewDesc(namespace+"_engine_guest_memory_bytes", "Linear memory of the live guest instances: what the guests have grown it to.", nil, nil)
	descGuestMemRes   = prometheus.NewDesc(namespace+"_engine_guest_memory_resident_bytes", "Resident part of the live guest instances' linear memory (pages the guests have touched; Linux).", nil, nil)
	descPool          = prometheus.NewDesc(namespace+"_module_pool_instances", "Instances in a loaded module version's pool, by state (idle or busy).", []string{"module", "version", "state"}, nil)
	descPoolExhausted = prometheus.NewDesc(namespace+"_module_pool_exhaustions_total", "Policy calls of a loaded module version that found no instance before their queue timeout (each failed closed, 503, whatever the fail mode).", []string{"module", "version"}, nil)
	descVersion       = prometheus.NewDesc(namespace+"_config_version", "Version of the serving configuration snapshot (catalog version or file stamp).", nil, nil)
	descSnapAge       = prometheus.NewDesc(namespace+"_config_snapshot_age_seconds", "Seconds since the serving snapshot was built.", nil, nil)
	descReloadErr     = prometheus.NewDesc(namespace+"_config_reload_failed", "1 when the last configuration reload failed (the previous snapshot keeps serving).", nil, nil)
	descReady         = prometheus.NewDesc(namespace+"_config_loaded", "1 when a configuration snapshot is loaded.", nil, nil)
	descLogWritten    = prometheus.NewDesc(namespace+"_request_log_written_total", "Call records written to the request log.", nil, nil)
	descLogDropped    = prometheus.NewDesc(namespace+"_request_log_dropped_total", "Call records dropped because the request log queue was full.", nil, nil)
	descLogDepth      = prometheus.NewDesc(namespace+"_request_log_queue_depth", "Call records waiting to be written.", nil, nil)
	descLogCap        = prometheus.NewDesc(namespace+"_request_log_queue_capacity", "Capacity of the request log queue.", nil, nil)
	descRetries       = prometheus.NewDesc(namespace+"_backend_retries_total", "Backend requests sent again because a retry policy asked for it.", nil, nil)
	descCacheEntries  = prometheus.NewDesc(namespace+"_cache_entries", "Entries in the node's value cache (response cache and value cache policies), expired ones not yet removed included.", nil, nil)
	descCacheBytes    = prometheus.NewDesc(namespace+"_cache_bytes", "Bytes (keys plus values) in the node's value cache.", nil, nil)
	descSQLiteMem     = prometheus.NewDesc(namespace+"_sqlite_memory_bytes", "Memory SQLite has allocated in the process (page caches, schemas, statements of the catalog, request log and counter databases).", nil, nil)
)

// engineCounters name the engine's cumulative counters.
var engineCounters = []struct {
	name, help string
	get        func(engine.StatsSnapshot) int64
}{
	{"engine_calls_total", "Guest calls (one per stage and phase).", func(s engine.StatsSnapshot) int64 { return s.Calls }},
	{"engine_traps_total", "Guest calls that trapped (panic, unreachable, out of memory); the instance is discarded.", func(s engine.StatsSnapshot) int64 { return s.Traps }},
	{"engine_deadline_kills_total", "Guest calls stopped at their policy deadline.", func(s engine.StatsSnapshot) int64 { return s.DeadlineKills }},
	{"engine_memory_kills_total", "Instances discarded for growing past their memory limit.", func(s engine.StatsSnapshot) int64 { return s.MemoryKills }},
	{"engine_instance_discards_total", "Instances discarded after an error.", func(s engine.StatsSnapshot) int64 { return s.Discards }},
	{"engine_instantiations_total", "Guest instances created.", func(s engine.StatsSnapshot) int64 { return s.Instantiations }},
	{"engine_slow_trusted_calls_total", "Trusted (built-in) calls that returned after their deadline.", func(s engine.StatsSnapshot) int64 { return s.SlowTrusted }},
}

func init() {
	for _, c := range engineCounters {
		descEngine[c.name] = prometheus.NewDesc(namespace+"_"+c.name, c.help, nil, nil)
	}
}

type scrapeCollector struct{ src Sources }

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descEngine {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{descLiveInstances, descGuestMem, descGuestMemRes, descPool, descPoolExhausted, descVersion, descSnapAge, descReloadErr, descReady, descLogWritten, descLogDropped, descLogDepth, descLogCap, descRetries, descCacheEntries, descCacheBytes, descSQLiteMem} {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if e := c.src.Engine; e != nil {
		st := e.Stats()
		for _, ec := range engineCounters {
			ch <- prometheus.MustNewConstMetric(descEngine[ec.name], prometheus.CounterValue, float64(ec.get(st)))
		}
		ch <- prometheus.MustNewConstMetric(descLiveInstances, prometheus.GaugeValue, float64(st.LiveInstances))
		size, res := e.GuestMemory()
		ch <- prometheus.MustNewConstMetric(descGuestMem, prometheus.GaugeValue, float64(size))
		ch <- prometheus.MustNewConstMetric(descGuestMemRes, prometheus.GaugeValue, float64(res))
	}
	if g := c.src.Gateway; g != nil {
		seen := map[[2]string]bool{}
		for _, mod := range g.Modules() {
			k := [2]string{mod.Name, mod.Version}
			if seen[k] { // a module loaded twice (trusted and guarded): report the first
				continue
			}
			seen[k] = true
			idle, total := mod.PoolStats()
			ch <- prometheus.MustNewConstMetric(descPool, prometheus.GaugeValue, float64(idle), mod.Name, mod.Version, "idle")
			ch <- prometheus.MustNewConstMetric(descPool, prometheus.GaugeValue, float64(total-idle), mod.Name, mod.Version, "busy")
			ch <- prometheus.MustNewConstMetric(descPoolExhausted, prometheus.CounterValue, float64(mod.PoolExhaustions()), mod.Name, mod.Version)
		}
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(g.BackendRetries()))
		loaded := 0.0
		if g.Ready() {
			loaded = 1
			ch <- prometheus.MustNewConstMetric(descVersion, prometheus.GaugeValue, float64(g.Version()))
			ch <- prometheus.MustNewConstMetric(descSnapAge, prometheus.GaugeValue, time.Since(g.SnapshotBuilt()).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, loaded)
		failed := 0.0
		if g.LastError() != nil {
			failed = 1
		}
		ch <- prometheus.MustNewConstMetric(descReloadErr, prometheus.GaugeValue, failed)
	}
	if f := c.src.Cache; f != nil {
		n, b := f()
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(n))
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(b))
	}
	if f := c.src.SQLiteMemory; f != nil {
		if b := f(); b >= 0 {
			ch <- prometheus.MustNewConstMetric(descSQLiteMem, prometheus.GaugeValue, float64(b))
		}
	}
	if f := c.src.Log; f != nil {
		s := f()
		ch <- prometheus.MustNewConstMetric(descLogWritten, prometheus.CounterValue, float64(s.Written))
		ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(s.Dropped))
		ch <- prometheus.MustNewConstMetric(descLogDepth, prometheus.GaugeValue, float64(s.QueueDepth))
		ch <- prometheus.MustNewConstMetric(descLogCap, prometheus.GaugeValue, float64(s.QueueCap))
	}
}

// Ops serves /metrics, /healthz and /readyz (no authentication: mount it on
// a listener only operators reach).
type Ops struct {
	Metrics *Metrics
	// Ready reports readiness; nil means ready.
	Ready    func() bool
	shutdown atomic.Bool
}

// StartShutdown makes /readyz answer 503 from now on.
func (o *Ops) StartShutdown() { o.shutdown.Store(true) }

// Register adds the three endpoints to mux.
func (o *Ops) Register(mux *http.ServeMux) {
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case o.shutdown.Load():
			plain(w, http.StatusServiceUnavailable, "shutting down\n")
		case o.Ready != nil && !o.Ready():
			plain(w, http.StatusServiceUnavailable, "not ready: no configuration snapshot loaded\n")
		default:
			plain(w, http.StatusOK, "ready\n")
		}
	})
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
