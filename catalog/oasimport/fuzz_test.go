package oasimport_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
)

// FuzzParse checks that Parse never panics, that every error is a
// document field error, and that an accepted document loads for examples. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 64<<10 {
			t.Skip() // bounded time per input
		}
		r, err := oasimport.Parse(doc)
		if err != nil {
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *catalog.FieldError", err)
			}
			return
		}
		if len(r.Operations) == 0 {
			t.Fatal("no operations and no error")
		}
		seen := map[string]bool{}
		for _, o := range r.Operations {
			o.ID, o.APIID = "x", "x"
			if err := o.Validate(); err != nil {
				t.Fatalf("operation %+v: %v", o, err)
			}
			if seen[o.Name] {
				t.Fatalf("name %q repeats", o.Name)
			}
			seen[o.Name] = true
		}
		// A document that imports loads for mock-response examples, and
		// looking them up does not panic.
		x, err := oasimport.LoadExamples(doc)
		if err != nil {
			t.Fatalf("Parse accepts the document, LoadExamples refuses it: %v", err)
		}
		for _, o := range r.Operations {
			x.Example(o.Method, o.URLTemplate, 200, "")
		}
	})
}
