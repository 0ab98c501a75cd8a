package catalog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Edge certificates kept in the catalog (docs/tls.md "Certificates in the
// catalog"): a PEM chain and its private key, served by the gateway's TLS
// listener for the chain's hostnames. The key is sealed with the master
// key at rest and never leaves the store except through
// Certificates.CertificateKeyPairs, for the listener.

// Certificate limits.
const (
	// MaxCertificateBody caps an upload (chain and key together, and the
	// admin API's JSON body carrying them).
	MaxCertificateBody = 64 << 10
	// MaxCertificateChain caps the certificates of one chain.
	MaxCertificateChain = 10
	// MaxCertificateHostnames caps the hostnames of one certificate (the
	// SAN limit of Let's Encrypt); it bounds the expiry metric's series.
	MaxCertificateHostnames = 100
	// MinRSABits is the smallest RSA key accepted.
	MinRSABits = 2048
	// CertificateClockSkew is how far in the future a certificate's
	// not-before may be and still be accepted (a freshly issued
	// certificate on a machine whose clock lags a little).
	CertificateClockSkew = 5 * time.Minute
)

// Certificate is an edge certificate's public details. It never carries
// the private key.
type Certificate struct {
	ID string `json:"id"`
	// Hostnames are the names it is served for: the leaf's DNS SANs
	// (lower case), or its common name when it has none.
	Hostnames []string  `json:"hostnames"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// Fingerprint is the lower-case hex SHA-256 of the leaf (DER).
	Fingerprint string `json:"fingerprint"`
	// KeyType is "ECDSA P-256", "RSA 2048", ...
	KeyType string `json:"keyType"`
	// ChainLength counts the certificates of the chain, leaf included.
	ChainLength int `json:"chainLength"`
	// CertificatePEM is the chain, leaf first (public data).
	CertificatePEM string    `json:"certificate,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// CertificateUpload is what a user sends to add or replace a certificate.
type CertificateUpload struct {
	// ID is optional on create (one is generated); ignored on replace.
	ID          string `json:"id,omitempty"`
	Certificate string `json:"certificate"`
	Key         string `json:"key"`
}

// CertificateKeyPair is a certificate with its private key in clear, for
// the TLS listener only.
type CertificateKeyPair struct {
	Certificate
	KeyPEM []byte `json:"-"`
}

// ParsedCertificate is a validated upload: the public details (no ID or
// times yet), the chain re-encoded as PEM, and the key as one PEM block.
type ParsedCertificate struct {
	Certificate
	KeyPEM []byte
}

// ParseCertificateUpload validates a PEM chain and private key for serving
// at now: both PEM, the key unencrypted, RSA (at least MinRSABits) or
// ECDSA (P-256, P-384, P-521), matching the leaf; the chain leaf first,
// each certificate issued by the next; the leaf valid at now (its
// not-before at most CertificateClockSkew ahead); at least one hostname,
// none a bare "*" or a wildcard below a top-level domain. Every refusal
// is a *FieldError on "certificate" or "key" whose message never quotes
// key material.
func ParseCertificateUpload(certPEM, keyPEM []byte, now time.Time) (*ParsedCertificate, error) {
	if len(certPEM)+len(keyPEM) > MaxCertificateBody {
		return nil, fieldErr("certificate", "certificate and key together are larger than %d bytes", MaxCertificateBody)
	}
	chain, chainPEM, err := parseChain(certPEM)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	key, keyType, err := leafKey(leaf, keyPEM)
	if err != nil {
		return nil, err
	}
	if now.After(leaf.NotAfter) {
		return nil, fieldErr("certificate", "expired on %s; upload a renewed certificate", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if leaf.NotBefore.After(now.Add(CertificateClockSkew)) {
		return nil, fieldErr("certificate", "not valid before %s: clients would refuse it now; upload it once it is valid", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	info, err := certificateOf(chain, chainPEM)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fieldErr("key", "cannot be encoded: %v", err)
	}
	info.KeyType = keyType
	return &ParsedCertificate{Certificate: info, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})}, nil
}

// certificateOf is the public details of a checked chain (no ID, key type
// or times of its own); its hostnames are checked (CertificateHostnames).
func certificateOf(chain []*x509.Certificate, chainPEM string) (Certificate, error) {
	leaf := chain[0]
	hosts, err := CertificateHostnames(leaf)
	if err != nil {
		return Certificate{}, err
	}
	sum := sha256.Sum256(leaf.Raw)
	return Certificate{Hostnames: hosts, Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(), Fingerprint: hex.EncodeToString(sum[:]),
		ChainLength: len(chain), CertificatePEM: chainPEM}, nil
}

// leafKey parses keyPEM and checks that it is a key type we accept and
// that it matches leaf.
func leafKey(leaf *x509.Certificate, keyPEM []byte) (crypto.Signer, string, error) {
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, "", err
	}
	keyType, err := certKeyType(key)
	if err != nil {
		return nil, "", err
	}
	if !keyMatches(leaf.PublicKey, key) {
		return nil, "", fieldErr("key", "does not match the certificate (%s)", leafName(leaf))
	}
	return key, keyType, nil
}

// parseChain decodes and checks a PEM chain: at least one certificate, at
// most MaxCertificateChain, leaf first, each issued by the next. It
// returns the chain and its certificates re-encoded as PEM (other blocks
// dropped).
func parseChain(certPEM []byte) ([]*x509.Certificate, string, error) {
	var chain []*x509.Certificate
	var out bytes.Buffer
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			if len(chain) == MaxCertificateChain {
				return nil, "", fieldErr("certificate", "more than %d certificates in the chain", MaxCertificateChain)
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, "", fieldErr("certificate", "certificate %d of the chain does not parse: %v", len(chain)+1, err)
			}
			chain = append(chain, c)
			pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})
			continue
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return nil, "", fieldErr("certificate", "holds a private key (%s); send the key in \"key\"", b.Type)
		}
	}
	if len(chain) == 0 {
		if len(bytes.TrimSpace(certPEM)) == 0 {
			return nil, "", fieldErr("certificate", "must not be empty")
		}
		return nil, "", fieldErr("certificate", "no PEM CERTIFICATE block found (a DER file? convert it: openssl x509 -inform der -in cert.der -out cert.pem)")
	}
	for i := 0; i+1 < len(chain); i++ {
		if !bytes.Equal(chain[i].RawIssuer, chain[i+1].RawSubject) || chain[i].CheckSignatureFrom(chain[i+1]) != nil {
			return nil, "", fieldErr("certificate", "certificate %d of the chain (%s) did not issue certificate %d (%s): put the server certificate first, then each issuer in order", i+2, chain[i+1].Subject, i+1, chain[i].Subject)
		}
	}
	return chain, out.String(), nil
}

// ParseCertificateChain checks a PEM chain as ParseCertificateUpload does,
// without a key and without looking at its validity period: what the
// catalog's declarative documents carry (the key stays out of exports).
// It returns the public details (no ID, key type or times of its own).
// Refusals are *FieldError on "certificate".
func ParseCertificateChain(certPEM []byte) (Certificate, error) {
	if len(certPEM) > MaxCertificateBody {
		return Certificate{}, fieldErr("certificate", "is larger than %d bytes", MaxCertificateBody)
	}
	chain, chainPEM, err := parseChain(certPEM)
	if err != nil {
		return Certificate{}, err
	}
	return certificateOf(chain, chainPEM)
}

// CheckCertificateKey checks that keyPEM is a private key
// ParseCertificateUpload accepts and that it matches the leaf of
// certPEM, without looking at the validity period. Refusals are
// *FieldError on "certificate" or "key" and never quote key material.
func CheckCertificateKey(certPEM, keyPEM []byte) error {
	if len(certPEM)+len(keyPEM) > MaxCertificateBody {
		return fieldErr("certificate", "certificate and key together are larger than %d bytes", MaxCertificateBody)
	}
	chain, _, err := parseChain(certPEM)
	if err != nil {
		return err
	}
	_, _, err = leafKey(chain[0], keyPEM)
	return err
}

// leafName names a leaf in messages: its subject, or its DNS names when
// the subject is empty (a certificate with SANs only).
func leafName(leaf *x509.Certificate) string {
	if s := leaf.Subject.String(); s != "" {
		return "subject " + s
	}
	return "hostnames " + strings.Join(leaf.DNSNames, ", ")
}

func parsePrivateKey(keyPEM []byte) (crypto.Signer, error) {
	rest := keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return nil, fieldErr("key", "is encrypted with a password; decrypt it first (openssl pkey -in key.pem -out plain.pem): Gatehouse seals keys at rest with its master key")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "CERTIFICATE":
			continue
		default:
			if strings.HasSuffix(b.Type, "PRIVATE KEY") {
				return nil, fieldErr("key", "unsupported key type (%s); use an RSA or ECDSA key", b.Type)
			}
			continue
		}
		if err != nil {
			return nil, fieldErr("key", "%s block does not parse: %v", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fieldErr("key", "unsupported key type %T; use an RSA or ECDSA key", k)
		}
		return s, nil
	}
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		return nil, fieldErr("key", "must not be empty")
	}
	return nil, fieldErr("key", "no PEM PRIVATE KEY block found")
}

func certKeyType(k crypto.Signer) (string, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return "", fieldErr("key", "RSA key of %d bits; at least %d are required", bits, MinRSABits)
		}
		return fmt.Sprintf("RSA %d", k.N.BitLen()), nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return "ECDSA " + k.Curve.Params().Name, nil
		}
		return "", fieldErr("key", "unsupported ECDSA curve; use P-256, P-384 or P-521")
	case ed25519.PrivateKey:
		return "", fieldErr("key", "unsupported key type Ed25519 (most browsers cannot use it); use an RSA or ECDSA key")
	}
	return "", fieldErr("key", "unsupported key type %T; use an RSA or ECDSA key", k)
}

func keyMatches(pub any, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	p, ok := pub.(equaler)
	return ok && p.Equal(key.Public())
}

// CertificateHostnames returns the names a leaf is served for: its DNS
// SANs, or its common name when it has none, lower case without a
// trailing dot, sorted, without repeats. IP SANs are ignored (SNI never
// carries an address). A bare "*", a wildcard that is not a whole
// left-most label, or one directly below a top-level domain ("*.com") is
// refused, as is a leaf with no name at all.
func CertificateHostnames(leaf *x509.Certificate) ([]string, error) {
	names := leaf.DNSNames
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if err := checkCertHostname(n); err != nil {
			return nil, fieldErr("certificate", "hostname %q: %s", n, err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxCertificateHostnames {
		return nil, fieldErr("certificate", "names %d hostnames; at most %d are served per certificate", len(out), MaxCertificateHostnames)
	}
	if len(out) == 0 {
		return nil, fieldErr("certificate", "names no hostname (no DNS subject alternative name and no common name)")
	}
	slices.Sort(out)
	return out, nil
}

func checkCertHostname(n string) error {
	if n == "*" {
		return fmt.Errorf("a wildcard for every hostname is refused; name the domain (*.example.com)")
	}
	if len(n) == 0 || len(n) > 253 {
		return fmt.Errorf("must be 1 to 253 characters")
	}
	labels := strings.Split(n, ".")
	for i, l := range labels {
		if l == "*" && i == 0 {
			if len(labels) < 3 {
				return fmt.Errorf("a wildcard must sit below a registered domain (*.example.com, not *.com)")
			}
			continue
		}
		if len(l) == 0 || len(l) > 63 {
			return fmt.Errorf("labels must be 1 to 63 characters")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				if r == '*' {
					return fmt.Errorf("a wildcard must be the whole left-most label (*.example.com)")
				}
				return fmt.Errorf("may contain only letters, digits, '-' and '_' between dots")
			}
		}
	}
	return nil
}

// CertificateKeyAD binds a sealed certificate key to its certificate ID.
func CertificateKeyAD(id string) []byte { return []byte("certificate-key\x00" + id) }

// DaysLeft is the number of whole days until c expires at now (negative
// once expired).
func (c Certificate) DaysLeft(now time.Time) int {
	d := c.NotAfter.Sub(now)
	if d < 0 {
		return -int((-d).Hours()/24) - 1
	}
	return int(d.Hours() / 24)
}
