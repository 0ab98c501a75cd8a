package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/edge"
)

// Backend protocols and TLS per API (docs/tls.md "Backends").

// Backend protocols (API.BackendProtocol).
const (
	// BackendHTTP1 (the default, also ""): HTTP/1.1, over TLS for https.
	BackendHTTP1 = "http1"
	// BackendH2 is HTTP/2 over TLS, negotiated by ALPN: an https backend
	// only. gRPC backends behind TLS use it.
	BackendH2 = "h2"
	// BackendH2C is unencrypted HTTP/2 with prior knowledge: an http
	// backend only (gRPC servers without TLS).
	BackendH2C = "h2c"
)

// BackendTLS is how the gateway connects to an API's https backend. The
// same settings apply to a backend a policy sets (within the API's egress
// rules), except ServerName, which applies to the API's own backend host
// only.
type BackendTLS struct {
	// CAFile is a PEM bundle of the CAs that may sign the backend's
	// certificate; it replaces the system roots. Empty: system roots.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// ClientCertFile and ClientKeyFile are the PEM certificate chain and
	// key the gateway presents to backends that ask (mTLS).
	ClientCertFile string `yaml:"client_cert_file" json:"client_cert_file,omitempty"`
	ClientKeyFile  string `yaml:"client_key_file" json:"client_key_file,omitempty"`
	// ServerName is sent as SNI and verified against the backend's
	// certificate instead of the backend URL's host.
	ServerName string `yaml:"server_name" json:"server_name,omitempty"`
	// MinVersion is "1.2" (the default) or "1.3".
	MinVersion string `yaml:"min_version" json:"min_version,omitempty"`

	// The same material in memory (the catalog's source fills these);
	// they take precedence over the files.
	CAPEM         []byte `yaml:"-" json:"-"`
	ClientCertPEM []byte `yaml:"-" json:"-"`
	ClientKeyPEM  []byte `yaml:"-" json:"-"`
}

// resolvePaths makes the relative file names absolute against dir (the
// YAML file's directory).
func (b *BackendTLS) resolvePaths(dir string) {
	for _, p := range []*string{&b.CAFile, &b.ClientCertFile, &b.ClientKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
}

// resolveBackendTLSPaths resolves every API's backend TLS and client CA files against
// the YAML file's directory.
func resolveBackendTLSPaths(c *Config, dir string) {
	for i := range c.APIs {
		if b := c.APIs[i].BackendTLS; b != nil {
			b.resolvePaths(dir)
		}
		if cc := c.APIs[i].ClientCertificate; cc != nil && cc.CAFile != "" && !filepath.IsAbs(cc.CAFile) && dir != "" {
			cc.CAFile = filepath.Join(dir, cc.CAFile)
		}
	}
}

// checkBackend validates the protocol and TLS settings against the
// backend URL's scheme (no file access: that happens at build).
func (a *API) checkBackend(add func(path, format string, args ...any), p string) {
	scheme := ""
	if i := strings.Index(a.Backend, "://"); i > 0 {
		scheme = strings.ToLower(a.Backend[:i])
	}
	switch a.BackendProtocol {
	case "", BackendHTTP1:
	case BackendH2:
		if scheme != "https" {
			add(p+".backend_protocol", "h2 is HTTP/2 over TLS and needs an https backend; use h2c for a plain-text HTTP/2 backend")
		}
	case BackendH2C:
		if scheme != "http" {
			add(p+".backend_protocol", "h2c is HTTP/2 without TLS and needs an http backend; use h2 for an https backend")
		}
	default:
		add(p+".backend_protocol", "must be http1, h2 or h2c (got %q)", a.BackendProtocol)
	}
	b := a.BackendTLS
	if b == nil {
		return
	}
	if scheme != "https" {
		add(p+".backend_tls", "applies to https backends only (backend is %s)", scheme)
	}
	switch b.MinVersion {
	case "", "1.2", "1.3":
	default:
		add(p+".backend_tls.min_version", "must be 1.2 or 1.3 (got %q)", b.MinVersion)
	}
	if (b.ClientCertFile == "") != (b.ClientKeyFile == "") {
		add(p+".backend_tls", "client_cert_file and client_key_file come together")
	}
	if b.ServerName != "" && strings.ContainsAny(b.ServerName, ":/ \t") {
		add(p+".backend_tls.server_name", "must be a host name (no port, scheme or spaces)")
	}
}

// backendConfig is an API's resolved backend connection settings.
type backendConfig struct {
	tls        *tls.Config // nil: transport defaults
	serverName string      // SNI override for ownHost
	ownHost    string      // the API's own backend host (lower case)
	protocol   string
	key        string // identifies the settings in the transport cache
}

// backendSettings loads the API's CA bundle and client certificate and
// builds its TLS client configuration. Errors name the API field.
func (a *API) backendSettings() (*backendConfig, error) {
	bc := &backendConfig{protocol: a.BackendProtocol}
	if bc.protocol == "" {
		bc.protocol = BackendHTTP1
	}
	h := sha256.New()
	fmt.Fprintf(h, "proto=%s\x00", bc.protocol)
	b := a.BackendTLS
	if b == nil {
		bc.key = hex.EncodeToString(h.Sum(nil))
		return bc, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.MinVersion == "1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	ca := b.CAPEM
	if ca == nil && b.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(b.CAFile); err != nil {
			return nil, fmt.Errorf("backend_tls.ca_file: %w", err)
		}
	}
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("backend_tls: the CA bundle holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	cp, kp := b.ClientCertPEM, b.ClientKeyPEM
	if cp == nil && b.ClientCertFile != "" {
		var err error
		if cp, err = os.ReadFile(b.ClientCertFile); err != nil {
			return nil, fmt.Errorf("backend_tls.client_cert_file: %w", err)
		}
		if kp, err = os.ReadFile(b.ClientKeyFile); err != nil {
			return nil, fmt.Errorf("backend_tls.client_key_file: %w", err)
		}
	}
	if cp != nil {
		c, err := edge.ParseKeyPair("backend_tls client certificate", cp, kp)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c.TLS}
	}
	switch bc.protocol {
	case BackendH2:
		cfg.NextProtos = []string{"h2"}
	default:
		cfg.NextProtos = []string{"http/1.1"}
	}
	bc.tls = cfg
	if b.ServerName != "" {
		bc.serverName = strings.ToLower(b.ServerName)
		if u, err := rule.ParseBackend(a.Backend); err == nil {
			bc.ownHost = u.Hostname()
		}
	}
	fmt.Fprintf(h, "min=%s\x00sni=%s\x00ca=%x\x00cert=%x\x00key=%x\x00", b.MinVersion, b.ServerName, sha256.Sum256(ca), sha256.Sum256(cp), sha256.Sum256(kp))
	bc.key = hex.EncodeToString(h.Sum(nil))
	return bc, nil
}

// configure sets up t (whose DialContext already dials through the API's
// egress scope) for the API's backend protocol and TLS settings.
func (bc *backendConfig) configure(t *http.Transport) {
	p := new(http.Protocols)
	switch bc.protocol {
	case BackendH2:
		p.SetHTTP2(true)
	case BackendH2C:
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	t.Protocols = p
	// TLS sessions are resumed on new connections to the backend (as
	// nginx's proxy_ssl_session_reuse): an abbreviated handshake instead
	// of a full one whenever the pool opens a connection. One cache per
	// transport, which is per API and TLS settings, so that a session
	// made with one API's client certificate is never offered for
	// another API (the server would take it as that certificate).
	cfg := &tls.Config{}
	if bc.tls != nil {
		cfg = bc.tls.Clone()
	}
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	t.TLSClientConfig = cfg
	if bc.tls == nil || bc.serverName == "" {
		return
	}
	// The SNI override applies to the API's own backend host only; a
	// backend a policy sets is verified under its own name.
	dial := t.DialContext
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		c := cfg.Clone() // the transport's session cache included
		c.ServerName = host
		if strings.EqualFold(host, bc.ownHost) {
			c.ServerName = bc.serverName
		}
		tc := tls.Client(conn, c)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}
