package abi

// Client certificate fields (ABI v1.2, additive; abi/ABI.md "Client
// certificate fields"). Read-only get_field values describing the leaf
// certificate the client presented on a TLS connection, in every phase;
// "" (length 0) when the call came without one (plain HTTP, or TLS
// without a client certificate). set_field on them is ErrInvalid. The
// certificate is not verified by the fact of being present: an API with a
// client_certificate rule has verified it before any policy runs; without
// a rule it is whatever the client sent.
const (
	// FieldClientCertSubject: the subject distinguished name (RFC 2253
	// string form, as Go's pkix.Name.String).
	FieldClientCertSubject int32 = 32
	// FieldClientCertIssuer: the issuer distinguished name.
	FieldClientCertIssuer int32 = 33
	// FieldClientCertThumbprint: lower-case hex SHA-256 of the DER bytes.
	FieldClientCertThumbprint int32 = 34
	// FieldClientCertNotAfter: the end of validity, RFC 3339 in UTC.
	FieldClientCertNotAfter int32 = 35
)
