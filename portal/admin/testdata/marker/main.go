// Command marker is a test policy module for the admin portal's browser
// test: it marks every response with X-Marker set to the version it was
// built with (go build -ldflags "-X main.version=v2"), so that the test
// sees which version of a module an attachment runs.
package main

import "github.com/gatehouse/gatehouse/sdk"

var version = "v1"

type marker struct{ sdk.Base }

func (marker) OnResponse(c *sdk.Context) sdk.Action {
	if err := c.Response().Header().Set("X-Marker", version); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

func init() {
	sdk.Register("marker", func([]byte) (sdk.Policy, error) { return marker{}, nil })
}

func main() {}
