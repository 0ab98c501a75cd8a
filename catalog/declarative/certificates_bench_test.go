package declarative_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// BenchmarkCertificates exports and plans (unchanged) a catalog of 1,000
// certificates: each export reads each chain (GetCertificate), which must
// not cost the whole hostname table per certificate.
func BenchmarkCertificates(b *testing.B) {
	st := open(b)
	ca := certtest.NewCA("Bench CA")
	for i := range 1000 {
		addCert(b, st, fmt.Sprintf("c%04d", i), ca.Issue(certtest.Options{DNSNames: []string{fmt.Sprintf("h%d.test", i)}}))
	}
	ctx := context.Background()
	d, err := declarative.Export(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("export", func(b *testing.B) {
		for b.Loop() {
			if _, err := declarative.Export(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plan-unchanged", func(b *testing.B) {
		for b.Loop() {
			if cs, err := declarative.Plan(ctx, st, d, true); err != nil || len(cs) != 0 {
				b.Fatal(err, cs)
			}
		}
	})
}
