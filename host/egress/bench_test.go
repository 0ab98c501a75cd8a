package egress_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/egress"
)

// BenchmarkTransport prices the dial-time check over loopback: a request
// on a pooled connection (keepalive: the check is not on this path at
// all) and a request on a new connection each time (newconn: one check,
// an IP literal, so no lookup), through a guarded and a plain dialer.
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	g, err := egress.New(egress.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := g.Scope(srv.URL, rule.AllowList{}) // the API's own backend on loopback
	if err != nil {
		b.Fatal(err)
	}
	plain := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	for _, keep := range []bool{true, false} {
		for _, guarded := range []bool{false, true} {
			name := map[bool]string{true: "keepalive", false: "newconn"}[keep] + "/" + map[bool]string{true: "guarded", false: "plain"}[guarded]
			b.Run(name, func(b *testing.B) {
				dial := plain
				if guarded {
					dial = g.DialContext(s, "bench")
				}
				tr := &http.Transport{DialContext: dial, DisableKeepAlives: !keep, MaxIdleConnsPerHost: 4}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					resp, err := c.Get(srv.URL + "/")
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	}
}

// BenchmarkCheck prices the pure checks: a policy's override URL
// (set_field) and one resolved address at dial time.
func BenchmarkCheck(b *testing.B) {
	s, _ := rule.NewScope("http://10.0.0.5:8080", rule.AllowList{})
	b.Run("url", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := s.CheckURL("https://api.example.com/v2"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("addr", func(b *testing.B) {
		ip := netip.MustParseAddr("93.184.216.34")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := s.CheckAddr("api.example.com", "443", ip); err != nil {
				b.Fatal(err)
			}
		}
	})
}
