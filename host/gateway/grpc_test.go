package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/metrics"
)

// rawCodec moves gRPC messages as raw bytes, so the echo service needs no
// generated protobuf code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string                   { return "raw" }
func callOpts() []grpc.CallOption               { return []grpc.CallOption{grpc.ForceCodec(rawCodec{})} }
func metaFirst(md metadata.MD, k string) string { return first(md.Get(k)) }

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// echoService: Unary echoes (and reports the x-checked metadata the
// gateway's policy set); "fail:" messages end with NOT_FOUND; Server sends
// the message back n times; Bidi echoes every message as it arrives.
var echoService = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if msg, ok := strings.CutPrefix(string(in), "fail:"); ok {
			return nil, status.Error(codes.NotFound, msg)
		}
		grpc.SetTrailer(ctx, metadata.Pairs("x-echo-trailer", "t1"))
		out := []byte(string(in) + " checked=" + metaFirst(md, "x-checked"))
		return &out, nil
	}}},
	Streams: []grpc.StreamDesc{
		{StreamName: "Server", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			var in []byte
			if err := st.RecvMsg(&in); err != nil {
				return err
			}
			for i := 0; i < 5; i++ {
				out := []byte(string(in) + "#" + string(rune('0'+i)))
				if err := st.SendMsg(&out); err != nil {
					return err
				}
			}
			return nil
		}},
		{StreamName: "Bidi", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			for {
				var in []byte
				if err := st.RecvMsg(&in); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				}
				out := append([]byte("echo:"), in...)
				if err := st.SendMsg(&out); err != nil {
					return err
				}
			}
		}},
	},
}

// grpcBackend starts the echo service on loopback, over TLS when cert is
// set (ALPN h2), else plain-text HTTP/2 (h2c). It returns the address.
func grpcBackend(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	s := grpc.NewServer(append(opts, grpc.ForceServerCodec(rawCodec{}))...)
	s.RegisterService(&echoService, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// certPair is a throwaway CA and a certificate it signed for 127.0.0.1
// and names.
type certPair struct {
	caPEM, certPEM, keyPEM []byte
	pool                   *x509.CertPool
	tls                    tls.Certificate
	ca                     *x509.Certificate
	caKey                  *ecdsa.PrivateKey
}

func newCertPair(t testing.TB, names ...string) *certPair {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	p := &certPair{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool(), ca: ca, caKey: caKey}
	p.pool.AddCert(ca)
	p.certPEM, p.keyPEM, p.tls = p.issue(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), names...)
	return p
}

// issue signs another certificate with the pair's CA, valid from nb to na.
func (p *certPair) issue(t testing.TB, nb, na time.Time, names ...string) (certPEM, keyPEM []byte, c tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lt := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: first(names)}, DNSNames: names,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, lt, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if c, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, c
}

func (p *certPair) writeFiles(t testing.TB) (ca, cert, key string) {
	dir := t.TempDir()
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string][]byte{ca: p.caPEM, cert: p.certPEM, key: p.keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

// edgeGateway serves cfg through a real gateway behind the edge's
// listener: TLS with HTTP/2 when cert is set, else h2c. The gateway's
// answers to gRPC calls go through edge.GRPCErrors, as in serve.
func edgeGateway(t *testing.T, cfg *gateway.Config, cert *certPair, met *metrics.Metrics) (addr string, g *gateway.Gateway) {
	t.Helper()
	ctx := context.Background()
	svc := &engine.Services{}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	g, err = gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), PollInterval: 20 * time.Millisecond,
		Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var observe func(int)
	if met != nil {
		observe = met.GRPCObserver()
	}
	srv := edge.NewServer("", edge.GRPCErrors(g, observe), edge.ServerOptions{}, nil)
	if cert != nil {
		var certs edge.Certs
		c, err := edge.ParseKeyPair("test", cert.certPEM, cert.keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		_ = certs.Set([]*edge.Cert{c})
		edge.UseTLS(srv, edge.TLSConfig(&certs))
		go srv.ServeTLS(ln, "", "")
	} else {
		edge.AllowH2C(srv)
		go srv.Serve(ln)
	}
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	return ln.Addr().String(), g
}

// grpcConfig is the echo API behind a real built-in chain: subscription
// key (the Denied method is called without one), a request header for the
// backend, a response header for the client.
func grpcConfig(backend, protocol string) *gateway.Config {
	return &gateway.Config{APIs: []gateway.API{{
		Name: "echo", PathPrefix: "/test.Echo", Backend: backend + "/test.Echo", BackendProtocol: protocol,
		Policies: gateway.Policy{Inbound: []gateway.Step{
			{Policy: "subscription-key"},
			{Policy: "set-header", Config: []byte(`{"name":"X-Checked","value":"yes"}`)},
		}, Outbound: []gateway.Step{{Policy: "set-header", Config: []byte(`{"name":"X-Gw","value":"1","phase":"response"}`)}}},
		Operations: []gateway.Operation{{ID: "any", Method: "POST", Template: "/{method}"}},
	}}, Subscriptions: []gateway.StaticSubscription{{ID: "s1", Key: grpcKey, Product: "gold", User: "u1"}}}
}

const grpcKey = "grpc-key-0123456789abcdef"

// keyed adds the subscription key to a call's metadata.
func keyed(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "ocp-apim-subscription-key", grpcKey)
}

func exerciseGRPC(t *testing.T, conn *grpc.ClientConn) {
	bare, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx := keyed(bare)

	// Unary, with headers and trailers both ways.
	in, out := []byte("hello"), []byte(nil)
	var hdr, trl metadata.MD
	if err := conn.Invoke(ctx, "/test.Echo/Unary", &in, &out, append(callOpts(), grpc.Header(&hdr), grpc.Trailer(&trl))...); err != nil {
		t.Fatalf("unary: %v", err)
	}
	if string(out) != "hello checked=yes" {
		t.Errorf("unary: %q (the inbound policy's header must reach the backend)", out)
	}
	if first(hdr.Get("x-gw")) != "1" || first(trl.Get("x-echo-trailer")) != "t1" {
		t.Errorf("unary: header %v trailer %v, want x-gw from the outbound policy and the backend's trailer", hdr, trl)
	}

	// The backend's error status and message arrive in the trailers.
	in = []byte("fail:no such thing")
	err := conn.Invoke(ctx, "/test.Echo/Unary", &in, &out, callOpts()...)
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "no such thing" {
		t.Errorf("backend error: %v, want NotFound \"no such thing\"", err)
	}

	// The subscription-key policy's 401 is UNAUTHENTICATED with the
	// policy's message.
	in = []byte("x")
	err = conn.Invoke(bare, "/test.Echo/Unary", &in, &out, callOpts()...)
	if st, _ := status.FromError(err); st.Code() != codes.Unauthenticated || !strings.HasPrefix(st.Message(), "Access denied due to missing subscription key") {
		t.Errorf("denied: %v, want Unauthenticated naming the subscription key", err)
	}
	// No route: UNIMPLEMENTED.
	err = conn.Invoke(ctx, "/other.Service/X", &in, &out, callOpts()...)
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented {
		t.Errorf("no route: %v, want Unimplemented", err)
	}

	// Server streaming: five messages, in order.
	st, err := conn.NewStream(ctx, &echoService.Streams[0], "/test.Echo/Server", callOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("s")
	if err := st.SendMsg(&msg); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	var got []string
	for {
		var m []byte
		if err := st.RecvMsg(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("server stream: %v", err)
		}
		got = append(got, string(m))
	}
	if strings.Join(got, ",") != "s#0,s#1,s#2,s#3,s#4" {
		t.Errorf("server stream: %v", got)
	}

	// Bidirectional: each reply must arrive before the next message is
	// sent, so nothing in between may buffer either direction.
	bs, err := conn.NewStream(ctx, &echoService.Streams[1], "/test.Echo/Bidi", callOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m := []byte{byte('a' + i)}
		if err := bs.SendMsg(&m); err != nil {
			t.Fatal(err)
		}
		var r []byte
		if err := bs.RecvMsg(&r); err != nil || string(r) != "echo:"+string(m) {
			t.Fatalf("bidi %d: %q %v", i, r, err)
		}
	}
	bs.CloseSend()
	var r []byte
	if err := bs.RecvMsg(&r); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi end: %v", err)
	}
}

// TestGRPCThroughTLSGatewayToH2CBackend: client → gateway over TLS (ALPN
// h2) → h2c backend.
func TestGRPCThroughTLSGatewayToH2CBackend(t *testing.T) {
	be := grpcBackend(t, nil)
	cert := newCertPair(t, "gw.test")
	met := metrics.New()
	addr, _ := edgeGateway(t, grpcConfig("http://"+be, gateway.BackendH2C), cert, met)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: "gw.test", RootCAs: cert.pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exerciseGRPC(t, conn)
	// The grpc_status series count every call by its final status:
	// unary + server stream + bidi OK, the backend's NOT_FOUND, the
	// policy's UNAUTHENTICATED, no route's UNIMPLEMENTED.
	rec := httptest.NewRecorder()
	met.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range []string{`gatehouse_grpc_calls_total{api="",grpc_status="0"} 3`, `gatehouse_grpc_calls_total{api="",grpc_status="5"} 1`,
		`gatehouse_grpc_calls_total{api="",grpc_status="16"} 1`, `gatehouse_grpc_calls_total{api="",grpc_status="12"} 1`} {
		if !strings.Contains(rec.Body.String(), line+"\n") {
			t.Errorf("metrics lack %s:\n%s", line, grepLines(rec.Body.String(), "grpc_calls"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestGRPCThroughH2CGatewayToTLSBackend: client → gateway over h2c →
// backend over TLS with ALPN h2, verified against the API's CA bundle.
func TestGRPCThroughH2CGatewayToTLSBackend(t *testing.T) {
	bc := newCertPair(t, "grpc.backend.test")
	be := grpcBackend(t, &bc.tls)
	ca, _, _ := bc.writeFiles(t)
	cfg := grpcConfig("https://"+be, gateway.BackendH2)
	cfg.APIs[0].BackendTLS = &gateway.BackendTLS{CAFile: ca}
	addr, _ := edgeGateway(t, cfg, nil, nil)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exerciseGRPC(t, conn)
}

// TestGRPCWithoutHTTP2ToBackendFails: a gRPC backend reached over
// HTTP/1.1 (the default protocol) cannot answer; the client gets
// UNAVAILABLE, not a hang.
func TestGRPCWithoutHTTP2ToBackendFails(t *testing.T) {
	be := grpcBackend(t, nil)
	addr, _ := edgeGateway(t, grpcConfig("http://"+be, ""), nil, nil)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in, out := []byte("x"), []byte(nil)
	err = conn.Invoke(keyed(ctx), "/test.Echo/Unary", &in, &out, callOpts()...)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable {
		t.Fatalf("http1 to a gRPC backend: %v, want Unavailable", err)
	}
}
