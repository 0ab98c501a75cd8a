package edge_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/host/edge"
)

// BenchmarkTLSHandshake measures full handshakes (no session resumption,
// a new TCP connection each) against the gateway's edge server — its
// TLSConfig, the SNI pick over 50 certificates (file and catalog alike),
// edge.NewServer — and against a bare Go HTTPS server with one
// certificate and Go's defaults, in the same run, for ECDSA P-256 and RSA
// 2048 leaves. Client and server share the process (and the machine's
// cores): compare the two lines of one key type, not absolute numbers.
// handshakes/s = 1e9 / ns/op.
func BenchmarkTLSHandshake(b *testing.B) {
	ca := certtest.NewCA("Bench CA")
	for _, kt := range []struct {
		name string
		key  func() crypto.Signer
	}{
		{"ECDSA-P256", func() crypto.Signer { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }},
		{"RSA-2048", func() crypto.Signer { return certtest.RSAKey(2048) }},
	} {
		target := ca.Issue(certtest.Options{DNSNames: []string{"api.example.test"}, Key: kt.key()})
		pair, err := edge.ParseKeyPair("bench", target.ChainPEM, target.KeyPEM)
		if err != nil {
			b.Fatal(err)
		}
		// The edge serves 50 names; the target is the last one (worst
		// case for nothing: the pick is a map lookup).
		var set []*edge.Cert
		for i := range 49 {
			p := ca.Issue(certtest.Options{DNSNames: []string{fmt.Sprintf("host%d.example.test", i)}})
			c, err := edge.ParseKeyPair(fmt.Sprintf("catalog h%d", i), p.ChainPEM, p.KeyPEM)
			if err != nil {
				b.Fatal(err)
			}
			set = append(set, c)
		}
		set = append(set, pair)
		certs := &edge.Certs{}
		if err := certs.Set(set); err != nil {
			b.Fatal(err)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
		quiet := log.New(io.Discard, "", 0)
		servers := []struct {
			name string
			srv  func() *http.Server
		}{
			{"edge", func() *http.Server {
				srv := edge.NewServer("", h, edge.DefaultServerOptions(), quiet)
				edge.UseTLS(srv, edge.TLSConfig(certs))
				return srv
			}},
			{"bare", func() *http.Server {
				return &http.Server{Handler: h, ErrorLog: quiet, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair.TLS}}}
			}},
		}
		for _, sv := range servers {
			b.Run(kt.name+"/"+sv.name, func(b *testing.B) {
				srv := sv.srv()
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				go srv.ServeTLS(ln, "", "")
				defer srv.Close()
				cfg := &tls.Config{ServerName: "api.example.test", RootCAs: ca.Pool, NextProtos: []string{"h2", "http/1.1"}}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					conn, err := tls.Dial("tcp", ln.Addr().String(), cfg)
					if err != nil {
						b.Fatal(err)
					}
					if got := conn.ConnectionState().PeerCertificates[0]; certtest.FingerprintOf(got) != target.Fingerprint {
						b.Fatal("wrong certificate")
					}
					conn.Close()
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			})
		}
	}
}
