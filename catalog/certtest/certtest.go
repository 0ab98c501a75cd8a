// Package certtest issues throwaway certificates for tests: a CA and leaf
// certificates with chosen names, key types and validity, as PEM.
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"time"
)

var serial atomic.Int64

// CA is a self-signed ECDSA P-256 certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	PEM  []byte
	Pool *x509.CertPool
}

// NewCA returns a CA valid from an hour ago for a day.
func NewCA(name string) *CA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &CA{Cert: c, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool}
}

// Options shape a leaf.
type Options struct {
	// DNSNames are the SANs; CommonName the subject CN.
	DNSNames   []string
	CommonName string
	// Key is the leaf's key; nil means a fresh ECDSA P-256 key.
	Key crypto.Signer
	// NotBefore, NotAfter default to an hour ago and a day ahead.
	NotBefore, NotAfter time.Time
}

// Pair is an issued leaf: its chain PEM (leaf then the CA), key PEM
// (PKCS#8) and fingerprint (hex SHA-256 of the leaf's DER).
type Pair struct {
	Leaf        *x509.Certificate
	CertPEM     []byte // the leaf only
	ChainPEM    []byte // the leaf, then the CA
	KeyPEM      []byte
	Key         crypto.Signer
	Fingerprint string
}

// Issue signs a leaf with the CA.
func (ca *CA) Issue(o Options) *Pair {
	key := o.Key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		key = k
	}
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: o.CommonName}, DNSNames: o.DNSNames,
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	sum := sha256.Sum256(der)
	return &Pair{Leaf: leaf, CertPEM: certPEM, ChainPEM: append(append([]byte{}, certPEM...), ca.PEM...),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), Key: key, Fingerprint: hex.EncodeToString(sum[:])}
}

// RSAKey returns a fresh RSA key of bits.
func RSAKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

// FingerprintOf is the hex SHA-256 of a certificate's DER.
func FingerprintOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
