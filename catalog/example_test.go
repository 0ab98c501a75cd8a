package catalog_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

func ExampleNewKey() {
	key, err := catalog.NewKey()
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(key, catalog.KeyPrefix), len(key), catalog.WellFormedKey(key))
	fmt.Println(len(catalog.HashKey(key)))
	// Output:
	// true 46 true
	// 64
}

func ExampleFieldError() {
	a := catalog.API{ID: "meta", Name: "Metadata", PathPrefix: "/meta", BackendURL: "http://169.254.169.254/latest"}
	a.ApplyDefaults()
	err := a.Validate()
	var fe *catalog.FieldError
	fmt.Println(errors.Is(err, catalog.ErrInvalid), errors.As(err, &fe) && fe.Path == "backendUrl")
	fmt.Println(err)
	// Output:
	// true true
	// invalid backendUrl: egress to 169.254.169.254:80 refused: 169.254.169.254 is a cloud metadata address (even the API's own backend needs an allow-list entry for it); allow it with an egress allow-list entry
}
