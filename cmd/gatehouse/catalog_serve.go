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
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/cmd/internal/atomicfile"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/metrics"
	"github.com/gatehouse/gatehouse/plugins/embedded"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// Files the server keeps in the data directory for local clients.
const (
	catalogFile    = "catalog.db"
	countersFile   = "counters.db"
	adminTokenFile = "admin.token"
	adminURLFile   = "admin.url"
	adminTokenEnv  = "GATEHOUSE_ADMIN_TOKEN"
)

// openCatalog opens DATA/catalog.db (creating it and the master key on the
// first start).
func openCatalog(data string) (*sqlite.Store, error) {
	st, err := sqlite.Open(filepath.Join(data, catalogFile))
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return st, nil
}

// registerBuiltin makes the embedded built-in module a catalog module named
// "builtin", so policies can reference it and `gatehouse plugin list` shows
// its policies. A binary with another build of the built-ins registers its
// version and removes older, unreferenced ones.
func registerBuiltin(ctx context.Context, st *sqlite.Store, e *engine.Engine, log *slog.Logger) error {
	wasm := embedded.Builtin()
	if wasm == nil {
		log.Warn("this binary has no built-in policies (build it with make build)")
		return nil
	}
	version := embedded.BuiltinVersion()
	versions, err := st.ModuleVersionNames(ctx, "builtin")
	if err != nil {
		return err
	}
	have := false
	var old []string
	for _, v := range versions {
		if v == version {
			have = true
		} else {
			old = append(old, v)
		}
	}
	if !have {
		if err := createBuiltin(ctx, st, e, wasm, version); err != nil {
			return err
		}
	}
	// Older builds go once the new one is there; one a policy pins by
	// version stays (the store refuses to delete a module in use).
	sort.Strings(old) // a deterministic order
	for _, v := range old {
		if err := st.DeleteModule(catalog.WithActor(ctx, "gatehouse"), "builtin", v); err != nil && !errors.Is(err, catalog.ErrConflict) {
			return err
		}
	}
	return nil
}

func createBuiltin(ctx context.Context, st *sqlite.Store, e *engine.Engine, wasm []byte, version string) error {
	// Loaded like the gateway loads it (trusted runtime), so the compiled
	// code is reused from the compilation cache when the gateway loads it.
	m, err := e.Load(ctx, "builtin", version, wasm, engine.LoadOptions{Trusted: true, Min: 1, Max: 1})
	if err != nil {
		return fmt.Errorf("built-in module: %w", err)
	}
	info := m.Info()
	m.Close(ctx)
	mf := embedded.Manifest()
	mf.ABIVersion = info.ABIMajor
	mf.Capabilities = info.Capabilities
	_, err = st.CreateModule(catalog.WithActor(ctx, "gatehouse"), catalog.Module{Name: "builtin", Version: version, Wasm: wasm, Manifest: mf})
	if errors.Is(err, catalog.ErrConflict) {
		return nil // another process registered it first
	}
	return err
}

// adminToken returns the admin API token: GATEHOUSE_ADMIN_TOKEN, or
// DATA/admin.token, created (mode 0600) on the first start.
func adminToken(data string) (string, error) {
	if t := strings.TrimSpace(os.Getenv(adminTokenEnv)); t != "" {
		if len(t) < 16 {
			return "", fmt.Errorf("%s must be at least 16 characters", adminTokenEnv)
		}
		return t, nil
	}
	path := filepath.Join(data, adminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("admin token file %s has mode %04o and is accessible to group or others; refusing to use it (run: chmod 600 %s)", path, fi.Mode().Perm(), path)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	t := randomKey("gha_")
	if err := atomicfile.Write(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the admin token: %w", err)
	}
	return t, nil
}

// startAdmin serves the admin API on addr and writes its base URL to
// DATA/admin.url for local clients. A non-loopback address is allowed (the
// token protects every route) but logged.
//
// The same listener serves /metrics, /healthz and /readyz without the token
// (ops); the admin handler routes on the full /admin/v1/ path.
func startAdmin(addr, data, token string, st catalog.Store, e *engine.Engine, reqLog *analytics.Writer, ops *metrics.Ops, portalURL string, mailer *resetMailer, log *slog.Logger, ceilings catalog.ModuleLimits, cache adminapi.CachePurger) (*http.Server, string, error) {
	// The request log behind the analytics routes (503 without it:
	// --log-requests=false).
	var an adminapi.Analytics
	if reqLog != nil {
		an = reqLog
	}
	var sendReset func(context.Context, catalog.User, string, time.Time) error
	if mailer != nil {
		sendReset = mailer.send
	}
	// The admin portal (/ui) on the same listener: the admin API accepts
	// its session cookie with the CSRF header, and the portal's changes go
	// through the admin API.
	ui, err := newAdminUI(data, st, reqLog, log)
	if err != nil {
		return nil, "", err
	}
	h, err := adminapi.New(adminapi.Options{
		Store:   st,
		Token:   token,
		Session: ui.SessionAuth,
		ValidateModule: func(ctx context.Context, wasm []byte) (int, []string, error) {
			info, err := e.Validate(ctx, wasm)
			if err != nil {
				return 0, nil, err
			}
			return info.ABIMajor, info.Capabilities, nil
		},
		Logger:         log,
		Analytics:      an,
		ModuleCeilings: ceilings,
		Cache:          cache,
		PortalURL:      portalURL,
		SendResetLink:  sendReset,
	})
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	if ops != nil {
		ops.Register(mux)
	}
	mux.Handle("/", h)
	ui.SetAPI(h)
	mux.Handle(admin.Prefix+"/", ui)
	mux.Handle("GET "+admin.Prefix, http.RedirectHandler(admin.Prefix+"/", http.StatusSeeOther))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--admin-listen: %w", err)
	}
	if host, _, _ := net.SplitHostPort(addr); host != "localhost" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			log.Warn("the admin API listens beyond loopback; anyone who can reach it and has the token administers the catalog", "addr", ln.Addr().String())
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	url := "http://" + displayAddr(ln.Addr())
	if err := atomicfile.Write(filepath.Join(data, adminURLFile), []byte(url+"\n"), 0o600); err != nil {
		srv.Close()
		return nil, "", err
	}
	return srv, url, nil
}
