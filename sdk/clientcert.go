package sdk

import "github.com/gatehouse/gatehouse/abi"

// ClientCertificate describes the certificate the client presented on a
// TLS connection (ABI v1.2 fields 32–35).
type ClientCertificate struct {
	// Subject and Issuer are distinguished names ("CN=client-a,O=Acme").
	Subject, Issuer string
	// Thumbprint is the lower-case hex SHA-256 of the certificate.
	Thumbprint string
	// NotAfter is the end of validity, RFC 3339 in UTC.
	NotAfter string
}

// ClientCertificate returns the client's certificate; ok is false when
// the call came without one. It is verified only if the API has a
// client_certificate rule (docs/tls.md); otherwise it is whatever the
// client sent, and a policy that trusts it must check it itself.
func (c *Context) ClientCertificate() (cert ClientCertificate, ok bool) {
	cert = ClientCertificate{
		Subject:    c.field(abi.FieldClientCertSubject),
		Issuer:     c.field(abi.FieldClientCertIssuer),
		Thumbprint: c.field(abi.FieldClientCertThumbprint),
		NotAfter:   c.field(abi.FieldClientCertNotAfter),
	}
	return cert, cert.Thumbprint != ""
}
