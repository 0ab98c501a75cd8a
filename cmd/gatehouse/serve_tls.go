package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/host/edge"
)

// The TLS listener, HTTP/2 and the HTTP→HTTPS redirect (docs/tls.md).

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-listen", Value: ":8443", EnvVars: []string{"GATEHOUSE_TLS_LISTEN"}, Usage: "HTTPS listen address of the gateway, served when certificates are configured (--tls-cert, or uploaded to the catalog: gatehouse cert add)"},
		&cli.StringSliceFlag{Name: "tls-cert", EnvVars: []string{"GATEHOUSE_TLS_CERT"}, Usage: "PEM certificate chain file for HTTPS (repeat for several hostnames, picked by SNI; the first is the default); reloaded when it changes or on SIGHUP"},
		&cli.StringSliceFlag{Name: "tls-key", EnvVars: []string{"GATEHOUSE_TLS_KEY"}, Usage: "PEM private key file of the --tls-cert at the same position"},
		&cli.BoolFlag{Name: "https-redirect", EnvVars: []string{"GATEHOUSE_HTTPS_REDIRECT"}, Usage: "the plain HTTP listener (--listen) answers every request with 308 to https"},
		&cli.BoolFlag{Name: "h2c", EnvVars: []string{"GATEHOUSE_H2C"}, Usage: "also accept unencrypted HTTP/2 (prior knowledge) on --listen, e.g. for gRPC behind a TLS-terminating load balancer"},
	}
}

// edgeTLS is the gateway's TLS listener setup.
type edgeTLS struct {
	certs  *edge.Certs
	loader *edge.CertLoader
	kick   chan struct{}
	// lazy: catalog certificates only, none yet at start; the listener
	// opens when the first one arrives (docs/tls.md).
	lazy bool
}

// newEdgeTLS loads the --tls-cert/--tls-key pairs (and, with catalog, the
// catalog's certificates). It returns nil when there is nothing to serve
// and no catalog to serve from. With a catalog and no file, an empty or
// failing first load is not an error: the listener waits for the first
// certificate (lazy).
func newEdgeTLS(ctx context.Context, c *cli.Context, catalog func(context.Context) ([]*edge.Cert, error), log *slog.Logger) (*edgeTLS, error) {
	certFiles, keyFiles := c.StringSlice("tls-cert"), c.StringSlice("tls-key")
	if len(certFiles) != len(keyFiles) {
		return nil, usageError{fmt.Errorf("--tls-cert and --tls-key come in pairs: %d certificates, %d keys", len(certFiles), len(keyFiles))}
	}
	t := &edgeTLS{certs: &edge.Certs{}, kick: make(chan struct{}, 1)}
	t.loader = &edge.CertLoader{Certs: t.certs, Logger: log, Catalog: catalog}
	for i := range certFiles {
		t.loader.Files = append(t.loader.Files, edge.CertFile{Cert: certFiles[i], Key: keyFiles[i]})
	}
	if len(t.loader.Files) == 0 && catalog == nil {
		return nil, nil
	}
	t.loader.AllowEmpty = len(t.loader.Files) == 0
	err := t.loader.Load(ctx)
	if err != nil && len(t.loader.Files) > 0 {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	if err != nil {
		log.Error("tls: loading the catalog's certificates failed; retried at the next certificate change", "err", err)
	}
	t.lazy = len(t.certs.List()) == 0
	return t, nil
}

// reload asks for a reload (SIGHUP, a catalog change) without blocking.
func (t *edgeTLS) reload() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// start serves h over TLS on addr and reloads certificates on SIGHUP, file
// changes and reload() until ctx ends. Clients are asked for a certificate
// while needClientCert holds. With no certificate yet (lazy), the listener
// opens once the first one is loaded: ln is then nil and the opening is
// logged ("tls: HTTPS listener started").
func (t *edgeTLS) start(ctx context.Context, addr string, h http.Handler, needClientCert func() bool, log *slog.Logger, errc chan<- error) (*http.Server, net.Listener, error) {
	var ln net.Listener
	if !t.lazy {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, nil, fmt.Errorf("--tls-listen: %w", err)
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				t.reload()
			}
		}
	}()
	go t.loader.Watch(ctx, 2*time.Second, t.kick)
	srv := edge.NewServer("", h, edge.DefaultServerOptions(), slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	cfg := edge.TLSConfig(t.certs)
	edge.RequestClientCerts(cfg, needClientCert)
	edge.UseTLS(srv, cfg)
	if ln != nil {
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
		return srv, ln, nil
	}
	go t.listenLater(ctx, addr, srv, log, errc)
	return srv, nil, nil
}

// listenLater opens the listener once a certificate is loaded (checked
// every 200ms: reloads come from the loader's goroutine). A port that
// cannot be bound is logged and retried every 10 seconds, not fatal: the
// plain listener keeps serving.
func (t *edgeTLS) listenLater(ctx context.Context, addr string, srv *http.Server, log *slog.Logger, errc chan<- error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var retryAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if len(t.certs.List()) == 0 || time.Now().Before(retryAt) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("tls: cannot open the HTTPS listener for the catalog's certificates; retrying in 10s", "addr", addr, "err", err)
			retryAt = time.Now().Add(10 * time.Second)
			continue
		}
		log.Info("tls: HTTPS listener started (first certificate in the catalog)", "https_url", "https://"+displayAddr(ln.Addr()))
		err = srv.ServeTLS(ln, "", "")
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		return
	}
}
