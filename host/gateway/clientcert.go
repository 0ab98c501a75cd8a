package gateway

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
)

// Client certificates per API (APIM's validate-client-certificate;
// docs/tls.md "Client certificates"). The TLS listener asks clients for a
// certificate whenever any API of the current snapshot validates one
// (NeedsClientCert), without verifying it in the handshake: which CAs and
// thumbprints are acceptable is a per-API decision, made here after
// routing and before any policy runs.

// ClientCertificate is an API's client-certificate rule.
type ClientCertificate struct {
	// CAFile is a PEM bundle; the client's chain must verify to one of
	// its certificates (for client authentication).
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// Thumbprints are lower- or upper-case hex SHA-256 fingerprints of
	// acceptable leaf certificates. With a CA too, both must hold.
	Thumbprints []string `yaml:"thumbprints" json:"thumbprints,omitempty"`

	// CAPEM is the bundle in memory; it takes precedence over CAFile.
	CAPEM []byte `yaml:"-" json:"-"`
}

// clientCertRule is the compiled rule of an API.
type clientCertRule struct {
	roots  *x509.CertPool
	thumbs []string // lower-case hex
}

// compileClientCert loads the API's rule (nil when it has none).
func (a *API) compileClientCert() (*clientCertRule, error) {
	cc := a.ClientCertificate
	if cc == nil {
		return nil, nil
	}
	r := &clientCertRule{}
	for i, t := range cc.Thumbprints {
		t = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(t), ":", ""))
		if len(t) != 64 || strings.Trim(t, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("client_certificate.thumbprints[%d]: not a hex SHA-256 fingerprint (64 hex digits)", i)
		}
		r.thumbs = append(r.thumbs, t)
	}
	ca := cc.CAPEM
	if ca == nil && cc.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cc.CAFile); err != nil {
			return nil, fmt.Errorf("client_certificate.ca_file: %w", err)
		}
	}
	if ca != nil {
		r.roots = x509.NewCertPool()
		if !r.roots.AppendCertsFromPEM(ca) {
			return nil, errors.New("client_certificate: the CA bundle holds no PEM certificate")
		}
	}
	if r.roots == nil && len(r.thumbs) == 0 {
		return nil, errors.New("client_certificate: needs a ca_file or thumbprints")
	}
	return r, nil
}

// check validates the certificate chain a client presented: 401 when
// there is none (over plain HTTP too), 403 when it is expired, does not
// verify to the API's CAs, or is not one of its thumbprints.
func (r *clientCertRule) check(req *http.Request, now time.Time) (status int, reason string) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return http.StatusUnauthorized, "client certificate required"
	}
	leaf := req.TLS.PeerCertificates[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return http.StatusForbidden, "client certificate outside its validity period"
	}
	if r.roots != nil {
		inter := x509.NewCertPool()
		for _, c := range req.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: r.roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return http.StatusForbidden, "client certificate not trusted"
		}
	}
	if len(r.thumbs) > 0 && !slices.Contains(r.thumbs, edge.Thumbprint(leaf)) {
		return http.StatusForbidden, "client certificate not accepted"
	}
	return 0, ""
}

// checkClientCert applies the route's API rule; false when the call was
// answered (401/403).
func (c *call) checkClientCert(r *clientCertRule) bool {
	status, reason := r.check(c.r, time.Now())
	if status == 0 {
		return true
	}
	c.g.log.Info("client certificate refused", "request_id", c.reqID, "api", c.rt.api.cfg.Name, "reason", reason)
	c.writeGeneric(status, "Access denied: "+reason)
	return false
}

// NeedsClientCert reports whether an API of the current configuration
// validates client certificates: the TLS listener then asks for one.
func (g *Gateway) NeedsClientCert() bool {
	s := g.cur.Load()
	return s != nil && s.needClientCert
}

// clientCertInfo is what policies see of the client's certificate (the
// ABI's client certificate fields).
func clientCertInfo(c *x509.Certificate) *engine.ClientCert {
	return &engine.ClientCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Thumbprint: edge.Thumbprint(c), NotAfter: c.NotAfter.UTC().Format(time.RFC3339)}
}
