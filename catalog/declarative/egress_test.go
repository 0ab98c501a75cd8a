package declarative_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// An API's egress allow-list is applied, shown in diffs, exported and
// kept by an apply that carries it; a bad entry writes nothing.
func TestEgressAllowRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	b, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	with := func(entries string) string {
		return strings.Replace(string(b), "backendUrl: http://127.0.0.1:8081\n", "backendUrl: http://127.0.0.1:8081\n    egressAllow: ["+entries+"]\n", 1)
	}
	if _, err := declarative.Apply(ctx, st, parse(t, with(`"10.1.0.0/16", "billing.internal:8443"`)), false); err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAPI(ctx, "echo")
	if err != nil || !slices.Equal(a.EgressAllow, []string{"10.1.0.0/16", "billing.internal:8443"}) {
		t.Fatalf("stored %v %v", a.EgressAllow, err)
	}
	cs, err := declarative.Apply(ctx, st, parse(t, with(`"10.1.0.0/16"`)), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(cs); got != `update api echo (egressAllow: "10.1.0.0/16, billing.internal:8443" → "10.1.0.0/16")` {
		t.Errorf("diff: %s", got)
	}
	doc, err := declarative.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range doc.APIs {
		if x.ID == "echo" && !slices.Equal(x.EgressAllow, []string{"10.1.0.0/16"}) {
			t.Errorf("exported %v", x.EgressAllow)
		}
	}
	v := version(t, st)
	if _, err := declarative.Parse([]byte(with(`"10.1.0.1/16"`))); err == nil || !strings.Contains(err.Error(), "apis[0].egressAllow") || !strings.Contains(err.Error(), "write 10.1.0.0/16") {
		t.Errorf("bad entry: %v", err)
	}
	if version(t, st) != v {
		t.Error("a refused apply wrote")
	}
}
