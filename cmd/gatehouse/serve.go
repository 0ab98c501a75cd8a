package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/host/metrics"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
	"github.com/gatehouse/gatehouse/plugins/embedded"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the gateway",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "data", Value: "./data", EnvVars: []string{"GATEHOUSE_DATA"}, Usage: "data directory (compilation cache, demo state)"},
			&cli.StringFlag{Name: "listen", Value: ":8080", EnvVars: []string{"GATEHOUSE_LISTEN"}, Usage: "gateway listen address"},
			&cli.StringFlag{Name: "portal-listen", Value: ":8081", EnvVars: []string{"GATEHOUSE_PORTAL_LISTEN"}, Usage: "developer portal listen address (catalog mode); empty: off"},
			&cli.BoolFlag{Name: "portal-secure-cookies", EnvVars: []string{"GATEHOUSE_PORTAL_SECURE_COOKIES"}, Usage: "mark portal cookies Secure on plain-HTTP requests too (behind a TLS-terminating proxy)"},
			&cli.StringFlag{Name: "smtp-addr", EnvVars: []string{"GATEHOUSE_SMTP_ADDR"}, Usage: "SMTP server (host:port) that mails developer portal reset links; empty: links are only shown to the admin"},
			&cli.StringFlag{Name: "smtp-from", Value: "gatehouse@localhost", EnvVars: []string{"GATEHOUSE_SMTP_FROM"}, Usage: "sender address of portal mails"},
			&cli.StringFlag{Name: "smtp-user", EnvVars: []string{"GATEHOUSE_SMTP_USER"}, Usage: "SMTP user (PLAIN auth, only over TLS or to localhost); the password comes from GATEHOUSE_SMTP_PASSWORD"},
			&cli.StringFlag{Name: "admin-listen", Value: "127.0.0.1:9090", EnvVars: []string{"GATEHOUSE_ADMIN_LISTEN"}, Usage: "admin API listen address (catalog mode)"},
			&cli.StringFlag{Name: "config", EnvVars: []string{"GATEHOUSE_CONFIG"}, Usage: "serve a YAML gateway config file instead of the catalog (no admin API); reloaded on change"},
			&cli.BoolFlag{Name: "guard-builtins", EnvVars: []string{"GATEHOUSE_GUARD_BUILTINS"}, Usage: "run the built-in policies with loop termination checks, like uploaded modules (slower)"},
			&cli.BoolFlag{Name: "demo", Usage: "serve a demo: an in-process echo backend, published through the catalog on the first start"},
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "auto, json or text"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "pprof-listen", EnvVars: []string{"GATEHOUSE_PPROF_LISTEN"}, Usage: "serve Go pprof profiles on this loopback address (off by default)"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 15 * time.Second, Usage: "how long in-flight requests may take to finish on SIGTERM"},
			&cli.DurationFlag{Name: "drain-delay", Value: 0, EnvVars: []string{"GATEHOUSE_DRAIN_DELAY"}, Usage: "on SIGTERM, keep accepting requests this long after /readyz turns 503, so load balancers that poll it stop sending first"},
			&cli.StringFlag{Name: "ops-listen", Value: "127.0.0.1:9090", EnvVars: []string{"GATEHOUSE_OPS_LISTEN"}, Usage: "serve /metrics, /healthz and /readyz here with --config (catalog mode serves them on --admin-listen); empty: off"},
			&cli.BoolFlag{Name: "log-requests", Value: true, EnvVars: []string{"GATEHOUSE_LOG_REQUESTS"}, Usage: "write one record per call to DATA/logs.db (the request log and analytics)"},
			&cli.IntFlag{Name: "metrics-operations", Value: metrics.DefaultOperationLimit, EnvVars: []string{"GATEHOUSE_METRICS_OPERATIONS"}, Usage: "operations that get their own operation label in the request metrics; later ones are counted under operation=\"_other\" of their API (-1: no cap, 0: per-API series only)", Action: checkMetricsLimit("metrics-operations")},
			&cli.IntFlag{Name: "metrics-apis", Value: metrics.DefaultAPILimit, EnvVars: []string{"GATEHOUSE_METRICS_APIS"}, Usage: "APIs that get their own api label in the request, cache and gRPC metrics; later ones are counted under api=\"_other\" (-1: no cap, 0: no per-API series)", Action: checkMetricsLimit("metrics-apis")},
			&cli.IntFlag{Name: "log-retention-days", Value: 30, EnvVars: []string{"GATEHOUSE_LOG_RETENTION_DAYS"}, Usage: "days the request log keeps records"},
			&cli.StringSliceFlag{Name: "egress-allow", EnvVars: []string{"GATEHOUSE_EGRESS_ALLOW"}, Usage: "CIDRs, addresses, host[:port] or *.domain that backends set by policies, redirects and JWKS fetches may reach on private networks, for every API (repeat or comma-separate; docs/egress.md)"},
			// The request edge (docs/config.md "Edge"): who the client is and
			// which hostnames the gateway serves; bodies policies read.
			&cli.StringSliceFlag{Name: "trusted-proxies", EnvVars: []string{"GATEHOUSE_TRUSTED_PROXIES"}, Usage: "addresses or CIDRs of the proxies in front of the gateway whose forwarded header names the client (comma-separated); empty: the TCP peer is the client"},
			&cli.StringFlag{Name: "forwarded-header", Value: "X-Forwarded-For", EnvVars: []string{"GATEHOUSE_FORWARDED_HEADER"}, Usage: "header believed from trusted proxies: X-Forwarded-For (right-most untrusted address) or Forwarded (RFC 7239)"},
			&cli.StringSliceFlag{Name: "hostnames", EnvVars: []string{"GATEHOUSE_HOSTNAMES"}, Usage: "host names the gateway is served under (comma-separated); another Host gets 421; empty: any Host"},
			&cli.DurationFlag{Name: "body-read-timeout", Value: 10 * time.Second, EnvVars: []string{"GATEHOUSE_BODY_READ_TIMEOUT"}, Usage: "time a request body that a policy reads may take to arrive, plus one second per --min-body-rate bytes; slower: 408"},
			&cli.Int64Flag{Name: "min-body-rate", Value: 1024, EnvVars: []string{"GATEHOUSE_MIN_BODY_RATE"}, Usage: "bytes per second a request body that a policy reads must keep up beyond --body-read-timeout"},
			&cli.Int64Flag{Name: "body-memory", Value: 256 << 20, EnvVars: []string{"GATEHOUSE_BODY_MEMORY"}, Usage: "bytes all bodies received for policies may hold at once; beyond: 503"},
		}, append(moduleCeilingFlags(), tlsFlags()...)...),
		Action: serve,
	}
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %v", err)}
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "auto":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
		}
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format must be auto, json or text, not %q", format)}
}

func serve(c *cli.Context) error {
	log, err := newLogger(c.String("log-format"), c.String("log-level"))
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	ceilings, err := moduleCeilings(c)
	if err != nil {
		return err
	}
	start := time.Now()
	phases := newStartPhases()
	restoreGC := pauseGCForStart(startHeapCap) // until ready
	defer restoreGC()
	if _, err := edge.NewProxies(c.StringSlice("trusted-proxies"), c.String("forwarded-header")); err != nil {
		return usageError{fmt.Errorf("--trusted-proxies / --forwarded-header: %v", err)}
	}
	if _, err := edge.NewHostnames(c.StringSlice("hostnames")); err != nil {
		return usageError{fmt.Errorf("--hostnames: %v", err)}
	}
	data := c.String("data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Counters asking for persistence (quotas) survive restarts: a kill -9
	// loses at most the last flush interval (docs/policies/quota.md).
	counters, err := counter.Open(counter.Options{PersistPath: filepath.Join(data, countersFile),
		OnFlushError: func(err error) { log.Warn("counters: flush failed (retried at the next one)", "err", err) }})
	if err != nil {
		return fmt.Errorf("counters: %w", err)
	}
	defer counters.Close()
	phases.mark("counters")
	// One egress rule for every road out (docs/egress.md): API backends,
	// policy overrides, redirects and JWKS fetches dial through it.
	guard, jwks, err := newEgress(c.StringSlice("egress-allow"), log)
	if err != nil {
		return err
	}
	respCache := vcache.New(10000, 64<<20)
	svc := &engine.Services{
		Counters: counters,
		Cache:    respCache,
		JWT:      jwtverify.New(jwtverify.Options{HTTPClient: jwks}),
		// limit-concurrency: in-flight slots, released when each call ends.
		Semaphores: semaphore.New(),
		// cache-lookup stampede protection: cache fill leases.
		Leases: vcache.NewLeases(0),
	}
	e, err := engine.New(ctx, engine.Options{CacheDir: engine.CacheDir(data), Logger: log, Services: svc})
	if err != nil {
		return err
	}
	defer e.Close(context.Background())
	// The built-in module compiles (or is read from the compilation cache)
	// while the catalog opens; the gateway's load below uses that compile.
	// (With --config it overlaps less, and is wasted if the config uses no
	// built-in policy: released unused after the first build.)
	// A fresh data dir gets the module precompiled at build time (the seed)
	// in its compilation cache first: a first start is a warm start.
	releaseBuiltin := e.PrecompileSeeded(embedded.Builtin(), embedded.BuiltinSeed(), !c.Bool("guard-builtins"))
	defer releaseBuiltin()
	phases.mark("engine")

	var src gateway.Source
	var demo *demoState
	var store *sqlite.Store
	var catSrc *catalogsource.Source
	if path := c.String("config"); path != "" {
		if c.Bool("demo") {
			return usageError{errors.New("--demo serves the catalog; it cannot be combined with --config")}
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no config at %s: write one (see examples/gateway.yaml) or serve the catalog (leave out --config)", path)
		}
		src = &gateway.FileSource{Path: path}
	} else {
		store, err = openCatalog(data)
		if err != nil {
			return err
		}
		defer store.Close()
		phases.mark("catalog_open")
		if err := registerBuiltin(ctx, store, e, log); err != nil {
			return err
		}
		phases.mark("builtin_register")
		if c.Bool("demo") {
			demo, err = startEcho()
			if err != nil {
				return err
			}
			defer demo.close()
			if err := demo.seed(ctx, store, log); err != nil {
				return err
			}
		}
		phases.mark("demo")
		catSrc = catalogsource.New(store)
		catSrc.Logger = log
		catSrc.Ceilings = ceilings
		src = catSrc
	}

	// Observability: Prometheus metrics, the request log, OpenTelemetry.
	met := metrics.New()
	met.LimitOperations(c.Int("metrics-operations"))
	met.LimitAPIs(c.Int("metrics-apis"))
	var obs observers
	var reqLog *analytics.Writer
	if c.Bool("log-requests") {
		reqLog, err = analytics.OpenWriter(analytics.WriterOptions{Path: filepath.Join(data, requestLogFile), RetentionDays: c.Int("log-retention-days"), Logger: log})
		if err != nil {
			return fmt.Errorf("request log: %w", err)
		}
		// Closed (flushed) after the gateway drained: see shutdown below;
		// this deferred Close covers early returns.
		defer reqLog.Close(context.Background())
		obs = append(obs, requestLog{reqLog})
	}
	tracer, err := startTracing(ctx, log)
	if err != nil {
		return err
	}
	if tracer != nil {
		defer tracer.shutdown()
		obs = append(obs, tracer)
	}
	phases.mark("observability")
	var observer gateway.Observer
	switch len(obs) {
	case 0:
	case 1:
		observer = obs[0]
	default:
		observer = obs
	}

	// The developer portal console's trace tokens (portal/console, trace.go).
	consoleTracer, err := newConsoleTracer()
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Builtin: embedded.Builtin(), BuiltinVersion: embedded.BuiltinVersion(), GuardBuiltin: c.Bool("guard-builtins"), Logger: log, Egress: guard,
		Observer: observer, Metrics: met, TraceContext: true, Tracer: consoleTracer,
		Edge:            gateway.EdgeConfig{TrustedProxies: c.StringSlice("trusted-proxies"), ForwardedHeader: c.String("forwarded-header"), Hostnames: c.StringSlice("hostnames")},
		BodyReadTimeout: c.Duration("body-read-timeout"), MinBodyRate: c.Int64("min-body-rate"), BodyMemory: c.Int64("body-memory")})
	if err != nil {
		return err
	}
	msrc := metrics.Sources{Gateway: g, Engine: e, Cache: func() (int, int64) { return respCache.Len(), respCache.Bytes() }, SQLiteMemory: sqlite.MemoryUsed}
	if reqLog != nil {
		msrc.Log = logStats(reqLog)
	}
	met.Watch(msrc)
	ops := &metrics.Ops{Metrics: met, Ready: g.Ready}
	if catSrc != nil {
		svc.Subscriptions = catSrc
	} else {
		svc.Subscriptions = g
	}
	if err := g.Reload(ctx); err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	phases.mark("gateway_build")
	releaseBuiltin() // the gateway holds the compiled code now
	g.Start()
	defer g.Close()

	if addr := c.String("pprof-listen"); addr != "" {
		if err := servePprof(addr, log); err != nil {
			return err
		}
	}

	// TLS at the edge (serve_tls.go, docs/tls.md).
	var certHook func(context.Context) ([]*edge.Cert, error)
	if store != nil {
		certHook = catalogCerts(store) // serve_certs.go
	}
	etls, err := newEdgeTLS(ctx, c, certHook, log)
	if err != nil {
		return err
	}
	if etls != nil {
		met.Registry().MustRegister(certMetrics{etls.certs})
		if store != nil {
			go watchCatalogCerts(ctx, store, etls, log)
		}
	}
	errc := make(chan error, 2)
	var tlsSrv *http.Server
	var tlsURL string
	// gRPC calls get the gateway's own answers as gRPC statuses.
	var front http.Handler = edge.GRPCErrors(g, nil) // the gateway's Metrics count gRPC calls per API
	plain := front
	if etls != nil {
		var tln net.Listener
		if tlsSrv, tln, err = etls.start(ctx, c.String("tls-listen"), front, g.NeedsClientCert, log, errc); err != nil {
			return err
		}
		if tln == nil { // catalog mode, no certificate yet: opens with the first
			if c.Bool("https-redirect") {
				return usageError{errors.New("--https-redirect needs certificates (--tls-cert/--tls-key, or one in the catalog at start)")}
			}
		} else {
			tlsURL = "https://" + displayAddr(tln.Addr())
		}
		if tln != nil && c.Bool("https-redirect") {
			_, port, _ := net.SplitHostPort(tln.Addr().String())
			hn, _ := edge.NewHostnames(c.StringSlice("hostnames"))
			plain = edge.RedirectHTTPS(port, hn)
		}
	} else if c.Bool("https-redirect") {
		return usageError{errors.New("--https-redirect needs certificates (--tls-cert/--tls-key)")}
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return err
	}
	srv := edge.NewServer("", plain, edge.DefaultServerOptions(), slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	if c.Bool("h2c") {
		edge.AllowH2C(srv)
	}
	go func() { errc <- srv.Serve(ln) }()
	phases.mark("listen")
	url := "http://" + displayAddr(ln.Addr())
	var adminURL, opsURL, portalURL string
	if store != nil && c.String("portal-listen") != "" {
		var psrv *http.Server
		psrv, portalURL, err = startPortal(c.String("portal-listen"), data, store, reqLog, ln.Addr(), url, consoleTracer, c.Bool("portal-secure-cookies"), log)
		if err != nil {
			return err
		}
		defer psrv.Close()
	}
	if store != nil {
		token, err := adminToken(data)
		if err != nil {
			return err
		}
		ownerPath, err := bootstrapOwner(ctx, store, data, log)
		if err != nil {
			return err
		}
		if demo != nil {
			demo.ownerFile = ownerPath
		}
		mailer, err := newResetMailer(c.String("smtp-addr"), c.String("smtp-from"), c.String("smtp-user"), os.Getenv("GATEHOUSE_SMTP_PASSWORD"))
		if err != nil {
			return err
		}
		var admin *http.Server
		admin, adminURL, err = startAdmin(c.String("admin-listen"), data, token, store, e, reqLog, ops, portalURL, mailer, log, ceilings, vcache.Purger{C: respCache})
		if err != nil {
			return err
		}
		defer admin.Close()
		opsURL = adminURL
		phases.mark("portal_admin")
	} else if addr := c.String("ops-listen"); addr != "" {
		var opsSrv *http.Server
		opsSrv, opsURL, err = startOps(addr, ops, log)
		if err != nil {
			return err
		}
		defer opsSrv.Close()
	}
	log.Info("gateway ready", "url", url, "https_url", tlsURL, "admin_url", adminURL, "ops_url", opsURL, "portal_url", portalURL, "ready_ms", time.Since(start).Milliseconds(), "config_version", g.Version(), phases.attr())
	if demo != nil {
		demo.printWelcome(c.App.Writer, url, adminURL, portalURL)
	}
	restoreGC()
	var shrinkers []func(context.Context) error
	if store != nil {
		shrinkers = append(shrinkers, store.ShrinkMemory)
	}
	if reqLog != nil {
		shrinkers = append(shrinkers, reqLog.ShrinkMemory)
	}
	go returnStartMemory(log, shrinkers...)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		// Not ready from now on (load balancers stop sending), then drain:
		// the listener closes, in-flight calls finish within the timeout.
		ops.StartShutdown()
		if d := c.Duration("drain-delay"); d > 0 {
			log.Info("shutting down: not ready; still accepting requests for the drain delay", "drain_delay", d)
			select {
			case <-time.After(d):
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return err
				}
			}
		}
		log.Info("shutting down: draining in-flight requests", "timeout", c.Duration("shutdown-timeout"))
		sctx, cancel := context.WithTimeout(context.Background(), c.Duration("shutdown-timeout"))
		defer cancel()
		// Shutdown does not track hijacked connections: open WebSockets
		// get a close frame 1001 "going away" on both sides, within the
		// same timeout (host/gateway/wsshutdown.go).
		wsDone := make(chan struct{})
		go func() { g.CloseWebSockets(sctx); close(wsDone) }()
		if tlsSrv != nil {
			go tlsSrv.Shutdown(sctx)
		}
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("shutdown incomplete: in-flight requests did not finish in time", "err", err)
			srv.Close()
		}
		if tlsSrv != nil && tlsSrv.Shutdown(sctx) != nil {
			tlsSrv.Close()
		}
		<-wsDone
	}
	// Every call has been observed: flush the request log (and the spans),
	// stop polling the catalog.
	g.Close()
	if reqLog != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := reqLog.Close(fctx)
		cancel()
		if err != nil {
			log.Warn("request log: flush on shutdown", "err", err)
		} else {
			st := reqLog.Stats()
			log.Info("request log flushed", "written", st.Written, "dropped", st.Dropped)
		}
	}
	if err := counters.Close(); err != nil {
		log.Warn("counters: flush on shutdown", "err", err)
	}
	if tracer != nil {
		tracer.shutdown()
	}
	log.Info("stopped")
	return nil
}

// requestLogFile is the request log database in the data directory.
const requestLogFile = "logs.db"

// startOps serves /metrics, /healthz and /readyz on addr (YAML mode; the
// catalog mode serves them on the admin listener).
func startOps(addr string, ops *metrics.Ops, log *slog.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--ops-listen: %w", err)
	}
	warnBeyondLoopback(addr, ln, "the ops endpoints (/metrics, /healthz, /readyz) listen beyond loopback without authentication", log)
	mux := http.NewServeMux()
	ops.Register(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	return srv, "http://" + displayAddr(ln.Addr()), nil
}

func warnBeyondLoopback(addr string, ln net.Listener, msg string, log *slog.Logger) {
	if host, _, _ := net.SplitHostPort(addr); host != "localhost" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			log.Warn(msg, "addr", ln.Addr().String())
		}
	}
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}

// servePprof exposes net/http/pprof on a loopback address only.
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Errorf("--pprof-listen: %v", err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError{fmt.Errorf("--pprof-listen must be a loopback address, not %q", addr)}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}

// newEgress returns the egress guard every road out dials through, with
// the global allow-list, and the JWKS fetchers' client: the global
// allow-list only (the key cache is shared by every API, so a per-API
// entry cannot apply), redirects checked, https → http refused.
func newEgress(allow []string, log *slog.Logger) (*egress.Guard, *http.Client, error) {
	guard, err := egress.New(egress.Options{Allow: allow, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("--egress-allow: %w", err)
	}
	s, err := guard.Scope("", rule.AllowList{})
	if err != nil {
		return nil, nil, err
	}
	return guard, guard.Client(s, "jwks", jwtverify.JWKSFetchTimeout), nil
}

// randomKey returns a fresh 256-bit key with a visible prefix.
func randomKey(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
