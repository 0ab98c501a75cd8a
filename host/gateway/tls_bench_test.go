package gateway_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// BenchmarkEdgeTLS measures the TLS edge next to a bare
// httputil.ReverseProxy behind the same listener and TLS configuration
// (edge.TLSConfig, one ECDSA P-256 certificate), both proxying to the
// same loopback HTTP/1.1 backend, no policy:
//
//   - handshake: a new TLS connection per request (keep-alives off), so
//     ns/op is the cost of one full handshake plus one request;
//   - h2: HTTP/2 over one TLS connection, requests in parallel streams.
//
// Run: go test -run '^$' -bench EdgeTLS -benchtime 3s ./host/gateway/
func BenchmarkEdgeTLS(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	cert := newCertPair(b, "gw.test")
	g := staticGateway(b, gateway.API{Name: "a", PathPrefix: "/a", Backend: backend.URL,
		Operations: []gateway.Operation{{ID: "get", Method: "GET", Template: "/x"}}})
	bu, _ := url.Parse(backend.URL)
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(bu)
		pr.Out.URL.Path = "/x"
	}, Transport: gateway.NewTransport()}

	for _, target := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"gateway", edge.GRPCErrors(g, nil)}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := edge.NewServer("", target.h, edge.ServerOptions{}, quietLog())
		var certs edge.Certs
		c, err := edge.ParseKeyPair("bench", cert.certPEM, cert.keyPEM)
		if err != nil {
			b.Fatal(err)
		}
		_ = certs.Set([]*edge.Cert{c})
		edge.UseTLS(srv, edge.TLSConfig(&certs))
		go srv.ServeTLS(ln, "", "")
		u := "https://" + ln.Addr().String() + "/a/x"
		tcfg := &tls.Config{ServerName: "gw.test", RootCAs: cert.pool}

		b.Run("handshake/"+target.name, func(b *testing.B) {
			tr := &http.Transport{TLSClientConfig: tcfg, DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			b.ReportAllocs()
			for b.Loop() {
				fetch(b, cl, u)
			}
		})
		b.Run("h2/"+target.name, func(b *testing.B) {
			tr := &http.Transport{TLSClientConfig: tcfg, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			if resp, err := cl.Get(u); err != nil || resp.Proto != "HTTP/2.0" {
				b.Fatalf("not HTTP/2: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					fetch(b, cl, u)
				}
			})
		})
		srv.Close()
	}
}

// staticGateway is a gateway serving apis (no policy module), loaded,
// closed with its engine when tb ends.
func staticGateway(tb testing.TB, apis ...gateway.API) *gateway.Gateway {
	tb.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(&gateway.Config{APIs: apis}, ""), Logger: quiet})
	if err != nil {
		e.Close(ctx)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		g.Close()
		e.Close(ctx)
	})
	if err := g.Reload(ctx); err != nil {
		tb.Fatal(err)
	}
	return g
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func fetch(b *testing.B, cl *http.Client, u string) {
	resp, err := cl.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkBackendTLSNewConnection: one request through the gateway (no
// policy) to a TLS backend that closes every connection after its answer,
// so that each request dials and handshakes with the backend — resumed
// with the transport's session cache (after the first), which the
// "resumed" metric reports per request. The client's side is plain HTTP
// with keep-alive.
//
// Run: go test -run '^$' -bench BackendTLSNewConnection -benchtime 2000x ./host/gateway/
func BenchmarkBackendTLSNewConnection(b *testing.B) {
	serverCert := newCertPair(b, "backend.internal")
	var resumed, total atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		if r.TLS.DidResume {
			resumed.Add(1)
		}
		w.Header().Set("Connection", "close")
		io.WriteString(w, "ok")
	}))
	backend.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert.tls}}
	backend.StartTLS()
	defer backend.Close()
	g := staticGateway(b, gateway.API{Name: "a", PathPrefix: "/a", Backend: backend.URL,
		Operations: []gateway.Operation{{ID: "get", Method: "GET", Template: "/x"}},
		BackendTLS: &gateway.BackendTLS{CAPEM: serverCert.caPEM, ServerName: "backend.internal"}})
	front := httptest.NewServer(g)
	defer front.Close()
	cl := front.Client()
	fetch(b, cl, front.URL+"/a/x")
	resumed.Store(0)
	total.Store(0)
	b.ResetTimer()
	for range b.N {
		fetch(b, cl, front.URL+"/a/x")
	}
	b.StopTimer()
	b.ReportMetric(float64(resumed.Load())/float64(total.Load()), "resumed")
}
