package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/cmd/internal/atomicfile"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/portal"
)

// portalKeyFile keys the developer portal's CSRF tokens (0600), so open
// forms survive a restart.
const portalKeyFile = "portal.key"

// startPortal serves the developer portal on its own listener (its own
// origin, never the admin listener), with the gateway's hardened server
// limits.
func startPortal(addr, data string, st catalog.Store, reqLog *analytics.Writer, gatewayAddr net.Addr, gatewayURL string, tracer *gateway.Tracer, secureCookies bool, log *slog.Logger) (*http.Server, string, error) {
	secret, err := portalSecret(data)
	if err != nil {
		return nil, "", err
	}
	o := portal.Options{Store: st, GatewayURL: gatewayURL, Secret: secret, SecureCookies: secureCookies, Logger: log}
	if reqLog != nil {
		o.Analytics = reqLog
	}
	// The console relay (portal/console): calls go to this gateway only.
	c, err := newConsole(st, gatewayAddr, gatewayURL, tracer, log)
	if err != nil {
		return nil, "", err
	}
	o.Console = c
	h, err := portal.New(o)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--portal-listen: %w", err)
	}
	srv := edge.NewServer("", h, edge.ServerOptions{ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second},
		slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go srv.Serve(ln)
	return srv, "http://" + displayAddr(ln.Addr()), nil
}

// portalSecret returns DATA/portal.key, created on the first start.
func portalSecret(data string) ([]byte, error) {
	path := filepath.Join(data, portalKeyFile)
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = []byte(randomKey("ghp_"))
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("writing the portal key: %w", err)
	}
	return b, nil
}

// Demo developer sign-in for the portal, set on `serve --demo` when the
// demo developer has no password yet.
const (
	demoEmail    = "demo@example.com"
	demoPassword = "gatehouse-demo"
)

func seedDemoPassword(ctx context.Context, st catalog.Store) (bool, error) {
	if _, err := st.GetUser(ctx, demoUser); errors.Is(err, catalog.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if _, err := st.PasswordHash(ctx, demoUser); err == nil {
		return true, nil
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return false, err
	}
	h, err := portal.HashPassword(demoPassword)
	if err != nil {
		return false, err
	}
	return true, st.SetPasswordHash(ctx, demoUser, h)
}
