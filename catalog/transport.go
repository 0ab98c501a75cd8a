package catalog

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// Transport settings of an API (docs/tls.md "Catalog APIs"): how the
// gateway talks to the backend (protocol, TLS, client certificate for
// mTLS), which client certificates callers must present, and the limits of
// WebSocket connections. They are the catalog form of the YAML config's
// backend_protocol, backend_tls, client_certificate and websocket; the
// catalog source maps them onto the same gateway fields.
//
// The backend client key is never stored with the API: BackendTLS names a
// secret named value that holds it (sealed at rest like every secret), and
// answers, exports and the audit log only ever carry that name.

// Backend protocols of APITransport.BackendProtocol.
const (
	ProtocolHTTP1 = "http1" // the default
	ProtocolH2    = "h2"    // HTTP/2 over TLS (https backends)
	ProtocolH2C   = "h2c"   // HTTP/2 without TLS, prior knowledge (http backends)
	ProtocolGRPC  = "grpc"  // gRPC over TLS: h2, named for what it carries (https backends)
)

// Bounds of the transport settings.
const (
	MaxTransportPEM     = 256 << 10 // bytes of one PEM field
	MaxThumbprints      = 100
	MinWebSocketLimit   = time.Second
	MaxWebSocketIdle    = 24 * time.Hour
	MaxWebSocketSession = 7 * 24 * time.Hour
)

// APITransport is embedded in API: its fields appear at the API's top
// level in JSON (backendProtocol, backendTls, clientCertificate,
// websocket).
type APITransport struct {
	// BackendProtocol is http1 (default), h2, h2c or grpc.
	BackendProtocol string `json:"backendProtocol,omitempty" yaml:"backendProtocol,omitempty"`
	// BackendTLS applies to https backends.
	BackendTLS *BackendTLS `json:"backendTls,omitempty" yaml:"backendTls,omitempty"`
	// ClientCertificate makes every call of the API present an accepted
	// client certificate (APIM's validate-client-certificate).
	ClientCertificate *ClientCertificate `json:"clientCertificate,omitempty" yaml:"clientCertificate,omitempty"`
	// WebSocket limits the API's WebSocket connections.
	WebSocket *WebSocketLimits `json:"websocket,omitempty" yaml:"websocket,omitempty"`
}

// BackendTLS is how the gateway connects to an API's https backend.
type BackendTLS struct {
	// CAPEM is a PEM bundle of the CAs that may sign the backend's
	// certificate; it replaces the system roots.
	CAPEM string `json:"caPem,omitempty" yaml:"caPem,omitempty"`
	// ClientCertPEM is the PEM certificate chain the gateway presents to
	// a backend that asks (mTLS); it comes with ClientKeyNamedValue.
	ClientCertPEM string `json:"clientCertPem,omitempty" yaml:"clientCertPem,omitempty"`
	// ClientKeyNamedValue is the name of a secret named value holding the
	// PEM private key of ClientCertPEM.
	ClientKeyNamedValue string `json:"clientKeyNamedValue,omitempty" yaml:"clientKeyNamedValue,omitempty"`
	// ServerName is sent as SNI and verified instead of the backend URL's
	// host (the API's own backend host only).
	ServerName string `json:"serverName,omitempty" yaml:"serverName,omitempty"`
	// MinVersion is "1.2" (the default) or "1.3".
	MinVersion string `json:"minVersion,omitempty" yaml:"minVersion,omitempty"`
	// InsecureSkipVerify exists only to be refused with a reason: the
	// gateway always verifies its backends (give the private CA in CAPEM).
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty" yaml:"insecureSkipVerify,omitempty"`
}

// ClientCertificate is an API's client-certificate rule: the caller's
// chain must verify to CAPEM and/or its leaf be one of Thumbprints.
type ClientCertificate struct {
	CAPEM       string   `json:"caPem,omitempty" yaml:"caPem,omitempty"`
	Thumbprints []string `json:"thumbprints,omitempty" yaml:"thumbprints,omitempty"`
}

// WebSocketLimits are Go durations ("90s", "1h"); empty means the
// gateway's default (2m idle, 1h maximum).
type WebSocketLimits struct {
	IdleTimeout string `json:"idleTimeout,omitempty" yaml:"idleTimeout,omitempty"`
	MaxDuration string `json:"maxDuration,omitempty" yaml:"maxDuration,omitempty"`
}

// IsZero reports whether no transport setting is given.
func (t *APITransport) IsZero() bool {
	return t.BackendProtocol == "" && t.BackendTLS == nil && t.ClientCertificate == nil && t.WebSocket == nil
}

// Durations returns the parsed limits (0 for an empty one). Call Validate
// first; an unparsable value is 0.
func (w *WebSocketLimits) Durations() (idle, maxDur time.Duration) {
	idle, _ = time.ParseDuration(w.IdleTimeout)
	maxDur, _ = time.ParseDuration(w.MaxDuration)
	return idle, maxDur
}

// ValidateTransport checks the transport settings of an API whose backend
// is backendURL, without the catalog: that the client key names an
// existing secret named value matching the certificate is the store's
// check (CheckClientKey). Errors are *FieldError with the JSON path.
func (t *APITransport) ValidateTransport(backendURL string) error {
	scheme := ""
	if i := strings.Index(backendURL, "://"); i > 0 {
		scheme = strings.ToLower(backendURL[:i])
	}
	switch t.BackendProtocol {
	case "", ProtocolHTTP1:
	case ProtocolH2, ProtocolGRPC:
		if scheme != "https" {
			return fieldErr("backendProtocol", "%s is HTTP/2 over TLS and needs an https backend; for a plain-text HTTP/2 or gRPC server use h2c", t.BackendProtocol)
		}
	case ProtocolH2C:
		if scheme != "http" {
			return fieldErr("backendProtocol", "h2c is HTTP/2 without TLS and needs an http backend; use h2 or grpc for an https backend")
		}
	default:
		return fieldErr("backendProtocol", "must be http1, h2, h2c or grpc")
	}
	if b := t.BackendTLS; b != nil {
		if err := b.validate(scheme); err != nil {
			return err
		}
	}
	if c := t.ClientCertificate; c != nil {
		if err := c.validate(); err != nil {
			return err
		}
	}
	if w := t.WebSocket; w != nil {
		if err := w.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (b *BackendTLS) validate(scheme string) error {
	if b.InsecureSkipVerify {
		return fieldErr("backendTls.insecureSkipVerify", "not supported: the gateway always verifies its backends' certificates (a switch to skip it would let anyone on the path read and change the traffic); give the backend's private CA in caPem, or its name in serverName")
	}
	if scheme != "https" {
		return fieldErr("backendTls", "applies to https backends only (the backend URL is %s)", scheme)
	}
	if b.CAPEM != "" {
		if _, err := ParseCertificatesPEM(b.CAPEM); err != nil {
			return fieldErr("backendTls.caPem", "%v", err)
		}
	}
	if (b.ClientCertPEM == "") != (b.ClientKeyNamedValue == "") {
		return fieldErr("backendTls", "clientCertPem and clientKeyNamedValue come together")
	}
	if b.ClientCertPEM != "" {
		if _, err := ParseCertificatesPEM(b.ClientCertPEM); err != nil {
			return fieldErr("backendTls.clientCertPem", "%v", err)
		}
	}
	if n := b.ClientKeyNamedValue; n != "" {
		if strings.Contains(n, "{{") {
			return fieldErr("backendTls.clientKeyNamedValue", "is the name of a secret named value, without {{ }}")
		}
		if err := ValidateName("backendTls.clientKeyNamedValue", n); err != nil {
			return err
		}
	}
	if sn := b.ServerName; sn != "" {
		if len(sn) > 253 || strings.ContainsAny(sn, ":/ \t\r\n[]@") || strings.Trim(sn, ".") != sn {
			return fieldErr("backendTls.serverName", "must be a host name (no port, scheme or spaces)")
		}
	}
	switch b.MinVersion {
	case "", "1.2", "1.3":
	default:
		return fieldErr("backendTls.minVersion", "must be 1.2 or 1.3 (older TLS versions are refused)")
	}
	return nil
}

func (c *ClientCertificate) validate() error {
	if c.CAPEM == "" && len(c.Thumbprints) == 0 {
		return fieldErr("clientCertificate", "needs caPem or thumbprints")
	}
	if c.CAPEM != "" {
		if _, err := ParseCertificatesPEM(c.CAPEM); err != nil {
			return fieldErr("clientCertificate.caPem", "%v", err)
		}
	}
	if len(c.Thumbprints) > MaxThumbprints {
		return fieldErr("clientCertificate.thumbprints", "at most %d", MaxThumbprints)
	}
	for i, t := range c.Thumbprints {
		t = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(t), ":", ""))
		if len(t) != 64 || strings.Trim(t, "0123456789abcdef") != "" {
			return fieldErr(fmt.Sprintf("clientCertificate.thumbprints[%d]", i), "not a hex SHA-256 fingerprint (64 hex digits)")
		}
	}
	return nil
}

func (w *WebSocketLimits) validate() error {
	check := func(path, v string, most time.Duration) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || len(v) > 32 {
			return 0, fieldErr(path, "must be a duration such as 90s or 30m")
		}
		if d < MinWebSocketLimit || d > most {
			return 0, fieldErr(path, "must be between %s and %s", MinWebSocketLimit, most)
		}
		return d, nil
	}
	idle, err := check("websocket.idleTimeout", w.IdleTimeout, MaxWebSocketIdle)
	if err != nil {
		return err
	}
	maxDur, err := check("websocket.maxDuration", w.MaxDuration, MaxWebSocketSession)
	if err != nil {
		return err
	}
	if idle > 0 && maxDur > 0 && idle > maxDur {
		return fieldErr("websocket.idleTimeout", "is longer than maxDuration")
	}
	return nil
}

// ParseCertificatesPEM parses a PEM bundle that must hold only
// certificates (at least one): a private key, another block or text that
// is not PEM is refused, without quoting the input.
func ParseCertificatesPEM(s string) ([]*x509.Certificate, error) {
	if len(s) > MaxTransportPEM {
		return nil, fmt.Errorf("larger than %d KiB", MaxTransportPEM>>10)
	}
	rest := []byte(s)
	var out []*x509.Certificate
	for {
		rest = bytes.TrimSpace(rest)
		if len(rest) == 0 {
			break
		}
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("not PEM (after %d certificates)", len(out))
		}
		if strings.Contains(blk.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("holds a private key: a key belongs in a secret named value, never in a certificate field")
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", len(out)+1, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse", len(out)+1)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("holds no PEM certificate")
	}
	return out, nil
}

// CheckClientKey checks that keyPEM (a secret named value's value) is the
// PEM private key of certPEM's first certificate. The error never quotes
// the key.
func CheckClientKey(certPEM, keyPEM string) error {
	blk, _ := pem.Decode([]byte(keyPEM))
	if blk == nil || !strings.HasSuffix(blk.Type, "PRIVATE KEY") {
		return fieldErr("backendTls.clientKeyNamedValue", "the named value does not hold a PEM private key")
	}
	if x509.IsEncryptedPEMBlock(blk) { //nolint:staticcheck // detecting legacy encrypted keys to refuse them
		return fieldErr("backendTls.clientKeyNamedValue", "the key is encrypted; store it unencrypted in the secret named value (which is sealed at rest)")
	}
	if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		return fieldErr("backendTls.clientKeyNamedValue", "the key does not match clientCertPem (or does not parse)")
	}
	return nil
}
