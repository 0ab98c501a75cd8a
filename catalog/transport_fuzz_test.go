package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// FuzzAPITransport: any transport JSON an admin sends is accepted or
// refused with a field error, never a panic, and a refusal never quotes
// PEM input.
func FuzzAPITransport(f *testing.F) {
	f.Add([]byte(`{"backendProtocol":"grpc","backendTls":{"caPem":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n","minVersion":"1.3"}}`), "https://a.test")
	f.Add([]byte(`{"backendTls":{"clientCertPem":"x","clientKeyNamedValue":"{{k}}","serverName":"a:1"}}`), "http://a.test")
	f.Add([]byte(`{"websocket":{"idleTimeout":"9223372036854775807ns","maxDuration":"-1s"}}`), "https://a.test")
	f.Add([]byte(`{"clientCertificate":{"thumbprints":["AB:CD"],"caPem":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}`), "https://a.test")
	f.Add([]byte(`{"backendProtocol":"h2c","backendTls":{"insecureSkipVerify":true}}`), "HTTPS://a.test")
	f.Fuzz(func(t *testing.T, b []byte, backend string) {
		var tr catalog.APITransport
		if json.Unmarshal(b, &tr) != nil {
			return
		}
		err := tr.ValidateTransport(backend)
		if err == nil {
			return
		}
		var fe *catalog.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("not a field error: %v", err)
		}
		if strings.Contains(err.Error(), "-----BEGIN") {
			t.Fatalf("the error quotes PEM input: %v", err)
		}
	})
}

// FuzzParseCertificatesPEM never panics and never returns an empty list
// without an error.
func FuzzParseCertificatesPEM(f *testing.F) {
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	f.Add("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\ntrailing")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		certs, err := catalog.ParseCertificatesPEM(s)
		if err == nil && len(certs) == 0 {
			t.Fatal("no certificate and no error")
		}
	})
}
