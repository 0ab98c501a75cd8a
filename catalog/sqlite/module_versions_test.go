package sqlite_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestModuleVersionNames(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	if v, err := s.ModuleVersionNames(ctx, "rate-limit"); err != nil || len(v) != 0 {
		t.Fatalf("empty catalog: %v %v", v, err)
	}
	must[catalog.Module](t)(s.CreateModule(ctx, testModule("rate-limit", "1.0.0")))
	must[catalog.Module](t)(s.CreateModule(ctx, testModule("rate-limit", "1.1.0")))
	must[catalog.Module](t)(s.CreateModule(ctx, testModule("headers", "0.1.0")))
	v, err := s.ModuleVersionNames(ctx, "rate-limit")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(v)
	if !slices.Equal(v, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("versions of rate-limit = %v, want [1.0.0 1.1.0]", v)
	}
	if v, _ := s.ModuleVersionNames(ctx, "rate"); len(v) != 0 {
		t.Fatalf("a prefix of a name matched: %v", v)
	}
}
