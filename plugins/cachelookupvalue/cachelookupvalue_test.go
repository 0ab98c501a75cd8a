package cachelookupvalue_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/cachelookupvalue"
	"github.com/gatehouse/gatehouse/plugins/cachestorevalue"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() {
	sdk.Register(cachelookupvalue.Name, cachelookupvalue.New)
	sdk.Register(cachestorevalue.Name, cachestorevalue.New)
}

func TestStoreAndLookup(t *testing.T) {
	h := sdktest.New()
	now := time.Unix(1_700_000_000, 0)
	h.Now = func() time.Time { return now }
	store := sdktest.Attach(cachestorevalue.Name, `{"key":"profile-{header.X-User}","value":"{var.profile}","duration":60}`)
	lookup := sdktest.Attach(cachelookupvalue.Name, `{"key":"profile-{header.X-User}","variable_name":"cached"}`)
	withDefault := sdktest.Attach(cachelookupvalue.Name, `{"key":"profile-{header.X-User}","variable_name":"cached","default_value":"none"}`)
	alice := func() sdktest.Request {
		return sdktest.Request{Header: http.Header{"X-User": {"alice"}}, Vars: map[string]string{"profile": `{"name":"Alice"}`}}
	}
	// A miss leaves the variable unset; with a default it is set.
	if res := h.Do(alice(), lookup); res.Err != nil || res.Vars["cached"] != "" {
		t.Fatalf("miss: %v %q", res.Err, res.Vars["cached"])
	}
	if _, set := h.Do(alice(), lookup).Vars["cached"]; set {
		t.Error("miss set the variable")
	}
	if res := h.Do(alice(), withDefault); res.Vars["cached"] != "none" {
		t.Errorf("default: %q", res.Vars["cached"])
	}
	if res := h.Do(alice(), store); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := h.Do(alice(), lookup); res.Vars["cached"] != `{"name":"Alice"}` {
		t.Errorf("hit: %q", res.Vars["cached"])
	}
	// Another user: another key.
	if res := h.Do(sdktest.Request{Header: http.Header{"X-User": {"bob"}}}, withDefault); res.Vars["cached"] != "none" {
		t.Errorf("bob: %q", res.Vars["cached"])
	}
	// Expired after the duration.
	now = now.Add(61 * time.Second)
	if res := h.Do(alice(), withDefault); res.Vars["cached"] != "none" {
		t.Errorf("after expiry: %q", res.Vars["cached"])
	}
}

func TestResponsePhaseStoreAndLongKeys(t *testing.T) {
	h := sdktest.New()
	long := strings.Repeat("k", 1000)
	store := sdktest.Attach(cachestorevalue.Name, `{"key":"{header.X-K}","value":"{var.v}","duration":60,"phase":"response"}`)
	setInResponse := sdktest.Attach("test-set-var", "")
	res := h.Do(sdktest.Request{Header: http.Header{"X-K": {long}}}, setInResponse, store)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = h.Do(sdktest.Request{Header: http.Header{"X-K": {long}}}, sdktest.Attach(cachelookupvalue.Name, `{"key":"{header.X-K}","variable_name":"got"}`))
	if res.Err != nil || res.Vars["got"] != "from-response" {
		t.Errorf("long key: %v %q", res.Err, res.Vars["got"])
	}
}

// setVar sets v in the response phase.
type setVar struct{ sdk.Base }

func (setVar) OnResponse(c *sdk.Context) sdk.Action {
	if err := c.Vars().Set("v", "from-response"); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

func init() {
	sdk.Register("test-set-var", func([]byte) (sdk.Policy, error) { return setVar{}, nil })
}

func TestBestEffort(t *testing.T) {
	h := sdktest.New()
	h.Cache = nil // no cache capability
	res := h.Do(sdktest.Request{}, sdktest.Attach(cachestorevalue.Name, `{"key":"k","value":"v","duration":1}`),
		sdktest.Attach(cachelookupvalue.Name, `{"key":"k","variable_name":"x","default_value":"d"}`))
	if res.Err != nil || res.Vars["x"] != "d" || len(res.Logs) != 2 {
		t.Errorf("err %v x=%q logs %v", res.Err, res.Vars["x"], res.Logs)
	}
	// A value over 64 KiB is not stored.
	h = sdktest.New()
	big := strings.Repeat("b", 64<<10+1)
	res = h.Do(sdktest.Request{Vars: map[string]string{"big": big[:64<<10]}},
		sdktest.Attach(cachestorevalue.Name, `{"key":"k","value":"{var.big}x","duration":60}`),
		sdktest.Attach(cachelookupvalue.Name, `{"key":"k","variable_name":"x"}`))
	if res.Err != nil || res.Vars["x"] != "" || len(res.Logs) != 1 {
		t.Errorf("big: err %v x=%d logs %v", res.Err, len(res.Vars["x"]), res.Logs)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct {
		new         func([]byte) (sdk.Policy, error)
		config, err string
	}{
		{cachelookupvalue.New, `{"variable_name":"v"}`, "key is required"},
		{cachelookupvalue.New, `{"key":"{x}","variable_name":"v"}`, "key: unknown reference {x}"},
		{cachelookupvalue.New, `{"key":"k"}`, "variable_name is required"},
		{cachelookupvalue.New, `{"key":"k","variable_name":"` + strings.Repeat("v", 129) + `"}`, "variable_name"},
		{cachelookupvalue.New, `{"key":"k","variable_name":"v","default_value":"` + strings.Repeat("d", 65537) + `"}`, "default_value"},
		{cachestorevalue.New, `{"value":"v","duration":1}`, "key is required"},
		{cachestorevalue.New, `{"key":"k","duration":1}`, "value is required"},
		{cachestorevalue.New, `{"key":"k","value":"{var.}","duration":1}`, "value: unknown reference"},
		{cachestorevalue.New, `{"key":"k","value":"v"}`, "duration must be"},
		{cachestorevalue.New, `{"key":"k","value":"v","duration":86401}`, "duration must be"},
		{cachestorevalue.New, `{"key":"k","value":"v","duration":1,"phase":"outbound"}`, `phase "outbound"`},
	} {
		if _, err := tc.new([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%.60s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
