package main

// quota and quota-by-key through the real gateway over loopback: exact
// counting under concurrency, bandwidth from Content-Length, and quotas
// that survive a restart of the counter store (host/counter PersistPath).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// quotaGateway serves cfg with the built-in module on the counter store
// counters; close stops it (not the store).
func quotaGateway(t *testing.T, wasm []byte, counters *counter.Store, cfg *gateway.Config) (url string, close func()) {
	t.Helper()
	ctx := context.Background()
	svc := &engine.Services{Counters: counters, Cache: vcache.New(100, 1<<20)}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: wasm, BuiltinVersion: "test"})
	if err != nil {
		e.Close(ctx)
		t.Fatal(err)
	}
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	return srv.URL, func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	}
}

func quotaConfig(backend string) *gateway.Config {
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	return &gateway.Config{
		APIs: []gateway.API{
			{Name: "quota", PathPrefix: "/quota", Backend: backend, Policies: gateway.Policy{Inbound: []gateway.Step{
				step("subscription-key", `{}`),
				step("quota", `{"calls":500,"renewal_period":86400}`),
			}}},
			{Name: "bykey", PathPrefix: "/bykey", Backend: backend, Policies: gateway.Policy{Inbound: []gateway.Step{
				step("quota-by-key", `{"calls":10,"renewal_period":86400,"counter_key":"header:X-Tenant"}`),
			}}},
			{Name: "bandwidth", PathPrefix: "/bandwidth", Backend: backend, Policies: gateway.Policy{Inbound: []gateway.Step{
				step("quota-by-key", `{"bandwidth":2,"renewal_period":86400,"counter_key":"ip"}`),
			}}},
		},
		Subscriptions: []gateway.StaticSubscription{
			{ID: "s1", Key: "key-1", APIs: []string{"quota"}},
			{ID: "s2", Key: "key-2", APIs: []string{"quota"}},
		},
	}
}

func quotaBackend(hits *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		body := "ok"
		if strings.HasPrefix(r.URL.Path, "/bandwidth") || r.URL.Query().Get("size") != "" {
			n, _ := strconv.Atoi(r.URL.Query().Get("size"))
			body = strings.Repeat("x", n)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	}))
}

type quotaResult struct {
	status int
	retry  string
	body   string
}

func quotaDo(t *testing.T, client *http.Client, method, url string, hdr map[string]string, reqBody string) quotaResult {
	t.Helper()
	var rd io.Reader
	if reqBody != "" {
		rd = strings.NewReader(reqBody)
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return quotaResult{}
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return quotaResult{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
}

func TestQuotaExactUnderConcurrency(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	var hits atomic.Int64
	backend := quotaBackend(&hits)
	defer backend.Close()
	url, stop := quotaGateway(t, wasm, counter.New(counter.Options{}), quotaConfig(backend.URL))
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	const clients, perClient = 64, 16 // 1024 calls of key-1 for a quota of 500
	var mu sync.Mutex
	codes := map[int]int{}
	tenantOK := make([]int, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				r := quotaDo(t, client, "GET", url+"/quota/x", map[string]string{"Ocp-Apim-Subscription-Key": "key-1"}, "")
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
				if r.status == 403 && (r.retry == "" || !strings.Contains(r.body, "Out of call volume quota")) {
					t.Errorf("403 without Retry-After or APIM body: %q %s", r.retry, r.body)
				}
				// quota-by-key: 10 calls per tenant; each client is a tenant
				// and sends 16 (the 64 clients run at the same time).
				r = quotaDo(t, client, "GET", url+"/bykey/x", map[string]string{"X-Tenant": fmt.Sprint("tenant-", i)}, "")
				if r.status == 200 {
					tenantOK[i]++
				}
			}
		}()
	}
	wg.Wait()
	if codes[200] != 500 || codes[403] != clients*perClient-500 {
		t.Errorf("quota: %v; want exactly 500 × 200 and %d × 403", codes, clients*perClient-500)
	}
	for i, n := range tenantOK {
		if n != 10 {
			t.Errorf("quota-by-key tenant-%d: %d calls let through, want 10", i, n)
		}
	}
	if got := hits.Load(); got != 500+clients*10 {
		t.Errorf("backend hits %d, want %d", got, 500+clients*10)
	}
	// The other subscription has its own quota.
	if r := quotaDo(t, client, "GET", url+"/quota/x", map[string]string{"Ocp-Apim-Subscription-Key": "key-2"}, ""); r.status != 200 {
		t.Errorf("key-2: %d %s", r.status, r.body)
	}

	// Bandwidth: 2 KB; each call is 300 request + 700 response bytes.
	for i := range 3 {
		if r := quotaDo(t, client, "POST", url+"/bandwidth/x?size=700", nil, strings.Repeat("r", 300)); r.status != 200 {
			t.Fatalf("bandwidth call %d: %d %s", i, r.status, r.body)
		}
	}
	r := quotaDo(t, client, "POST", url+"/bandwidth/x?size=700", nil, strings.Repeat("r", 300))
	if r.status != 403 || !strings.Contains(r.body, "Out of bandwidth quota") || r.retry == "" {
		t.Errorf("bandwidth over quota: %d %q %s", r.status, r.retry, r.body)
	}
}

func TestQuotaSurvivesRestart(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	var hits atomic.Int64
	backend := quotaBackend(&hits)
	defer backend.Close()
	path := filepath.Join(t.TempDir(), "counters.db")
	client := &http.Client{}
	defer client.CloseIdleConnections()
	key := map[string]string{"Ocp-Apim-Subscription-Key": "key-1"}
	tenant := map[string]string{"X-Tenant": "acme"}

	// First run: use up key-1's quota (500) and acme's (10).
	store, err := counter.Open(counter.Options{PersistPath: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	url, stop := quotaGateway(t, wasm, store, quotaConfig(backend.URL))
	ok := 0
	for range 501 {
		if r := quotaDo(t, client, "GET", url+"/quota/x", key, ""); r.status == 200 {
			ok++
		}
	}
	for range 6 {
		quotaDo(t, client, "GET", url+"/bykey/x", tenant, "")
	}
	if ok != 500 {
		t.Fatalf("first run: %d calls let through, want 500", ok)
	}
	stop()
	// Close writes the counters (the flush interval is an hour: only Close
	// can have written them).
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// Second run on the same file, a new store and a new gateway.
	store2, err := counter.Open(counter.Options{PersistPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	url, stop = quotaGateway(t, wasm, store2, quotaConfig(backend.URL))
	defer stop()
	r := quotaDo(t, client, "GET", url+"/quota/x", key, "")
	if r.status != 403 || !strings.Contains(r.body, "Out of call volume quota") {
		t.Errorf("after the restart key-1's quota is not exhausted: %d %s", r.status, r.body)
	}
	// acme used 6 of 10: 4 more, then 403.
	for i := range 4 {
		if r := quotaDo(t, client, "GET", url+"/bykey/x", tenant, ""); r.status != 200 {
			t.Fatalf("acme call %d after the restart: %d", i, r.status)
		}
	}
	if r := quotaDo(t, client, "GET", url+"/bykey/x", tenant, ""); r.status != 403 {
		t.Errorf("acme after 10 calls across the restart: %d", r.status)
	}
	if r := quotaDo(t, client, "GET", url+"/quota/x", map[string]string{"Ocp-Apim-Subscription-Key": "key-2"}, ""); r.status != 200 {
		t.Errorf("key-2 after the restart: %d", r.status)
	}
}

// rate-limit counts exactly under 64 concurrent clients: 1024 calls against
// 300 per window give exactly 300 × 200 and 724 × 429 with Retry-After. The
// window is a day, so a window boundary inside the test is improbable.
func TestRateLimitExactUnderConcurrency(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	var hits atomic.Int64
	backend := quotaBackend(&hits)
	defer backend.Close()
	cfg := &gateway.Config{
		APIs: []gateway.API{{Name: "rl", PathPrefix: "/rl", Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{
			{Policy: "subscription-key", Config: []byte(`{}`)},
			{Policy: "rate-limit", Config: []byte(`{"calls":300,"renewal_period":86400}`)},
		}}}},
		Subscriptions: []gateway.StaticSubscription{{ID: "s1", Key: "key-1", APIs: []string{"rl"}}},
	}
	url, stop := quotaGateway(t, wasm, counter.New(counter.Options{}), cfg)
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	const clients, perClient = 64, 16
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				r := quotaDo(t, client, "GET", url+"/rl/x", map[string]string{"Ocp-Apim-Subscription-Key": "key-1"}, "")
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
				if r.status == 429 && r.retry == "" {
					t.Error("429 without Retry-After")
				}
			}
		}()
	}
	wg.Wait()
	if codes[200] != 300 || codes[429] != clients*perClient-300 {
		t.Errorf("rate-limit: %v; want exactly 300 × 200 and %d × 429", codes, clients*perClient-300)
	}
	if got := hits.Load(); got != 300 {
		t.Errorf("backend hits %d, want 300", got)
	}
}
