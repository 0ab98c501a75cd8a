package main

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/host/edge"
)

// serveTLS serves srv on a loopback port and returns host:port.
func serveTLS(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// The handshake generator against real TLS servers on loopback: the
// baseline's (Go defaults) and the gateway's edge configuration.
func TestHandshakeLoad(t *testing.T) {
	ca := certtest.NewCA("test CA")
	leaf := ca.Issue(certtest.Options{DNSNames: []string{tlsHostname}})
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	bare := serveTLS(t, bareTLSServer(ok, pair))

	ec, err := edge.ParseKeyPair("test", leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certs := &edge.Certs{}
	if err := certs.Set([]*edge.Cert{ec}); err != nil {
		t.Fatal(err)
	}
	esrv := edge.NewServer("", ok, edge.DefaultServerOptions(), log.New(io.Discard, "", 0))
	cfg := edge.TLSConfig(certs)
	edge.RequestClientCerts(cfg, func() bool { return false })
	edge.UseTLS(esrv, cfg)
	edgeAddr := serveTLS(t, esrv)

	opts := func(addr string, resume bool) handshakeOptions {
		return handshakeOptions{addr: addr, sni: tlsHostname, fingerprint: leaf.Fingerprint, concurrency: 4,
			duration: 300 * time.Millisecond, resume: resume}
	}
	for _, c := range []struct {
		name, addr string
	}{{"bare", bare}, {"edge", edgeAddr}} {
		t.Run(c.name+"/full", func(t *testing.T) {
			r, err := handshakeLoad(context.Background(), opts(c.addr, false))
			if err != nil {
				t.Fatal(err)
			}
			if r.Handshakes == 0 || r.Resumed != 0 || r.Errors != 0 {
				t.Fatalf("%+v: want handshakes, none resumed, no errors", r)
			}
			if r.Version != "TLS 1.3" || r.Curve == "" || r.Cipher == "" || r.P50 <= 0 || r.P99 < r.P50 {
				t.Errorf("%+v", r)
			}
			if want := float64(r.Handshakes) / 0.3; r.Rate < want*0.99 || r.Rate > want*1.01 {
				t.Errorf("rate %v, want %v", r.Rate, want)
			}
		})
		t.Run(c.name+"/resumed", func(t *testing.T) {
			r, err := handshakeLoad(context.Background(), opts(c.addr, true))
			if err != nil {
				t.Fatal(err)
			}
			if r.Handshakes == 0 || r.Resumed != r.Handshakes || r.Errors != 0 {
				t.Fatalf("%+v: want every handshake resumed, no errors", r)
			}
		})
	}

	t.Run("another certificate", func(t *testing.T) {
		o := opts(bare, false)
		o.fingerprint = strings.Repeat("ab", 32)
		_, err := handshakeLoad(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), "presented certificate") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = handshakeLoad(context.Background(), opts(addr, false))
		if err == nil || !strings.Contains(err.Error(), "no handshake completed") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no tickets", func(t *testing.T) {
		srv := bareTLSServer(ok, pair)
		srv.TLSConfig.SessionTicketsDisabled = true
		_, err := handshakeLoad(context.Background(), opts(serveTLS(t, srv), true))
		if err == nil || !strings.Contains(err.Error(), "no session ticket") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("tickets not honoured", func(t *testing.T) {
		srv := bareTLSServer(ok, pair)
		// Tickets are sent, but every one offered back is ignored: full
		// handshakes must not pass for resumed ones.
		srv.TLSConfig.UnwrapSession = func([]byte, tls.ConnectionState) (*tls.SessionState, error) { return nil, nil }
		_, err := handshakeLoad(context.Background(), opts(serveTLS(t, srv), true))
		if err == nil || !strings.Contains(err.Error(), "were not resumed") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("curve", func(t *testing.T) {
		o := opts(bare, false)
		o.curve = "p256"
		r, err := handshakeLoad(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Curve != "CurveP256" {
			t.Errorf("curve %q, want CurveP256", r.Curve)
		}
	})
}

func TestHandshakeFlags(t *testing.T) {
	o, err := parseHandshakeFlags([]string{"-addr", "127.0.0.1:1", "-resume", "-curve", "x25519", "-concurrency", "3", "-duration", "2s", "-fingerprint", "ff"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseHandshakeFlags(handshakeArgs(o)[1:])
	if err != nil || back != o {
		t.Fatalf("round trip: %+v %v, want %+v", back, err, o)
	}
	for _, bad := range [][]string{
		{},
		{"-addr", "x:1", "-curve", "p521"},
		{"-addr", "x:1", "-concurrency", "0"},
		{"-addr", "x:1", "-duration", "0s"},
		{"-addr", "x:1", "extra"},
	} {
		if _, err := parseHandshakeFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
