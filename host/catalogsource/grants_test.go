package catalogsource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

const grantsToken = "gha_grants-test-token"

// adminEnv is a real admin API over loopback on a real SQLite catalog,
// validating uploads with the real engine.
type adminEnv struct {
	t   *testing.T
	st  *sqlite.Store
	url string
}

func newAdminEnv(t *testing.T, st *sqlite.Store, e *engine.Engine, ceilings catalog.ModuleLimits) *adminEnv {
	t.Helper()
	h, err := adminapi.New(adminapi.Options{Store: st, Token: grantsToken, ModuleCeilings: ceilings,
		ValidateModule: func(ctx context.Context, wasm []byte) (int, []string, error) {
			info, err := e.Validate(ctx, wasm)
			if err != nil {
				return 0, nil, err
			}
			return info.ABIMajor, info.Capabilities, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &adminEnv{t: t, st: st, url: srv.URL + adminapi.Prefix}
}

func (a *adminEnv) send(method, path, ctype string, body []byte) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+grantsToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (a *adminEnv) json(method, path string, in any) (int, string) {
	a.t.Helper()
	var b []byte
	if in != nil {
		b, _ = json.Marshal(in)
	}
	return a.send(method, path, "application/json", b)
}

func (a *adminEnv) upload(name, version, manifest, grant string, wasm []byte) (int, string) {
	a.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", name)
	mw.WriteField("version", version)
	if manifest != "" {
		mw.WriteField("manifest", manifest)
	}
	if grant != "" {
		mw.WriteField("grant", grant)
	}
	fw, _ := mw.CreateFormFile("wasm", "m.wasm")
	fw.Write(wasm)
	mw.Close()
	return a.send("POST", "/modules", mw.FormDataContentType(), buf.Bytes())
}

func (a *adminEnv) version() int64 {
	a.t.Helper()
	v, err := a.st.Version(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	return v
}

// refused checks a 4xx answer whose message contains every want, and
// that the catalog did not change.
func (a *adminEnv) refused(wantStatus int, status int, body string, before int64, want ...string) {
	a.t.Helper()
	if status != wantStatus {
		a.t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	var eb struct {
		Error struct {
			Message string
			Fields  []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		a.t.Fatalf("error answer %s: %v", body, err)
	}
	text := eb.Error.Message
	for _, f := range eb.Error.Fields {
		text += " " + f.Path
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			a.t.Errorf("answer %s does not name %q", body, w)
		}
	}
	if v := a.version(); v != before {
		a.t.Errorf("a refused request changed the catalog: version %d → %d", before, v)
	}
}

// TestGrantsEndToEnd uploads a Go guest importing counter_add without the
// counters grant: attach is refused naming it, the gateway refuses to load
// it, and once granted it loads and runs. Revoking a grant in use and bad
// grant requests are refused, the catalog unchanged.
func TestGrantsEndToEnd(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	counters, err := counter.Open(counter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { counters.Close() })
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{Counters: counters}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	a := newAdminEnv(t, st, e, catalog.ModuleLimits{})
	guest := hosttest.Guest(t, "host/catalogsource/testdata/counterguest")

	var hits atomic.Value
	hits.Store("")
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.Header.Get("X-Hits"))
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)

	// Upload without a grant: 201, and the module shows what it misses.
	status, body := a.upload("counterguest", "1.0.0", "", "", guest)
	if status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	var m struct {
		Manifest      catalog.ModuleManifest `json:"manifest"`
		Grant         catalog.ModuleGrant    `json:"grant"`
		MissingGrants []string               `json:"missingGrants"`
	}
	json.Unmarshal([]byte(body), &m)
	if strings.Join(m.Manifest.Capabilities, ",") != "config,counters,http,log" || len(m.Grant.Capabilities) != 0 ||
		strings.Join(m.MissingGrants, ",") != "capability config,capability counters,capability http,capability log" {
		t.Fatalf("upload answer: requested %v granted %v missing %v", m.Manifest.Capabilities, m.Grant.Capabilities, m.MissingGrants)
	}
	if s, b := a.json("POST", "/apis", map[string]any{"id": "shop", "name": "Shop", "pathPrefix": "/shop", "backendUrl": be.URL}); s != 201 {
		t.Fatalf("create api: %d %s", s, b)
	}
	if s, b := a.json("POST", "/apis/shop/operations", map[string]any{"id": "all", "name": "all", "method": "GET", "urlTemplate": "/items"}); s != 201 {
		t.Fatalf("create operation: %d %s", s, b)
	}

	// Partly granted (everything but counters): attach, set policy and
	// declarative apply are refused, naming the missing grant.
	if s, b := a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"capabilities": []string{"config", "http", "log"}}); s != 200 {
		t.Fatalf("grant: %d %s", s, b)
	}
	v := a.version()
	entry := map[string]any{"module": "counterguest", "policy": "counterguest"}
	s, b := a.json("POST", "/policies/api/shop/inbound", map[string]any{"entry": entry})
	a.refused(400, s, b, v, "inbound[1].module", "counterguest@1.0.0 is not granted capability counters", "plugin grant counterguest 1.0.0")
	s, b = a.json("PUT", "/policies/api/shop", map[string]any{"inbound": []any{entry}})
	a.refused(400, s, b, v, "capability counters")
	s, b = a.json("POST", "/apply", map[string]any{"version": 1, "apis": []any{map[string]any{"id": "shop", "name": "Shop", "pathPrefix": "/shop", "backendUrl": be.URL,
		"operations": []any{map[string]any{"id": "all", "name": "all", "method": "GET", "urlTemplate": "/items"}},
		"policy":     map[string]any{"inbound": []any{entry}}}}})
	a.refused(400, s, b, v, "apis[0].policy.inbound[0].module", "capability counters")
	// Pinned too.
	s, b = a.json("POST", "/policies/api/shop/inbound", map[string]any{"entry": map[string]any{"module": "counterguest@1.0.0"}})
	a.refused(400, s, b, v, "capability counters")

	// The host refuses the import at load, naming the function and group,
	// whatever the catalog says: a gateway config granting all but counters.
	g, err := gateway.New(gateway.Options{Engine: e, Source: staticSource{&gateway.Config{
		Modules: []gateway.ModuleSpec{{Name: "counterguest", Version: "1.0.0", Wasm: guest, Granted: []string{"config", "http", "log"}}},
		APIs: []gateway.API{{Name: "shop", PathPrefix: "/shop", Backend: be.URL,
			Operations: []gateway.Operation{{ID: "all", Method: "GET", Template: "/items"}},
			Policies:   gateway.Policy{Inbound: []gateway.Step{{Module: "counterguest", Policy: "counterguest"}}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	err = g.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), `gatehouse_v1.counter_add (capability "counters")`) || !strings.Contains(err.Error(), "not granted") {
		t.Fatalf("gateway load of an ungranted import: %v", err)
	}
	g.Close()

	// Bad grant requests: 4xx, nothing changed.
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"capabilities": []string{"telepathy"}})
	a.refused(400, s, b, v, "capabilities[0]", `unknown capability "telepathy"`)
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"capabilities": []string{"jwt"}})
	a.refused(400, s, b, v, `does not request capability "jwt"`)
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"egress": []string{"api.example.com"}})
	a.refused(400, s, b, v, `does not request egress "api.example.com"`)
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"all": true, "capabilities": []string{"log"}})
	a.refused(400, s, b, v, "either all or capabilities")
	s, b = a.json("PUT", "/modules/nosuch/1.0.0/grant", map[string]any{"all": true})
	a.refused(404, s, b, v, "nosuch@1.0.0")
	s, b = a.json("PUT", "/modules/counterguest/9.9.9/grant", map[string]any{"all": true})
	a.refused(404, s, b, v, "counterguest@9.9.9")
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"capabilities": "counters"})
	a.refused(400, s, b, v, "capabilities")
	s, b = a.upload("counterguest", "1.0.1", "", "counters,telepathy", guest)
	a.refused(400, s, b, v, "grant", `unknown capability "telepathy"`)

	// Granted: attach succeeds; the catalog's gateway loads and runs it.
	if s, b := a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"all": true}); s != 200 || !strings.Contains(b, `"missingGrants":[]`) {
		t.Fatalf("grant all: %d %s", s, b)
	}
	if s, b := a.json("POST", "/policies/api/shop/inbound", map[string]any{"entry": entry}); s != 200 {
		t.Fatalf("attach after the grant: %d %s", s, b)
	}
	src := catalogsource.New(st)
	gw, err := gateway.New(gateway.Options{Engine: e, Source: src, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Reload(ctx); err != nil {
		t.Fatalf("gateway load after the grant: %v", err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); gw.Close() })
	for want := 1; want <= 2; want++ {
		res, err := http.Get(srv.URL + "/shop/items")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || hits.Load() != strconv(want) {
			t.Fatalf("call %d: status %d, X-Hits %q", want, res.StatusCode, hits.Load())
		}
	}

	// Revoking a grant the attached module needs is refused (detach
	// first); so is narrowing it.
	v = a.version()
	s, b = a.json("DELETE", "/modules/counterguest/1.0.0/grant", nil)
	a.refused(409, s, b, v, "used by the policy of api shop", "capability counters", "detach it first")
	s, b = a.json("PUT", "/modules/counterguest/1.0.0/grant", map[string]any{"capabilities": []string{"config", "http", "log"}})
	a.refused(409, s, b, v, "capability counters")

	// A new version uploaded without a grant does not take over the
	// unpinned reference: the gateway keeps running 1.0.0.
	if s, b := a.upload("counterguest", "1.1.0", "", "", guest); s != 201 {
		t.Fatalf("upload 1.1.0: %d %s", s, b)
	}
	cfg, _, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Modules) != 1 || cfg.Modules[0].Version != "1.0.0" || strings.Join(cfg.Modules[0].Granted, ",") != "config,counters,http,log" {
		t.Fatalf("modules after an ungranted upload: %+v", cfg.Modules)
	}

	// Detached, the grant can go; the audit log has every grant with its actor.
	if s, b := a.json("DELETE", "/policies/api/shop/inbound/1", nil); s != 204 {
		t.Fatalf("detach: %d %s", s, b)
	}
	if s, b := a.json("DELETE", "/modules/counterguest/1.0.0/grant", nil); s != 200 || !strings.Contains(b, `"capability counters"`) {
		t.Fatalf("revoke after detach: %d %s", s, b)
	}
	audit, err := st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var grants []string
	for _, en := range audit {
		if en.Action == "grant" {
			grants = append(grants, en.Actor+" "+en.EntityID+" "+en.Detail)
		}
	}
	want := []string{
		"break-glass counterguest@1.0.0 capabilities= egress=",
		"break-glass counterguest@1.0.0 capabilities=config,counters,http,log egress=",
		"break-glass counterguest@1.0.0 capabilities=config,http,log egress=",
	}
	if strings.Join(grants, "\n") != strings.Join(want, "\n") {
		t.Errorf("grant audit entries (newest first):\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(want, "\n"))
	}
}

func strconv(n int) string { return string(rune('0' + n)) }

// staticSource serves one fixed gateway config.
type staticSource struct{ cfg *gateway.Config }

func (s staticSource) Version(context.Context) (int64, error) { return 1, nil }
func (s staticSource) Load(context.Context) (*gateway.Config, string, error) {
	return s.cfg, "", nil
}

// TestLimitsClampedByCeilings: a module asking for 1024 pages, 30 s and 64
// instances gets the ceilings, in the admin API's view and in the config
// the gateway runs; smaller requests stay as asked.
func TestLimitsClampedByCeilings(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	ceil := catalog.ModuleLimits{MemoryPages: 128, TimeoutMS: 500, Instances: 3}
	a := newAdminEnv(t, st, e, ceil)
	ua := hosttest.Guest(t, "examples/ua-filter")
	for _, c := range []struct {
		version, manifest string
		want              catalog.ModuleLimits
	}{
		{"1.0.0", `{"limits":{"memoryPages":1024,"timeoutMs":30000,"instances":64}}`, ceil},
		{"1.0.1", `{"limits":{"memoryPages":64,"timeoutMs":200,"instances":2}}`, catalog.ModuleLimits{MemoryPages: 64, TimeoutMS: 200, Instances: 2}},
	} {
		s, b := a.upload("ua-filter", c.version, c.manifest, "all", ua)
		if s != 201 {
			t.Fatalf("upload %s: %d %s", c.version, s, b)
		}
		var m struct {
			Manifest        catalog.ModuleManifest `json:"manifest"`
			EffectiveLimits catalog.ModuleLimits   `json:"effectiveLimits"`
		}
		json.Unmarshal([]byte(b), &m)
		if m.EffectiveLimits != c.want {
			t.Errorf("%s: effectiveLimits %+v, want %+v (requested %+v)", c.version, m.EffectiveLimits, c.want, m.Manifest.Limits)
		}
		if s, b := a.json("POST", "/apis", map[string]any{"id": "api-" + strings.ReplaceAll(c.version, ".", "-"), "name": c.version, "pathPrefix": "/" + strings.ReplaceAll(c.version, ".", "-"), "backendUrl": "http://127.0.0.1:9/"}); s != 201 {
			t.Fatalf("create api: %d %s", s, b)
		}
		if s, b := a.json("PUT", "/policies/api/api-"+strings.ReplaceAll(c.version, ".", "-"), map[string]any{"inbound": []any{map[string]any{"module": "ua-filter@" + c.version, "config": map[string]any{"deny": []string{"x"}}}}}); s != 200 {
			t.Fatalf("attach: %d %s", s, b)
		}
	}
	src := catalogsource.New(st)
	src.Ceilings = ceil
	cfg, _, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range cfg.Modules {
		got[m.Version] = "instances=" + strconv(m.MaxInstances)
	}
	for _, api := range cfg.APIs {
		st := api.Policies.Inbound[0]
		got[api.Name] = time.Duration(st.Timeout).String() + " pages=" + itoa(int(st.MaxMemoryPages))
	}
	want := map[string]string{"1.0.0": "instances=3", "1.0.1": "instances=2", "api-1-0-0": "500ms pages=128", "api-1-0-1": "200ms pages=64"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], w, got)
		}
	}
	// The gateway runs that config.
	g, err := gateway.New(gateway.Options{Engine: e, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
