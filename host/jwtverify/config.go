package jwtverify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/abi/egress"
)

// Config is the verification config a policy passes with each token, as
// JSON. Unknown fields are an error, so a misspelt field cannot silently
// weaken verification.
type Config struct {
	// Algorithms lists the accepted "alg" values: a non-empty subset of
	// HS256/384/512, RS256/384/512, ES256/384/512 and PS256/384/512 that
	// matches the key source (HS* only with an HMAC secret, RS*/PS* only with
	// RSA keys, ES* only with ECDSA keys of the matching curve). "none" is
	// never accepted.
	Algorithms []string `json:"algorithms"`
	// Issuers is required and non-empty: the token's iss must be one of them.
	Issuers []string `json:"issuers"`
	// Audiences is required and non-empty: the token's aud (a string or an
	// array) must contain at least one of them.
	Audiences []string `json:"audiences"`
	// LeewaySeconds is the clock skew allowed for exp, nbf and iat: 0 means
	// the default, 30; at most 300; negative is an error.
	LeewaySeconds int `json:"leeway_seconds"`
	// HMACSecret is the raw secret for HS* (at least 32 bytes).
	HMACSecret string `json:"hmac_secret"`
	// HMACSecretBase64 is the secret for HS*, base64 (standard or URL
	// alphabet, padded or not); at least 32 bytes once decoded.
	HMACSecretBase64 string `json:"hmac_secret_base64"`
	// PublicKeyPEM is one RSA (at least 2048 bits) or ECDSA (P-256, P-384,
	// P-521) public key, as a PEM "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY"
	// (PKCS #1) or "CERTIFICATE" block; only the first block is used. Only the
	// key of a certificate is used: its validity period and chain are not
	// checked.
	PublicKeyPEM string `json:"public_key_pem"`
	// JWKSURL is the http or https URL of a JSON Web Key Set.
	JWKSURL string `json:"jwks_url"`
	// RequiredClaims maps a claim name to its accepted values. The claim must
	// be present (and not null); if the list is non-empty it must also match
	// one of the values: a string claim by equality, a number or boolean by
	// its JSON text (as written in the token), an array if any element
	// matches. Objects match only an empty list.
	RequiredClaims map[string][]string `json:"required_claims"`
}

// Limits of a Config.
const (
	// MaxConfigLen is the longest config JSON accepted, in bytes.
	MaxConfigLen = 64 << 10
	// DefaultLeeway applies when LeewaySeconds is 0.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest LeewaySeconds accepted.
	MaxLeeway = 300 * time.Second
	// MinHMACSecretLen is the shortest HMAC secret accepted, in bytes.
	MinHMACSecretLen = 32
	// MinRSABits is the smallest RSA modulus accepted, in the config and in
	// a JWKS.
	MinRSABits = 2048
	// maxRSABits bounds verification cost.
	maxRSABits = 8192
)

// errConfig is wrapped by every config error.
var errConfig = errors.New("invalid verification config")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errConfig, fmt.Sprintf(format, args...))
}

// keyKind is the kind of key an algorithm needs.
type keyKind int

const (
	kindHMAC keyKind = iota + 1
	kindRSA
	kindEC
)

// algorithms maps each accepted alg to its key kind and, for ECDSA, curve.
var algorithms = map[string]struct {
	kind  keyKind
	curve elliptic.Curve
}{
	"HS256": {kind: kindHMAC}, "HS384": {kind: kindHMAC}, "HS512": {kind: kindHMAC},
	"RS256": {kind: kindRSA}, "RS384": {kind: kindRSA}, "RS512": {kind: kindRSA},
	"PS256": {kind: kindRSA}, "PS384": {kind: kindRSA}, "PS512": {kind: kindRSA},
	"ES256": {kind: kindEC, curve: elliptic.P256()},
	"ES384": {kind: kindEC, curve: elliptic.P384()},
	"ES512": {kind: kindEC, curve: elliptic.P521()},
}

// keyFitsAlg reports whether key (*rsa.PublicKey or *ecdsa.PublicKey) can
// verify alg. It is the single place that ties key types to algorithms.
func keyFitsAlg(key any, alg string) bool {
	a, ok := algorithms[alg]
	if !ok {
		return false
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return a.kind == kindRSA
	case *ecdsa.PublicKey:
		return a.kind == kindEC && k.Curve == a.curve
	}
	return false
}

// compiled is a parsed and checked Config, ready to verify with.
type compiled struct {
	algs      []string
	issuers   []string
	audiences []string
	hmac      []byte // exactly one of hmac, pub, jwksURL is set
	pub       any    // *rsa.PublicKey or *ecdsa.PublicKey
	jwksURL   string
	required  map[string][]string
	parser    *jwt.Parser
}

// compile parses and checks a config. now is the verifier's clock.
func compile(data []byte, now func() time.Time) (*compiled, error) {
	if len(data) > MaxConfigLen {
		return nil, configErr("config is %d bytes, the maximum is %d", len(data), MaxConfigLen)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, configErr("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, configErr("data after the config object")
	}

	c := &compiled{}
	// Key source: exactly one.
	n := 0
	for _, s := range []string{cfg.HMACSecret, cfg.HMACSecretBase64, cfg.PublicKeyPEM, cfg.JWKSURL} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, configErr("exactly one of hmac_secret, hmac_secret_base64, public_key_pem and jwks_url is required, %d given", n)
	}
	switch {
	case cfg.HMACSecret != "":
		c.hmac = []byte(cfg.HMACSecret)
	case cfg.HMACSecretBase64 != "":
		b, err := decodeBase64Any(cfg.HMACSecretBase64)
		if err != nil {
			return nil, configErr("hmac_secret_base64: %v", err)
		}
		c.hmac = b
	case cfg.PublicKeyPEM != "":
		k, err := parsePublicKeyPEM(cfg.PublicKeyPEM)
		if err != nil {
			return nil, configErr("public_key_pem: %v", err)
		}
		c.pub = k
	default:
		// The egress rule's syntax (abi/egress): every literal form of an
		// address normalized or refused, as on every other road; the
		// addresses are checked when the fetcher's client dials.
		u, err := egress.ParseTarget(cfg.JWKSURL)
		if err != nil {
			return nil, configErr("jwks_url: %v", err)
		}
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			return nil, configErr("jwks_url: %q must use https (plain http only to a loopback address)", cfg.JWKSURL)
		}
		c.jwksURL = cfg.JWKSURL
	}
	if c.hmac != nil && len(c.hmac) < MinHMACSecretLen {
		return nil, configErr("HMAC secret is %d bytes, at least %d are required", len(c.hmac), MinHMACSecretLen)
	}

	// Algorithms: known, not none, matching the key source.
	if len(cfg.Algorithms) == 0 {
		return nil, configErr("algorithms is required")
	}
	for _, alg := range cfg.Algorithms {
		a, ok := algorithms[alg]
		if !ok {
			if strings.EqualFold(alg, "none") {
				return nil, configErr(`algorithm "none" is never accepted`)
			}
			return nil, configErr("unsupported algorithm %q", alg)
		}
		switch {
		case c.hmac != nil:
			ok = a.kind == kindHMAC
		case c.pub != nil:
			ok = keyFitsAlg(c.pub, alg)
		default: // JWKS: asymmetric only; the key set decides RSA or EC.
			ok = a.kind == kindRSA || a.kind == kindEC
		}
		if !ok {
			return nil, configErr("algorithm %s does not match the key source (%s)", alg, keySourceName(c))
		}
		if !slices.Contains(c.algs, alg) {
			c.algs = append(c.algs, alg)
		}
	}

	if len(cfg.Issuers) == 0 {
		return nil, configErr("issuers is required")
	}
	for _, s := range cfg.Issuers {
		if s == "" {
			return nil, configErr("empty issuer")
		}
	}
	if len(cfg.Audiences) == 0 {
		return nil, configErr("audiences is required")
	}
	for _, s := range cfg.Audiences {
		if s == "" {
			return nil, configErr("empty audience")
		}
	}
	c.issuers, c.audiences = cfg.Issuers, cfg.Audiences

	leeway := time.Duration(cfg.LeewaySeconds) * time.Second
	switch {
	case cfg.LeewaySeconds < 0:
		return nil, configErr("negative leeway_seconds")
	case cfg.LeewaySeconds == 0:
		leeway = DefaultLeeway
	case leeway > MaxLeeway:
		return nil, configErr("leeway_seconds %d is above the maximum, %d", cfg.LeewaySeconds, int(MaxLeeway/time.Second))
	}

	for name := range cfg.RequiredClaims {
		if name == "" {
			return nil, configErr("empty claim name in required_claims")
		}
	}
	c.required = cfg.RequiredClaims

	c.parser = jwt.NewParser(
		jwt.WithValidMethods(c.algs),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
		jwt.WithJSONNumber(),
		jwt.WithStrictDecoding(),
	)
	return c, nil
}

func keySourceName(c *compiled) string {
	switch k := c.pub.(type) {
	case *rsa.PublicKey:
		return "RSA public key"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name + " public key"
	}
	if c.hmac != nil {
		return "HMAC secret"
	}
	return "JWKS"
}

func decodeBase64Any(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// parsePublicKeyPEM returns the *rsa.PublicKey or *ecdsa.PublicKey in the
// first PEM block of s.
func parsePublicKeyPEM(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPublicKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// checkPublicKey accepts RSA keys of MinRSABits to maxRSABits bits and ECDSA
// keys on P-256, P-384 and P-521.
func checkPublicKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if b := k.N.BitLen(); b < MinRSABits || b > maxRSABits {
			return fmt.Errorf("RSA key of %d bits, %d to %d are accepted", b, MinRSABits, maxRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("ECDSA curve %s is not accepted", k.Curve.Params().Name)
	}
	return fmt.Errorf("unsupported public key type %T", key)
}

// loopbackHost reports whether h is localhost or a loopback address.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}
