package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// edgeEnv is a gateway with the real built-in module (pool of 4, shared by
// every API) served over loopback.
type edgeEnv struct {
	g   *gateway.Gateway
	srv *httptest.Server
	be  *backend
	rec *recorder
}

func newEdgeEnv(t *testing.T, cfg *gateway.Config, o gateway.Options) *edgeEnv {
	t.Helper()
	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{})}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	be := newBackend(t)
	for i := range cfg.APIs {
		if cfg.APIs[i].Backend == "" {
			cfg.APIs[i].Backend = be.URL
		}
	}
	rec := &recorder{}
	o.Engine, o.Source, o.Logger, o.Observer = e, gateway.NewStaticSource(cfg, ""), quiet, rec
	o.Builtin, o.BuiltinVersion = hosttest.Guest(t, "plugins/builtin"), "test"
	g, err := gateway.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	return &edgeEnv{g: g, srv: srv, be: be, rec: rec}
}

func (en *edgeEnv) get(t *testing.T, path string, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", en.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if h := hdr.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func step(policy, cfg string) gateway.Step {
	return gateway.Step{Policy: policy, Config: []byte(cfg)}
}

// slowPost sends a POST whose body of size bytes arrives one byte per every,
// until it is all sent, the server answers, or stop closes; it returns the
// status the gateway answered (0: none before stop).
func slowPost(addr, path string, size int, every time.Duration, stop <-chan struct{}) (int, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAccept: application/xml\r\nContent-Length: %d\r\n\r\n", path, size)
	status := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for sent := 0; ; {
		select {
		case s := <-status:
			return s, nil
		case <-stop:
			return 0, nil
		case <-t.C:
			if sent < size {
				if _, err := conn.Write([]byte{'['}); err != nil {
					return <-status, nil
				}
				sent++
			}
		}
	}
}

// Eight clients trickling a JSON body at a byte every 200 ms to a
// json-to-xml API hold no instance of the built-in module: another API that
// uses built-ins keeps answering 200, each in well under a second, and the
// trickling clients get 408 at the read deadline.
func TestSlowBodyClientsDoNotStarveOtherAPIs(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "conv", PathPrefix: "/conv", Policies: gateway.Policy{Inbound: []gateway.Step{
			step("json-to-xml", `{"apply":"always","consider_accept_header":false}`)}}},
		{Name: "other", PathPrefix: "/other", Policies: gateway.Policy{Inbound: []gateway.Step{
			step("set-header", `{"name":"X-Other","value":"1"}`)}}},
	}}
	en := newEdgeEnv(t, cfg, gateway.Options{BodyReadTimeout: 2 * time.Second, MinBodyRate: 1024})
	// A normal JSON body is still converted.
	resp, err := http.Post(en.srv.URL+"/conv/x", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<a>1</a>") {
		t.Fatalf("json-to-xml: %d %q", resp.StatusCode, b)
	}

	addr := strings.TrimPrefix(en.srv.URL, "http://")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = slowPost(addr, "/conv/x", 1000, 200*time.Millisecond, stop)
		}()
	}
	time.Sleep(400 * time.Millisecond) // every slow client is in its body
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		code, body := en.get(t, "/other/x", nil)
		d := time.Since(t0)
		slowest = max(slowest, d)
		if code != 200 || !strings.HasPrefix(body, "echo GET /x") {
			t.Fatalf("other API during slow bodies: %d %q", code, body)
		}
		if d >= time.Second {
			t.Fatalf("other API answered in %v during slow bodies", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Bounded: the read deadline (2 s + 1 s per KiB received) answers 408.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(stop)
		wg.Wait()
		t.Fatalf("slow clients not answered within 10 s: %v", statuses)
	}
	for i, s := range statuses {
		if s != http.StatusRequestTimeout {
			t.Errorf("slow client %d: status %d; want 408", i, s)
		}
	}
	if en.g.BodyMemory() != 0 {
		t.Errorf("body memory held after the slow clients: %d", en.g.BodyMemory())
	}
	if n := en.g.BodyTimeouts(); n != 8 {
		t.Errorf("BodyTimeouts = %d; want 8", n)
	}
	t.Logf("slowest other-API answer during 8 slow bodies: %v", slowest)
}

// A body slower than the read deadline gets 408 with the generic body, the
// connection is closed, and nothing stays held: body memory back to 0, the
// next request is served.
func TestSlowBodyPastDeadlineGets408(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "conv", PathPrefix: "/conv", Policies: gateway.Policy{Inbound: []gateway.Step{
			step("json-to-xml", `{"apply":"always","consider_accept_header":false}`)}}},
	}}
	en := newEdgeEnv(t, cfg, gateway.Options{BodyReadTimeout: 500 * time.Millisecond, MinBodyRate: 100})
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	conn, err := net.Dial("tcp", strings.TrimPrefix(en.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	fmt.Fprintf(conn, "POST /conv/x HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(t0)
	// 5 bytes at 100 B/s extend the 500 ms deadline by 50 ms.
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"statusCode":408`) || !resp.Close {
		t.Fatalf("slow body: %d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	if elapsed < 500*time.Millisecond {
		t.Fatalf("408 after %v, before the deadline", elapsed)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open after 408")
	}
	if en.be.hits.Load() != 0 {
		t.Fatal("backend called for a body never received")
	}
	if en.g.BodyMemory() != 0 {
		t.Fatalf("body memory held: %d", en.g.BodyMemory())
	}
	// goroutines of the slow request are gone (the server's connection
	// goroutine included)
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines %d after, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	resp2, err := http.Post(en.srv.URL+"/conv/x", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("after the 408: %d", resp2.StatusCode)
	}
}

// Bodies over the API's limit get 413: declared (Content-Length) or not
// (chunked), on a chain that reads bodies and on one that streams.
func TestBodyOverLimit413(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "conv", PathPrefix: "/conv", BodyLimit: 1000, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("json-to-xml", `{"apply":"always","consider_accept_header":false}`)}}},
		{Name: "stream", PathPrefix: "/stream", BodyLimit: 1000, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("set-header", `{"name":"X-A","value":"1"}`)}}},
	}}
	en := newEdgeEnv(t, cfg, gateway.Options{})
	big := `[` + strings.Repeat(`1,`, 1000) + `1]`
	for _, tc := range []struct {
		path    string
		chunked bool
	}{{"/conv/x", false}, {"/conv/x", true}, {"/stream/x", false}, {"/stream/x", true}} {
		var body io.Reader = strings.NewReader(big)
		if tc.chunked {
			body = io.MultiReader(strings.NewReader(big)) // no length: chunked
		}
		req, _ := http.NewRequest("POST", en.srv.URL+tc.path, body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s chunked=%v: %v", tc.path, tc.chunked, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"statusCode":413`) {
			t.Errorf("%s chunked=%v: %d %q", tc.path, tc.chunked, resp.StatusCode, b)
		}
	}
	if en.g.BodyMemory() != 0 {
		t.Fatalf("body memory held: %d", en.g.BodyMemory())
	}
}

// countingBackend discards request bodies and counts their bytes.
func countingBackend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := io.Copy(io.Discard, r.Body)
		n.Store(c)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// A large upload through a chain that reads no body streams: the gateway
// never holds it (received-body memory stays 0) and the process allocates a
// small fraction of its size.
func TestLargeUploadStreamsUnbuffered(t *testing.T) {
	be, got := countingBackend(t)
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "up", PathPrefix: "/up", Backend: be.URL, BodyLimit: 1 << 30, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("set-header", `{"name":"X-A","value":"1"}`), step("rate-limit-by-key", `{"calls":100,"renewal_period":60,"counter_key":"ip"}`),
			// forward-request reads the body only with buffer_request_body
			step("forward-request", `{"timeout":60}`)}}},
	}}
	en := newEdgeEnv(t, cfg, gateway.Options{})
	const size = 64 << 20
	var peak atomic.Int64
	stopWatch := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
				peak.Store(max(peak.Load(), en.g.BodyMemory()))
			}
		}
	}()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	req, _ := http.NewRequest("POST", en.srv.URL+"/up/x", io.LimitReader(zeros{}, size))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&m1)
	close(stopWatch)
	if resp.StatusCode != 200 || got.Load() != size {
		t.Fatalf("upload: %d, backend got %d of %d bytes", resp.StatusCode, got.Load(), size)
	}
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("64 MiB upload: %d KiB allocated by the whole process (client, gateway, backend), received-body peak %d", alloc>>10, peak.Load())
	if peak.Load() != 0 {
		t.Errorf("the gateway buffered a body no policy reads (peak %d bytes)", peak.Load())
	}
	if alloc > size/4 {
		t.Errorf("allocated %d bytes for a %d-byte upload: the body was buffered", alloc, size)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// xffBackend answers with the X-Forwarded-For and X-Forwarded-Host it got.
func xffBackend(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%s xfh=%s fwd=%s", strings.Join(r.Header.Values("X-Forwarded-For"), "|"),
			strings.Join(r.Header.Values("X-Forwarded-Host"), "|"), r.Header.Get("Forwarded"))
	}))
	t.Cleanup(s.Close)
	return s
}

// The client address is resolved once at the edge: the backend's
// X-Forwarded-For, ip-filter and the request log all see the same one.
func TestTrustedProxyChains(t *testing.T) {
	be := xffBackend(t)
	pol := gateway.Policy{Inbound: []gateway.Step{step("ip-filter", `{"action":"forbid","addresses":["198.51.100.9"]}`)}}
	newCfg := func() *gateway.Config {
		return &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: be.URL, Policies: pol}}}
	}
	trusting := newEdgeEnv(t, newCfg(), gateway.Options{Edge: gateway.EdgeConfig{TrustedProxies: []string{"127.0.0.1", "10.0.0.0/8"}}})
	untrusting := newEdgeEnv(t, newCfg(), gateway.Options{Edge: gateway.EdgeConfig{TrustedProxies: []string{"10.0.0.0/8"}}})
	fwd := newEdgeEnv(t, newCfg(), gateway.Options{Edge: gateway.EdgeConfig{TrustedProxies: []string{"127.0.0.0/8"}, ForwardedHeader: "Forwarded"}})
	for _, tc := range []struct {
		name   string
		en     *edgeEnv
		hdr    http.Header
		status int
		client string
	}{
		{"spoofed XFF from an untrusted peer is ignored", untrusting, http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 200, "127.0.0.1"},
		{"untrusted peer cannot dodge the forbid list", untrusting, http.Header{"X-Forwarded-For": {"198.51.100.9"}}, 200, "127.0.0.1"},
		{"trusted peer, one hop", trusting, http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 200, "203.0.113.7"},
		{"right-most untrusted", trusting, http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.7, 10.0.0.9"}}, 200, "203.0.113.7"},
		{"forbidden client behind proxies", trusting, http.Header{"X-Forwarded-For": {"203.0.113.7, 198.51.100.9, 10.0.0.9"}}, 403, "198.51.100.9"},
		{"forbidden client prepends a spoof", trusting, http.Header{"X-Forwarded-For": {"203.0.113.7", "198.51.100.9"}}, 403, "198.51.100.9"},
		{"malformed chain: nearest trusted hop", trusting, http.Header{"X-Forwarded-For": {"198.51.100.9, bogus, 10.0.0.9"}}, 200, "10.0.0.9"},
		{"underscore spelling next to the canonical one", trusting, http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X_Forwarded_For": {"198.51.100.9"}}, 200, "127.0.0.1"},
		{"Forwarded", fwd, http.Header{"Forwarded": {`for=203.0.113.7, for="[2001:db8::7]:443";proto=https`}}, 200, "2001:db8::7"},
		{"Forwarded: forbidden client", fwd, http.Header{"Forwarded": {`for=198.51.100.9`}}, 403, "198.51.100.9"},
		{"Forwarded mode ignores XFF", fwd, http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 200, "127.0.0.1"},
		{"Forwarded: syntax error", fwd, http.Header{"Forwarded": {`for="198.51.100.9`}}, 200, "127.0.0.1"},
		{"Forwarded: forbidden client's unclosed quote cannot hide the proxy's entry", fwd, http.Header{"Forwarded": {`for="6.6.6.6, for=198.51.100.9`}}, 403, "198.51.100.9"},
	} {
		n := len(tc.en.rec.all())
		code, body := tc.en.get(t, "/a/x", tc.hdr)
		if code != tc.status {
			t.Errorf("%s: status %d %q; want %d", tc.name, code, body, tc.status)
			continue
		}
		if code == 200 && body != "xff="+tc.client+" xfh= fwd=" {
			t.Errorf("%s: backend got %q; want X-Forwarded-For %s only", tc.name, body, tc.client)
		}
		recs := tc.en.rec.waitRecords(t, n+1)
		if got := recs[len(recs)-1].ClientIP; got != tc.client {
			t.Errorf("%s: request log client %q; want %q", tc.name, got, tc.client)
		}
	}
}

// rate-limit-by-key by ip counts an IPv6 client per /64: its other
// addresses share the counter, the next /64 has its own.
func TestRateLimitByIPv6Per64(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{{Name: "rl", PathPrefix: "/rl", Policies: gateway.Policy{Inbound: []gateway.Step{
		step("rate-limit-by-key", `{"calls":2,"renewal_period":60,"counter_key":"ip"}`)}}}}}
	en := newEdgeEnv(t, cfg, gateway.Options{Edge: gateway.EdgeConfig{TrustedProxies: []string{"127.0.0.1"}}})
	for i, tc := range []struct {
		ip     string
		status int
	}{
		{"2001:db8:1:2::1", 200},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", 200},
		{"2001:db8:1:2::3", 429}, // third call of the same /64
		{"2001:db8:1:3::1", 200}, // next /64
		{"198.51.100.1", 200},
		{"198.51.100.1", 200},
		{"198.51.100.1", 429},
		{"198.51.100.2", 200}, // IPv4 per address
	} {
		code, body := en.get(t, "/rl/x", http.Header{"X-Forwarded-For": {tc.ip}})
		if code != tc.status {
			t.Errorf("call %d from %s: %d %q; want %d", i, tc.ip, code, body, tc.status)
		}
	}
	// The log keeps the exact address.
	recs := en.rec.waitRecords(t, 8)
	if recs[1].ClientIP != "2001:db8:1:2:aaaa:bbbb:cccc:dddd" {
		t.Errorf("request log client %q", recs[1].ClientIP)
	}
}

// With --hostnames an unknown Host gets 421 and backends get
// X-Forwarded-Host with the configured name only; without, any Host is
// accepted and no X-Forwarded-Host is sent.
func TestHostnames(t *testing.T) {
	be := xffBackend(t)
	newCfg := func() *gateway.Config {
		return &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: be.URL}}}
	}
	named := newEdgeEnv(t, newCfg(), gateway.Options{Edge: gateway.EdgeConfig{Hostnames: []string{"API.example.com", "gw.example.net"}}})
	anyHost := newEdgeEnv(t, newCfg(), gateway.Options{})
	for _, tc := range []struct {
		name, host string
		en         *edgeEnv
		status     int
		xfh        string
	}{
		{"known", "api.example.com", named, 200, "api.example.com"},
		{"known, other case and a port", "API.EXAMPLE.COM:8443", named, 200, "api.example.com"},
		{"second name, trailing dot", "gw.example.net.", named, 200, "gw.example.net"},
		{"unknown", "evil.example", named, 421, ""},
		{"IP literal not listed", "127.0.0.1", named, 421, ""},
		{"default accepts any host", "evil.example", anyHost, 200, ""},
	} {
		code, body := tc.en.get(t, "/a/x", http.Header{"Host": {tc.host}, "X-Forwarded-Host": {"spoofed.example"}})
		if code != tc.status {
			t.Errorf("%s: %d %q; want %d", tc.name, code, body, tc.status)
			continue
		}
		if code == 200 && !strings.Contains(body, " xfh="+tc.xfh+" ") {
			t.Errorf("%s: backend got %q; want X-Forwarded-Host %q", tc.name, body, tc.xfh)
		}
		if code == 421 && !strings.Contains(body, `"statusCode":421`) {
			t.Errorf("%s: body %q", tc.name, body)
		}
	}
}

// The backend's response body is received before the response phase
// borrows an instance: a backend trickling its body fails the call with
// 504 at the backend timeout while another API keeps answering; a body
// over ResponseBodyLimit is passed on whole (policies see ErrTooLarge).
func TestResponseBodyReceivedBeforeResponsePhase(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "["+strings.Repeat("1,", 1<<20)+"1]")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for i := 0; i < 30; i++ {
			if _, err := io.WriteString(w, "["); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	defer slow.Close()
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "conv", PathPrefix: "/conv", Backend: slow.URL, BackendTimeout: gateway.Duration(time.Second), Policies: gateway.Policy{Outbound: []gateway.Step{
			step("json-to-xml", `{"apply":"always","consider_accept_header":false,"phase":"response"}`)}}},
		{Name: "open", PathPrefix: "/open", Backend: slow.URL, Policies: gateway.Policy{Outbound: []gateway.Step{{Policy: "json-to-xml",
			Config: []byte(`{"apply":"always","consider_accept_header":false,"phase":"response"}`), FailMode: "open"}}}},
		{Name: "other", PathPrefix: "/other", Policies: gateway.Policy{Inbound: []gateway.Step{
			step("set-header", `{"name":"X-Other","value":"1"}`)}}},
	}}
	en := newEdgeEnv(t, cfg, gateway.Options{ResponseBodyLimit: 1 << 20})
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(en.srv.URL + "/conv/trickle")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		code, _ := en.get(t, "/other/x", nil)
		if d := time.Since(t0); code != 200 || d >= time.Second {
			t.Fatalf("other API during slow backend bodies: %d in %v", code, d)
		}
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusGatewayTimeout {
			t.Errorf("slow backend body %d: %d; want 504", i, c)
		}
	}
	// json-to-xml gets ErrTooLarge (and fails, open): the body the gateway
	// started to read goes to the client whole, prefix and rest.
	resp, err := http.Get(en.srv.URL + "/open/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "[" + strings.Repeat("1,", 1<<20) + "1]"; resp.StatusCode != 200 || string(b) != want {
		t.Fatalf("body over the response limit: %d, %d bytes (want %d unchanged)", resp.StatusCode, len(b), len(want))
	}
	if en.g.BodyMemory() != 0 {
		t.Fatalf("body memory held: %d", en.g.BodyMemory())
	}
}

// A YAML config's edge section replaces the serve flags' edge settings,
// and is parsed (bad values refused by the reload, naming the field).
func TestYAMLEdgeSection(t *testing.T) {
	be := xffBackend(t)
	cfg, err := gateway.ParseYAML([]byte(`
edge:
  trusted_proxies: [127.0.0.1]
  forwarded_header: Forwarded
  hostnames: [yaml.example]
apis:
  - name: a
    path: /a
    backend: ` + be.URL + `
`))
	if err != nil {
		t.Fatal(err)
	}
	en := newEdgeEnv(t, cfg, gateway.Options{Edge: gateway.EdgeConfig{Hostnames: []string{"flag.example"}}})
	if code, _ := en.get(t, "/a/x", http.Header{"Host": {"flag.example"}}); code != http.StatusMisdirectedRequest {
		t.Errorf("flag hostname with a YAML edge section: %d; want 421", code)
	}
	code, body := en.get(t, "/a/x", http.Header{"Host": {"yaml.example"}, "Forwarded": {"for=203.0.113.7"}})
	if code != 200 || body != "xff=203.0.113.7 xfh=yaml.example fwd=" {
		t.Errorf("YAML edge: %d %q", code, body)
	}
	bad, err := gateway.ParseYAML([]byte("edge:\n  trusted_proxies: [10.0.0.0/99]\napis: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, _ := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	defer e.Close(ctx)
	g, _ := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(bad, ""), Logger: quiet})
	defer g.Close()
	if err := g.Reload(ctx); err == nil || !strings.Contains(err.Error(), "trusted proxies[0]") {
		t.Errorf("bad edge section: %v", err)
	}
}

// The node-wide budget for received bodies: a body that would take more
// gets 503, nothing is held after, and smaller bodies pass.
func TestBodyMemoryBudget(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "conv", PathPrefix: "/conv", Policies: gateway.Policy{Inbound: []gateway.Step{
			step("json-to-xml", `{"apply":"always","consider_accept_header":false}`)}}},
	}}
	// 16 KiB: a small request and its response (json-to-xml may read both,
	// 4 KiB each at least) fit; a 40 KB body does not.
	en := newEdgeEnv(t, cfg, gateway.Options{BodyMemory: 16 << 10})
	for _, tc := range []struct {
		body    string
		chunked bool
		status  int
	}{
		{`{"a":1}`, false, 200},
		{`[` + strings.Repeat(`1,`, 20000) + `1]`, false, 503},
		{`[` + strings.Repeat(`1,`, 20000) + `1]`, true, 503},
		{`{"b":2}`, true, 200},
	} {
		var body io.Reader = strings.NewReader(tc.body)
		if tc.chunked {
			body = io.MultiReader(body)
		}
		resp, err := http.Post(en.srv.URL+"/conv/x", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%d-byte body (chunked %v): %d %q; want %d", len(tc.body), tc.chunked, resp.StatusCode, rb, tc.status)
		}
		if en.g.BodyMemory() != 0 {
			t.Errorf("body memory held after a call: %d", en.g.BodyMemory())
		}
	}
}

// BenchmarkEdgeModel is the hot-path cost of the edge model through the
// real built-in module (one set-header): no edge config (the default), and
// trusted proxies with a three-hop X-Forwarded-For plus a hostname list.
func BenchmarkEdgeModel(b *testing.B) {
	builtin := hosttest.Guest(b, "plugins/builtin")
	for _, tc := range []struct {
		name string
		edge gateway.EdgeConfig
		xff  string
	}{
		{"default", gateway.EdgeConfig{}, ""},
		{"proxies+hostnames", gateway.EdgeConfig{TrustedProxies: []string{"192.0.2.0/24", "10.0.0.0/8"}, Hostnames: []string{"example.com", "api.example.com"}}, "6.6.6.6, 203.0.113.7, 10.0.0.9"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			cfg := &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid",
				Policies: gateway.Policy{Inbound: []gateway.Step{step("set-header", `{"name":"X-Bench","value":"1"}`)}}}}}
			g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet,
				Builtin: builtin, BuiltinVersion: "bench", Edge: tc.edge})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			if err := g.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/a/items/1", nil) // from 192.0.2.1, Host example.com
					if tc.xff != "" {
						req.Header.Set("X-Forwarded-For", tc.xff)
					}
					w := httptest.NewRecorder()
					g.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
