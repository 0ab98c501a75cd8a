package main

import (
	"context"
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
		&cli.StringFlag{Name: "tls-listen", Value: ":8443", EnvVars: []string{"GATEHOUSE_TLS_LISTEN"}, Usage: "HTTPS listen address of the gateway, served when certificates are configured (--tls-cert)"},
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
}

// newEdgeTLS loads the --tls-cert/--tls-key pairs (and, with catalog, the
// catalog's certificates). It returns nil when there is nothing to serve.
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
	err := t.loader.Load(ctx)
	if err != nil && len(t.loader.Files) > 0 {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	if err != nil {
		// Catalog only, and it has no (usable) certificate yet: no HTTPS
		// listener until a restart.
		log.Debug("tls: no catalog certificates; HTTPS off", "err", err)
		return nil, nil
	}
	return t, nil
}

// reload asks for a reload (SIGHUP, a catalog change) without blocking.
func (t *edgeTLS) reload() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// start serves h over TLS on addr and reloads certificates on SIGHUP and
// file changes until ctx ends. Clients are asked for a certificate while
// needClientCert holds.
func (t *edgeTLS) start(ctx context.Context, addr string, h http.Handler, needClientCert func() bool, log *slog.Logger, errc chan<- error) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-listen: %w", err)
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
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	return srv, ln, nil
}
