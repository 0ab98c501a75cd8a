package setvariable_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setvariable"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setvariable.Name, setvariable.New) }

func TestTemplate(t *testing.T) {
	req := sdktest.Request{
		Method: "POST", Path: "/api/users/42", PathPrefix: "/api", Query: "a=1&q=hello%20world&q=2",
		Header: http.Header{"X-User": {"alice", "bob"}},
		Params: map[string]string{"id": "42"},
		Vars:   map[string]string{"tenant": "t1"},
	}
	res := sdktest.New().Do(req,
		sdktest.Attach(setvariable.Name, `{"name":"v","value":"{{{header.x-user}|{query.q}|{path.id}|{var.tenant}|{request.method}|{request.path}|{header.Absent}{query.none}{path.none}{var.none}}}"}`),
		sdktest.Attach(setvariable.Name, `{"name":"w","value":"[{var.v}]"}`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := res.Vars["v"], "{alice|hello world|42|t1|POST|/users/42|}"; got != want {
		t.Errorf("v = %q, want %q", got, want)
	}
	if got := res.Vars["w"]; got != "[{alice|hello world|42|t1|POST|/users/42|}]" {
		t.Errorf("w = %q", got)
	}
	if res.Calls[1].Result&abi.FlagNoHandler == 0 {
		t.Errorf("response phase not marked unhandled: %v", res.Calls)
	}
}

func TestResponsePhase(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Path: "/x"},
		sdktest.Attach(setvariable.Name, `{"name":"v","value":"{request.path}","phase":"response"}`))
	if res.Err != nil || res.Vars["v"] != "/x" {
		t.Errorf("err %v, vars %v", res.Err, res.Vars)
	}
	if res.Calls[0].Result&abi.FlagNoHandler == 0 {
		t.Errorf("calls = %v", res.Calls)
	}
}

func TestClientControlledValue(t *testing.T) {
	// A header cannot carry CR/LF, but a query value can: it is stored as
	// is (variables are not headers), and a later policy putting it into a
	// header is refused by the host.
	res := sdktest.New().Do(sdktest.Request{Query: "q=a%0D%0AX-Evil:%201"},
		sdktest.Attach(setvariable.Name, `{"name":"v","value":"{query.q}"}`))
	if res.Err != nil || res.Vars["v"] != "a\r\nX-Evil: 1" {
		t.Errorf("err %v, v %q", res.Err, res.Vars["v"])
	}
}

func TestTooLarge(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Vars: map[string]string{"big": strings.Repeat("x", 40<<10)}},
		sdktest.Attach(setvariable.Name, `{"name":"v","value":"{var.big}{var.big}"}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("err %v status %d", res.Err, res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "name is required"},
		{`{"name":"v"}`, "value is required"},
		{`{"name":"` + strings.Repeat("n", 129) + `","value":""}`, "name is longer"},
		{`{"name":"v","value":"{nope}"}`, "value: unknown reference {nope}"},
		{`{"name":"v","value":"{header.X"}`, "value: unclosed {"},
		{`{"name":"v","value":"x","phase":"outbound"}`, `phase "outbound"`},
		{`{"name":"v","value":1}`, `field "value": expected a string`},
		{`{"name":"v","value":"x","extra":1}`, `unknown field "extra"`},
	} {
		_, err := setvariable.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
