package catalog_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// fuzzNow lies inside the validity of the seed corpus's certificates
// (testdata/fuzz/FuzzParseCertificateUpload: 2026-01-01 to 2036-01-01).
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// FuzzParseCertificateUpload: any chain and key bytes either give a
// *FieldError on "certificate" or "key" that quotes no line of the key, or
// a certificate whose re-encoded chain and key parse again to the same
// details (the stored form is stable).
func FuzzParseCertificateUpload(f *testing.F) {
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		p, err := catalog.ParseCertificateUpload(certPEM, keyPEM, fuzzNow)
		if err != nil {
			fe, ok := err.(*catalog.FieldError)
			if !ok || (fe.Path != "certificate" && fe.Path != "key") {
				t.Fatalf("error %T %v is not a FieldError on certificate or key", err, err)
			}
			for _, l := range strings.Split(string(keyPEM), "\n") {
				if len(l) >= 24 && !strings.HasPrefix(l, "-----") && strings.Contains(err.Error(), l) {
					t.Fatalf("error quotes the key: %v", err)
				}
			}
			return
		}
		if len(p.Hostnames) == 0 || p.Fingerprint == "" || p.ChainLength < 1 {
			t.Fatalf("accepted without details: %+v", p.Certificate)
		}
		again, err := catalog.ParseCertificateUpload([]byte(p.CertificatePEM), p.KeyPEM, fuzzNow)
		if err != nil {
			t.Fatalf("the stored form does not parse again: %v", err)
		}
		if again.Fingerprint != p.Fingerprint || strings.Join(again.Hostnames, ",") != strings.Join(p.Hostnames, ",") ||
			again.CertificatePEM != p.CertificatePEM || !bytes.Equal(again.KeyPEM, p.KeyPEM) {
			t.Fatalf("not stable: %+v vs %+v", p.Certificate, again.Certificate)
		}
	})
}
