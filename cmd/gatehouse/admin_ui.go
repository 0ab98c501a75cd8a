package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/cmd/internal/atomicfile"
	"github.com/gatehouse/gatehouse/portal/admin"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Files in the data directory: the admin portal's CSRF key (0600), and the
// first owner's sign-in, written once when the server starts with no admin
// (0600; delete it once you have changed the password).
const (
	adminUIKeyFile = "admin-ui.key"
	ownerFile      = "admin-owner.txt"
	// bootstrapEmail is the first owner's email (change it in the portal
	// or with `gatehouse admin update`).
	bootstrapEmail = "owner@localhost"
)

// newAdminUI returns the admin portal served under /ui on the admin
// listener; its API (the admin API handler) is set by startAdmin.
func newAdminUI(data string, st catalog.Store, reqLog *analytics.Writer, log *slog.Logger) (*admin.Server, error) {
	secret, err := keyFile(filepath.Join(data, adminUIKeyFile))
	if err != nil {
		return nil, err
	}
	o := admin.Options{Store: st, Secret: secret, Logger: log}
	// Import from a URL: fetched through an egress guard with no
	// allow-list (public addresses only: never loopback, private or
	// metadata), redirects checked hop by hop.
	_, client, err := newEgress(nil, log)
	if err != nil {
		return nil, err
	}
	o.FetchDocument = func(ctx context.Context, u string) ([]byte, error) { return fetchImportDocument(ctx, client, u) }
	if reqLog != nil {
		o.Analytics = reqLog
	}
	return admin.New(o)
}

// keyFile returns the secret in path, created (0600) on the first start.
func keyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = []byte(randomKey("ghk_"))
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return b, nil
}

// bootstrapOwner creates the first owner when the catalog has no admin:
// email owner@localhost, a random password, both written to
// DATA/admin-owner.txt (0600) and logged as a path, never as a value. It
// returns the file's path when the file exists (created now or earlier).
func bootstrapOwner(ctx context.Context, st catalog.Store, data string, log *slog.Logger) (string, error) {
	path := filepath.Join(data, ownerFile)
	as, err := st.ListAdmins(ctx)
	if err != nil {
		return "", err
	}
	if len(as) > 0 {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		return "", nil
	}
	pw := web.RandomToken()[:24]
	hash, err := catalog.HashPassword(pw)
	if err != nil {
		return "", err
	}
	// The file first: an owner whose password nobody knows is worse than
	// a file without an owner (the next start creates one).
	body := fmt.Sprintf("# The first owner of this Gatehouse, created on its first start.\n# Sign in at the admin listener's /ui, change the password (My account), then delete this file.\nemail: %s\npassword: %s\n", bootstrapEmail, pw)
	if err := atomicfile.Write(path, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("writing the first owner's credentials: %w", err)
	}
	if _, err := st.CreateAdmin(catalog.WithActor(ctx, "bootstrap"), catalog.Admin{Email: bootstrapEmail, Name: "First owner", Role: catalog.RoleOwner}, hash); err != nil {
		return "", fmt.Errorf("creating the first owner: %w", err)
	}
	log.Info("first owner created; its sign-in is in the data directory", "email", bootstrapEmail, "file", path)
	return path, nil
}

// ownerSignIn reads the email and password back from the owner file (for
// the demo's welcome text); empty when the file is gone.
func ownerSignIn(path string) (email, password string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "email: "); ok {
			email = v
		} else if v, ok := strings.CutPrefix(line, "password: "); ok {
			password = v
		}
	}
	return email, password
}

// maxImportDocument bounds a document fetched for an import (the admin
// API's import limit).
const maxImportDocument = 8 << 20

// fetchImportDocument GETs an OpenAPI document over http(s) with client.
func fetchImportDocument(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, errors.New("not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/yaml, application/json;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxImportDocument+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImportDocument {
		return nil, fmt.Errorf("larger than %d MiB", maxImportDocument>>20)
	}
	return b, nil
}
