package edge

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// TLS at the edge (docs/tls.md). Certificates come from files
// (--tls-cert/--tls-key) and from the catalog; a [Certs] holds the current
// set, swapped atomically on reload, and picks one per handshake by the
// client's SNI name. The first certificate is the default for clients that
// send no name or a name no certificate covers.

// ErrBadCertificate wraps every reason a certificate and key pair is
// refused. The message names the reason, never key material.
var ErrBadCertificate = errors.New("bad certificate")

// Cert is one parsed certificate chain with its private key.
type Cert struct {
	// Name says where it came from ("file cert.pem", "catalog www").
	Name string
	// Leaf is the parsed first certificate of the chain.
	Leaf *x509.Certificate
	// TLS is the chain and key, ready to serve.
	TLS tls.Certificate
}

// Thumbprint is the hex SHA-256 of the leaf certificate (DER).
func (c *Cert) Thumbprint() string { return Thumbprint(c.Leaf) }

// Thumbprint is the lower-case hex SHA-256 of a certificate's DER bytes.
func Thumbprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// Expired reports whether the leaf is outside its validity at now.
func (c *Cert) Expired(now time.Time) bool {
	return now.After(c.Leaf.NotAfter) || now.Before(c.Leaf.NotBefore)
}

// ParseKeyPair parses a PEM certificate chain and a PEM private key and
// checks that they belong together. Every refusal wraps ErrBadCertificate
// with a reason a user can act on: no PEM at all, a password-protected
// key, a key that does not match the certificate. Expiry is not checked
// here (the caller decides: see Cert.Expired).
func ParseKeyPair(name string, certPEM, keyPEM []byte) (*Cert, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadCertificate, name, fmt.Sprintf(format, a...))
	}
	var chain [][]byte
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			chain = append(chain, b.Bytes)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, bad("the certificate file holds a private key (%s); give the key separately", b.Type)
		}
	}
	if len(chain) == 0 {
		if len(bytes.TrimSpace(certPEM)) == 0 {
			return nil, bad("the certificate is empty")
		}
		return nil, bad("no PEM CERTIFICATE block found (is it DER, or the key given as the certificate?)")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, bad("the first certificate does not parse: %v", err)
	}
	for i, der := range chain[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, bad("certificate %d of the chain does not parse: %v", i+2, err)
		}
	}
	var kb *pem.Block
	rest = keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return nil, bad("the private key is encrypted with a password; decrypt it first (openssl pkey -in key.pem -out plain.pem) — Gatehouse protects keys at rest itself")
		}
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			kb = b
			break
		}
	}
	if kb == nil {
		if len(bytes.TrimSpace(keyPEM)) == 0 {
			return nil, bad("the private key is empty")
		}
		return nil, bad("no PEM PRIVATE KEY block found in the key")
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, bad("the private key does not parse: %v", err)
	}
	if !publicKeyMatches(leaf.PublicKey, key) {
		return nil, bad("the private key does not match the certificate (subject %q)", leaf.Subject.String())
	}
	return &Cert{Name: name, Leaf: leaf, TLS: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}}, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unsupported PEM block %q", b.Type)
}

func publicKeyMatches(pub any, key crypto.Signer) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return p.Equal(key.Public())
	case *ecdsa.PublicKey:
		return p.Equal(key.Public())
	case ed25519.PublicKey:
		return p.Equal(key.Public())
	}
	return false
}

// Certs is the set of certificates the TLS listener serves, replaced as a
// whole by Set (a reload). The zero value serves nothing.
type Certs struct {
	cur atomic.Pointer[certSet]
}

type certSet struct {
	all   []*Cert
	exact map[string]*Cert // lower-case DNS name → first cert naming it
	wild  map[string]*Cert // "example.com" for "*.example.com"
}

// Set replaces the served certificates; the first is the default. An empty
// list is refused so that a failed reload can never leave the listener
// without a certificate.
func (s *Certs) Set(certs []*Cert) error {
	if len(certs) == 0 {
		return fmt.Errorf("%w: no certificates", ErrBadCertificate)
	}
	cs := &certSet{all: certs, exact: map[string]*Cert{}, wild: map[string]*Cert{}}
	for _, c := range certs {
		names := c.Leaf.DNSNames
		if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
			names = []string{c.Leaf.Subject.CommonName}
		}
		for _, n := range names {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if d, ok := strings.CutPrefix(n, "*."); ok {
				if _, dup := cs.wild[d]; !dup {
					cs.wild[d] = c
				}
				continue
			}
			if _, dup := cs.exact[n]; !dup {
				cs.exact[n] = c
			}
		}
	}
	s.cur.Store(cs)
	return nil
}

// Clear empties the served set: every handshake is refused with "no
// certificate" until the next Set (a catalog whose last certificate was
// deleted, with no certificate file).
func (s *Certs) Clear() {
	s.cur.Store(&certSet{})
}

// List returns the served certificates, the default first.
func (s *Certs) List() []*Cert {
	if cs := s.cur.Load(); cs != nil {
		return cs.all
	}
	return nil
}

// Pick returns the certificate for an SNI name: an exact DNS name, then a
// wildcard one level up, then the default (the first).
func (s *Certs) Pick(name string) *Cert {
	cs := s.cur.Load()
	if cs == nil || len(cs.all) == 0 {
		return nil
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c, ok := cs.exact[name]; ok {
		return c
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		if c, ok := cs.wild[parent]; ok {
			return c
		}
	}
	return cs.all[0]
}

// GetCertificate is tls.Config.GetCertificate over the current set.
func (s *Certs) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.Pick(hello.ServerName)
	if c == nil {
		return nil, fmt.Errorf("no certificate configured (SNI %q): add one (gatehouse cert add) or give --tls-cert", hello.ServerName)
	}
	return &c.TLS, nil
}

// TLSConfig returns the edge's server TLS configuration: TLS 1.2 and 1.3
// only, for TLS 1.2 only ECDHE key exchange with AEAD ciphers (forward
// secrecy, no CBC, no RSA key exchange, no 3DES/RC4), the hybrid
// post-quantum X25519MLKEM768 and X25519 before the NIST curves, and ALPN
// h2 before http/1.1 (HTTP/2 over TLS). TLS 1.3 suites are not
// configurable in Go and are all strong.
func TLSConfig(certs *Certs) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.GetCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
		NextProtos:       []string{"h2", "http/1.1"},
	}
}

// RequestClientCerts makes cfg ask clients for a certificate whenever
// need() holds at handshake time (an API validates client certificates).
// The handshake does not verify it (tls.RequestClientCert): which CAs and
// thumbprints are acceptable is decided per API after routing, so a
// client without one can still reach the APIs that do not ask. Call it
// before the server clones cfg (before ServeTLS).
func RequestClientCerts(cfg *tls.Config, need func() bool) {
	asking := cfg.Clone()
	asking.ClientAuth = tls.RequestClientCert
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if need() {
			return asking, nil
		}
		return nil, nil
	}
}
