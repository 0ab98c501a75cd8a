package cachestorevalue_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/cachestorevalue"
	"github.com/gatehouse/gatehouse/plugins/internal/valuecache"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(cachestorevalue.Name, cachestorevalue.New) }

func TestStores(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{Method: "PUT", Header: http.Header{"X-U": {"u1"}}},
		sdktest.Attach(cachestorevalue.Name, `{"key":"p-{header.X-U}","value":"{request.method} {{x}}","duration":5}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	v, ok := h.Cache.Get(valuecache.KeyPrefix+"p-u1", h.Now())
	if !ok || string(v) != "PUT {x}" {
		t.Errorf("cached %q %v", v, ok)
	}
	// Request phase only: the response phase is not handled.
	if len(res.Calls) != 2 || res.Calls[1].Result != 0x100 {
		t.Errorf("calls = %v", res.Calls)
	}
}
