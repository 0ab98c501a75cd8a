// Command counterguest is a test policy module that imports counter_add
// (capability "counters"): it counts requests per API and tells the
// backend the count in X-Hits. The grants tests upload it without and then
// with the counters grant.
package main

import (
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

type hits struct{ sdk.Base }

func (hits) OnRequest(c *sdk.Context) sdk.Action {
	r, err := c.Counter("hits").Add(1, 0, time.Hour, sdk.FixedWindow)
	if err != nil {
		return c.Fail(err)
	}
	if err := c.Request().Header().Set("X-Hits", strconv.FormatInt(r.Count, 10)); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

func init() {
	sdk.Register("counterguest", func([]byte) (sdk.Policy, error) { return hits{}, nil })
}

func main() {}
