package catalog_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/egress/egressforms"
	"github.com/gatehouse/gatehouse/catalog"
)

// Every URL form on the catalog's road (an API's own backend): the same
// answer as the egress rule's CheckBackend, and every form a module-set
// destination refuses for its syntax is refused here too.
func TestBackendURLForms(t *testing.T) {
	for _, f := range egressforms.Load(t) {
		err := catalog.ValidateBackendURL("backendUrl", f.URL)
		_, want := egress.CheckBackend(f.URL, egress.AllowList{})
		if (err == nil) != (want == nil) {
			t.Errorf("%q: catalog %v, egress rule %v", f.URL, err, want)
		}
		if _, perr := egress.ParseBackend(f.URL); perr != nil && err == nil {
			t.Errorf("%q: syntax refused by the rule (%v), accepted by the catalog", f.URL, perr)
		}
	}
}
