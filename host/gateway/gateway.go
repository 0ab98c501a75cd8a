package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/engine"
)

// Source supplies the gateway's configuration. The YAML file source lives
// here; the SQLite catalog implements the same interface.
type Source interface {
	// Version is cheap and polled; a change triggers Load.
	Version(ctx context.Context) (int64, error)
	// Load returns the full config and the directory relative module paths
	// are resolved against.
	Load(ctx context.Context) (*Config, string, error)
}

// Options configure a Gateway.
type Options struct {
	Engine *engine.Engine
	Source Source
	// Builtin is the embedded built-in policy module ("builtin").
	Builtin        []byte
	BuiltinVersion string
	// GuardBuiltin runs the built-ins with loop termination checks like any
	// uploaded module. Off by default: the built-ins are built from this
	// repository and the checks cost ~4× on guest loops and host calls.
	GuardBuiltin bool
	Logger       *slog.Logger
	// Transport to backends; nil means a tuned default per API that dials
	// through Egress. A Transport set here is used as is: it is not
	// checked at dial time (URLs policies set still are).
	Transport http.RoundTripper
	// Egress enforces the egress rule at dial time (global allow-list,
	// resolver); nil means host/egress defaults.
	Egress *egress.Guard
	// PollInterval for Source.Version (250ms): admin writes reach traffic
	// within about this long.
	PollInterval time.Duration
	// ResponseBodyLimit caps response bodies a policy buffers (8 MiB).
	ResponseBodyLimit int64
	// Observer, if set, gets a record of every call after its response
	// (the request log). Nil costs the request path nothing.
	Observer Observer
	// Metrics, if set, pre-resolves per-route and per-stage instruments at
	// each snapshot build; the request path observes into them.
	Metrics Metrics
	// SensitiveQueryParams are redacted from recorded queries, in addition
	// to DefaultSensitiveQueryParams and each API's SensitiveQuery.
	SensitiveQueryParams []string
	// TraceContext propagates a valid incoming W3C traceparent to the
	// backend and starts a trace (a new sampled traceparent) when there is
	// none, so that backend logs correlate with the gateway's.
	TraceContext bool
	// Tracer, if set, records console traces for calls carrying a valid
	// trace token (trace.go). Nil: the gateway never traces.
	Tracer *Tracer

	// Edge: trusted proxies, the forwarded header and the gateway's
	// hostnames (edge.go). A YAML config's edge section replaces it.
	Edge EdgeConfig
	// BodyReadTimeout is how long a request body a policy reads may take
	// to arrive, plus one second per MinBodyRate bytes received (10s);
	// slower → 408. MinBodyRate is in bytes per second (1024).
	BodyReadTimeout time.Duration
	MinBodyRate     int64
	// BodyMemory caps the bytes held node-wide by bodies received for
	// policies (256 MiB); over it a request gets 503.
	BodyMemory int64
}

// Gateway is the data plane's http.Handler.
type Gateway struct {
	opts      Options
	log       *slog.Logger
	errLog    *log.Logger
	mods      *moduleRegistry
	cur       atomic.Pointer[snapshot]
	transport http.RoundTripper
	guard     *egress.Guard
	trs       transports
	retries   atomic.Int64 // backend retries made (resend.go)
	bufs      bufferPool
	calls     sync.Pool
	reqPrefix string
	reqSeq    atomic.Uint64
	seen      atomic.Int64 // last source version a reload was tried for
	served    atomic.Int64 // source version the current snapshot serves (Config.Unchanged moves it alone)

	reloadMu sync.Mutex
	live     atomic.Int64 // snapshots not yet closed
	lastErr  atomic.Pointer[error]
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	// observing: an Observer or Metrics is set (the request path times and
	// wraps the writer only then).
	observing bool
	noRoute   RouteMetrics // metrics of calls that match no route
	sensitive []string     // redacted query names for calls without a route

	edge         atomic.Pointer[edgeState] // edge.go
	optsEdge     *edgeState                // from Options.Edge
	bodyMem      atomic.Int64              // bytes held by received bodies (body.go)
	bodyTimeouts atomic.Int64              // request bodies refused with 408
	wsReg        wsRegistry                // open WebSockets (wsshutdown.go)
}

// New creates a gateway. Call Reload (or Start) before serving.
func New(o Options) (*Gateway, error) {
	if o.Engine == nil || o.Source == nil {
		return nil, errors.New("gateway: Engine and Source are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.ResponseBodyLimit <= 0 {
		o.ResponseBodyLimit = 8 << 20
	}
	if o.BodyReadTimeout <= 0 {
		o.BodyReadTimeout = defaultBodyReadTimeout
	}
	if o.MinBodyRate <= 0 {
		o.MinBodyRate = defaultMinBodyRate
	}
	if o.BodyMemory <= 0 {
		o.BodyMemory = defaultBodyMemory
	}
	es, err := o.Edge.parse()
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: o, log: o.Logger, mods: newModuleRegistry(o.Engine), stop: make(chan struct{}), optsEdge: es}
	g.edge.Store(es)
	g.errLog = slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn)
	g.transport = o.Transport
	if g.transport == nil {
		g.transport = NewTransport()
	}
	if g.guard, err = egressGuard(&o); err != nil {
		return nil, err
	}
	g.bufs.ch = make(chan []byte, 256)
	var b [4]byte
	_, _ = rand.Read(b[:])
	g.reqPrefix = hex.EncodeToString(b[:]) + "-"
	g.calls.New = func() any { return g.newCall() }
	g.observing = o.Observer != nil || o.Metrics != nil
	if o.Metrics != nil {
		g.noRoute = o.Metrics.Route("", "")
	}
	g.sensitive = g.sensitiveParams(&API{})
	return g, nil
}

// NewTransport returns the tuned backend transport: pooled keep-alive
// connections, bounded dial and header timeouts, no transparent compression
// (bodies pass through as the backend encoded them).
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// Reload builds a snapshot from the source now and swaps it in. In-flight
// requests finish on their generation; the old one closes when they are done.
func (g *Gateway) Reload(ctx context.Context) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	return g.reloadLocked(ctx)
}

func (g *Gateway) reloadLocked(ctx context.Context) error {
	loadStart := time.Now()
	cfg, dir, err := g.opts.Source.Load(ctx)
	if err != nil {
		g.lastErr.Store(&err)
		return err
	}
	if cfg.Unchanged && g.cur.Load() != nil && g.lastErr.Load() == nil {
		// Nothing the snapshot holds changed: record the version only.
		g.seen.Store(cfg.Version)
		g.served.Store(cfg.Version)
		g.log.Debug("catalog version without config changes", "version", cfg.Version, "load_ms", time.Since(loadStart).Milliseconds())
		return nil
	}
	es := g.optsEdge
	if cfg.Edge != nil {
		if es, err = cfg.Edge.parse(); err != nil {
			g.lastErr.Store(&err)
			return err
		}
	}
	g.releaseRouteMetrics(cfg)
	snap, err := g.build(ctx, cfg, dir)
	if err != nil {
		g.lastErr.Store(&err)
		return err
	}
	g.edge.Store(es)
	g.seen.Store(snap.version)
	g.served.Store(snap.version)
	g.live.Add(1)
	snap.onClose = func() { g.live.Add(-1) }
	old := g.cur.Swap(snap)
	if old != nil {
		old.release()
	}
	g.pruneTransports(snap.egressKeys)
	g.retainRouteMetrics(snap)
	g.lastErr.Store(nil)
	g.log.Info("catalog snapshot loaded", "version", snap.version, "load_ms", snap.built.Sub(loadStart).Milliseconds(),
		"build_ms", time.Since(snap.built).Milliseconds(), "apis", len(snap.parts), "reused", snap.reused)
	return nil
}

// Start polls the source and reloads on a version change until Close.
func (g *Gateway) Start() {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		t := time.NewTicker(g.opts.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
			}
			v, err := g.opts.Source.Version(context.Background())
			if err != nil {
				g.log.Warn("config source", "err", err)
				continue
			}
			// A version that failed to build is not retried until it
			// changes; the last good snapshot keeps serving meanwhile.
			if g.seen.Load() == v {
				continue
			}
			g.seen.Store(v)
			if err := g.Reload(context.Background()); err != nil {
				g.log.Error("config reload failed; serving the last good snapshot", "err", err)
			}
		}
	}()
}

// Ready reports whether a snapshot is loaded.
func (g *Gateway) Ready() bool { return g.cur.Load() != nil }

// Version returns the serving snapshot's config version.
func (g *Gateway) Version() int64 {
	if g.cur.Load() != nil {
		return g.served.Load()
	}
	return 0
}

// SnapshotBuilt returns when the serving snapshot was built (zero without one).
func (g *Gateway) SnapshotBuilt() time.Time {
	if s := g.cur.Load(); s != nil {
		return s.built
	}
	return time.Time{}
}

// LastError returns the last reload error (nil after a good reload).
func (g *Gateway) LastError() error {
	if p := g.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// BackendRetries returns how many times calls resent their backend request
// because a retry policy asked for it.
func (g *Gateway) BackendRetries() int64 { return g.retries.Load() }

// LiveSnapshots counts snapshot generations not yet closed (for tests).
func (g *Gateway) LiveSnapshots() int64 { return g.live.Load() }

// Modules returns the loaded module versions.
func (g *Gateway) Modules() []*engine.Module { return g.mods.loaded() }

// CloseIdleConnections closes idle backend connections.
func (g *Gateway) CloseIdleConnections() {
	if t, ok := g.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	g.closeIdleTransports()
}

// Close stops polling and releases the current snapshot.
func (g *Gateway) Close() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.wg.Wait()
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if old := g.cur.Swap(nil); old != nil {
		old.release()
	}
}

func (g *Gateway) acquire() *snapshot {
	for i := 0; i < 100; i++ {
		s := g.cur.Load()
		if s == nil {
			return nil
		}
		if s.tryAcquire() {
			return s
		}
	}
	return nil
}

// LookupSubscription implements engine.SubscriptionLookup over the static
// subscriptions of the current config (demo and tests; the catalog replaces it).
func (g *Gateway) LookupSubscription(_ context.Context, key, api string) (engine.Subscription, bool, error) {
	s := g.acquire()
	if s == nil {
		return engine.Subscription{}, false, errors.New("no snapshot")
	}
	defer s.release()
	sub, ok := s.subs[key]
	if !ok {
		return engine.Subscription{}, false, nil
	}
	allowed := len(sub.APIs) == 0
	for _, a := range sub.APIs {
		if a == api {
			allowed = true
		}
	}
	state := sub.State
	if state == "" {
		state = "active"
	}
	scope := "all"
	if len(sub.APIs) > 0 {
		scope = "api"
	}
	if sub.Product != "" {
		scope = "product"
	}
	return engine.Subscription{ID: sub.ID, State: state, Scope: scope, Product: sub.Product, User: sub.User, APIAllowed: allowed}, true, nil
}

func (g *Gateway) nextRequestID() string {
	var b [32]byte
	out := append(b[:0], g.reqPrefix...)
	out = strconv.AppendUint(out, g.reqSeq.Add(1), 36)
	return string(out)
}

// FileSource reads a YAML config file; its version is the file's
// modification time and size, so an edit reloads within the poll interval.
type FileSource struct {
	Path string
	// Mutate, if set, adjusts the parsed config (the demo fills in its
	// backend address).
	Mutate func(*Config)
}

func (f *FileSource) Version(context.Context) (int64, error) {
	st, err := os.Stat(f.Path)
	if err != nil {
		return 0, err
	}
	return st.ModTime().UnixNano() ^ st.Size()<<1, nil
}

func (f *FileSource) Load(ctx context.Context) (*Config, string, error) {
	v, err := f.Version(ctx)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, "", err
	}
	c, err := ParseYAML(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", f.Path, err)
	}
	if f.Mutate != nil {
		f.Mutate(c)
	}
	c.Version = v
	resolveBackendTLSPaths(c, filepath.Dir(f.Path))
	return c, filepath.Dir(f.Path), nil
}

// StaticSource serves a fixed config (tests, embedding); Set replaces it.
type StaticSource struct {
	mu  sync.Mutex
	cfg *Config
	dir string
	ver int64
}

// NewStaticSource returns a source serving cfg.
func NewStaticSource(cfg *Config, dir string) *StaticSource {
	s := &StaticSource{dir: dir}
	s.Set(cfg)
	return s
}

// Set replaces the config and bumps the version.
func (s *StaticSource) Set(cfg *Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ver++
	c := *cfg
	c.Version = s.ver
	s.cfg = &c
}

func (s *StaticSource) Version(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ver, nil
}

func (s *StaticSource) Load(context.Context) (*Config, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, s.dir, nil
}

// bufferPool is a bounded free list of copy buffers for the reverse proxy
// (httputil.BufferPool); unlike sync.Pool it does not allocate on Put.
type bufferPool struct{ ch chan []byte }

func (p *bufferPool) Get() []byte {
	select {
	case b := <-p.ch:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) < 32<<10 {
		return
	}
	select {
	case p.ch <- b[:32<<10]:
	default:
	}
}
