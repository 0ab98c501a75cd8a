package sdk_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// greet answers requests for /hello itself and tags everything else.
type greet struct {
	sdk.Base // no response-phase handler
	Greeting string
}

func (p *greet) OnRequest(c *sdk.Context) sdk.Action {
	if c.Request().Path() == "/hello" {
		c.Response().Header().Set("Content-Type", "text/plain")
		return c.Respond(200, []byte(p.Greeting+", "+c.ClientIP()))
	}
	if err := c.Request().Header().Set("X-Greeted", "no"); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

func newGreet(config []byte) (sdk.Policy, error) {
	p := &greet{Greeting: "hello"}
	if err := json.Unmarshal(config, p); err != nil {
		return nil, err
	}
	return p, nil
}

func init() { sdk.Register("greet", newGreet) }

// A policy, registered under a name, run against the emulated host.
func Example() {
	h := sdktest.New()

	res := h.Do(sdktest.Request{Path: "/hello", ClientIP: "10.0.0.1"},
		sdktest.Attach("greet", `{"Greeting":"hi"}`))
	fmt.Println(res.Answered, res.Status, string(res.Body))

	res = h.Do(sdktest.Request{Path: "/pets", Header: http.Header{}},
		sdktest.Attach("greet", `{"Greeting":"hi"}`))
	fmt.Println(res.Answered, res.Status, res.Upstream.Header.Get("X-Greeted"))
	// Output:
	// true 200 hi, 10.0.0.1
	// false 200 no
}
