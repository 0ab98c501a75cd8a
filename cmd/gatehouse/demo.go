package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/examples"
)

// The demo's catalog entities, seeded on the first `serve --demo`.
const (
	demoAPI          = "echo"
	demoProduct      = "starter"
	demoUser         = "demo-developer"
	demoSubscription = "demo-subscription"
)

// demoState is the --demo setup: an echo backend on loopback, and the
// catalog entities that publish it.
type demoState struct {
	echo    *http.Server
	echoURL string
	key     string
	// signIn reports that the demo developer can sign in to the portal.
	signIn bool
	// ownerFile holds the first owner's admin portal sign-in ("" when
	// deleted).
	ownerFile string
}

// startEcho starts the demo's echo backend on a loopback port.
func startEcho() (*demoState, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoState{echoURL: "http://" + ln.Addr().String()}
	d.echo = &http.Server{Handler: http.HandlerFunc(echoHandler), ReadHeaderTimeout: 5 * time.Second}
	go d.echo.Serve(ln)
	return d, nil
}

func (d *demoState) close() { d.echo.Close() }

// seed writes the demo into the catalog the first time (when the catalog
// has no API yet), and on later starts points the demo API at this run's
// echo backend (its port changes every start). It leaves everything else
// as the admin has changed it.
func (d *demoState) seed(ctx context.Context, st catalog.Store, log *slog.Logger) error {
	ctx = catalog.WithActor(ctx, "demo")
	apis, err := st.ListAPIs(ctx)
	if err != nil {
		return err
	}
	if len(apis) == 0 {
		if err := seedDemo(ctx, st, d.echoURL); err != nil {
			return fmt.Errorf("seeding the demo: %w", err)
		}
		log.Info("demo catalog seeded", "api", demoAPI, "product", demoProduct, "subscription", demoSubscription)
	} else if a, err := st.GetAPI(ctx, demoAPI); err == nil {
		if u, perr := url.Parse(a.BackendURL); perr == nil && u.Hostname() == "127.0.0.1" && a.BackendURL != d.echoURL {
			a.BackendURL = d.echoURL
			if _, err := st.UpdateAPI(ctx, a); err != nil {
				return fmt.Errorf("pointing the demo API at the echo backend: %w", err)
			}
		}
	}
	if d.signIn, err = seedDemoPassword(ctx, st); err != nil {
		return fmt.Errorf("demo developer password: %w", err)
	}
	keys, err := st.ShowKeys(ctx, demoSubscription)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil // the admin deleted it; no curl line then
	}
	if err != nil {
		return err
	}
	d.key = keys.Primary
	return nil
}

func seedDemo(ctx context.Context, st catalog.Store, echoURL string) error {
	// The API is created with the ID the demo wants, then its operations
	// and document come from the OpenAPI import (a re-import into it).
	if _, err := st.CreateAPI(ctx, catalog.API{ID: demoAPI, Name: "Echo API", PathPrefix: "/echo", BackendURL: echoURL, SubscriptionRequired: true}); err != nil {
		return err
	}
	if _, err := oasimport.Import(ctx, st, oasimport.Request{APIID: demoAPI, Document: examples.EchoOpenAPI}); err != nil {
		return fmt.Errorf("importing examples/echo-openapi.yaml: %w", err)
	}
	if _, err := st.CreateProduct(ctx, catalog.Product{ID: demoProduct, Name: "Starter", Description: "Try the Echo API: 5 calls per 10 seconds.", Published: true, SubscriptionsLimit: 1}); err != nil {
		return err
	}
	if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: demoProduct, APIID: demoAPI}); err != nil {
		return err
	}
	entry := func(policy, config string) catalog.PolicyEntry {
		return catalog.PolicyEntry{Module: "builtin", Policy: policy, Config: json.RawMessage(config)}
	}
	docs := []catalog.PolicyDoc{
		{Scope: catalog.ScopeGlobal, Outbound: []catalog.PolicyEntry{entry("set-header", `{"name":"X-Powered-By","value":"Gatehouse","phase":"response"}`)}},
		{Scope: catalog.ScopeProduct, ScopeID: demoProduct, Inbound: []catalog.PolicyEntry{
			{Base: true},
			entry("rate-limit", `{"calls":5,"renewal_period":10}`),
			entry("set-header", `{"name":"X-Hello","value":"set by a Wasm policy"}`),
		}},
	}
	for _, d := range docs {
		if err := st.SetPolicy(ctx, d); err != nil {
			return err
		}
	}
	if _, err := st.CreateUser(ctx, catalog.User{ID: demoUser, Email: "demo@example.com", Name: "Demo Developer"}); err != nil {
		return err
	}
	_, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{ID: demoSubscription, UserID: demoUser, Name: "Demo subscription", Scope: catalog.ScopeProduct, ScopeID: demoProduct, State: catalog.StateActive})
	return err
}

func (d *demoState) printWelcome(w io.Writer, gatewayURL, adminURL, portalURL string) {
	fmt.Fprintf(w, `
Gatehouse demo is running.
  gateway:      %s
  admin API:    %s/admin/v1 (token in data/admin.token; the CLI finds both)
  echo backend: %s (loopback only)

Call the Echo API with the demo subscription key:

  curl -i -H 'Ocp-Apim-Subscription-Key: %s' %s/echo/items/42

Without the key you get 401; more than 5 calls in 10 s get 429.
See the README for changing a policy with the CLI.

`, gatewayURL, adminURL, d.echoURL, d.key, gatewayURL)
	if email, pw := ownerSignIn(d.ownerFile); email != "" && pw != "" {
		fmt.Fprintf(w, "Admin portal: %s/ui/\n  sign in as %s with password %s (from %s; change it, then delete the file).\n\n", adminURL, email, pw, d.ownerFile)
	}
	if portalURL != "" {
		fmt.Fprintf(w, "Developer portal: %s\n", portalURL)
		if d.signIn {
			fmt.Fprintf(w, "  sign in as %s with password %s, open the Echo API and try it in the console.\n", demoEmail, demoPassword)
		}
		fmt.Fprintln(w)
	}
}

// echoHandler answers with what it received, as JSON; /status/NNN answers
// with that status.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	hdr := map[string]string{}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hdr[k] = strings.Join(r.Header[k], ", ")
	}
	status := http.StatusOK
	if s, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 200 && n <= 599 {
			status = n
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{
		"method":  r.Method,
		"path":    r.URL.Path,
		"query":   r.URL.RawQuery,
		"headers": hdr,
		"body":    string(body),
	})
}
