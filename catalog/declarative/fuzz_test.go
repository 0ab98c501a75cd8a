package declarative_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// FuzzParse checks that Parse never panics, that its errors are field
// errors, and that whatever it accepts survives Marshal and Parse again.
// Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			t.Skip() // bounded time per input
		}
		d, err := declarative.Parse(b)
		if err != nil {
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *catalog.FieldError", err)
			}
			return
		}
		y, err := declarative.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := declarative.Parse(y); err != nil {
			t.Fatalf("reparse: %v\n%s", err, y)
		}
	})
}
