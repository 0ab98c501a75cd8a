package hostcall

import "github.com/gatehouse/gatehouse/abi"

// Client certificate fields (ABI v1.2, abi/clientcert.go): read-only
// get_field values, in every phase; set_field on them is ErrInvalid.

// ClientCert describes the certificate the client presented. The gateway
// fills Exchange.ClientCert only for calls that carried one.
type ClientCert struct {
	Subject, Issuer, Thumbprint, NotAfter string
}

// clientCertField answers get_field for the client certificate fields
// ("" when the call came without a certificate); ok is false for any
// other field.
func (x *Exchange) clientCertField(f int32) (v string, ok bool) {
	c := x.ClientCert
	if c == nil {
		c = &ClientCert{}
	}
	switch f {
	case abi.FieldClientCertSubject:
		return c.Subject, true
	case abi.FieldClientCertIssuer:
		return c.Issuer, true
	case abi.FieldClientCertThumbprint:
		return c.Thumbprint, true
	case abi.FieldClientCertNotAfter:
		return c.NotAfter, true
	}
	return "", false
}
