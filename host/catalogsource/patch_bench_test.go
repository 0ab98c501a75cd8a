package catalogsource

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// scaleRaw is a catalog of n APIs × 5 operations with a set-header policy
// each and a subscription requirement, as TestRevocationAtScale writes it.
func scaleRaw(n int) *raw {
	r := &raw{version: 1, mods: []catalog.Module{{Name: "builtin", Version: "1.0.0", SHA256: "x", Manifest: catalog.ModuleManifest{ABIVersion: 1}}}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("api%05d", i)
		r.apis = append(r.apis, catalog.API{ID: id, Name: id, PathPrefix: fmt.Sprintf("/svc%d/v1", i), BackendURL: "http://127.0.0.1:1",
			SubscriptionRequired: true, KeyHeader: catalog.DefaultKeyHeader, KeyQuery: catalog.DefaultKeyQuery})
		for j, tm := range []string{"/items", "/items/{id}", "/items/{id}/tags", "/orders", "/orders/{id}"} {
			r.ops = append(r.ops, catalog.Operation{ID: fmt.Sprintf("%s-op%d", id, j), APIID: id, Name: fmt.Sprintf("op%d", j),
				Method: []string{"GET", "GET", "GET", "POST", "DELETE"}[j], URLTemplate: tm})
		}
		r.docs = append(r.docs, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: id, Inbound: []catalog.PolicyEntry{{Base: true},
			{Module: "builtin", Policy: "set-header", Config: json.RawMessage(fmt.Sprintf(`{"name":"X-API","value":"%d"}`, i))}}})
	}
	return r
}

// BenchmarkMapRaw: the in-memory part of a patched load (mapping every
// entity, named values, module bytes from the cache; no Config.Validate, as on the patch path).
func BenchmarkMapRaw(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := scaleRaw(n)
			s := New(nil)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.mapRaw(ctx, r, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/api")
		})
	}
}
