package setqueryparameter_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/plugins/setqueryparameter"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(setqueryparameter.Name, setqueryparameter.New) }

func TestQuery(t *testing.T) {
	const in = "b=%7E%41&a=1&c&a%3D=x&A=2&a=3&d=e+f"
	for _, tc := range []struct{ query, config, want string }{
		{in, `{"name":"a","value":"new val"}`, "b=%7E%41&c&a%3D=x&A=2&d=e+f&a=new+val"},
		{in, `{"name":"a","values":["x","y&z"],"exists_action":"override"}`, "b=%7E%41&c&a%3D=x&A=2&d=e+f&a=x&a=y%26z"},
		{in, `{"name":"a","value":"v","exists_action":"skip"}`, in},
		{in, `{"name":"z","value":"v","exists_action":"skip"}`, in + "&z=v"},
		{in, `{"name":"a","value":"v","exists_action":"append"}`, in + "&a=v"},
		{in, `{"name":"a","exists_action":"delete"}`, "b=%7E%41&c&a%3D=x&A=2&d=e+f"},
		{in, `{"name":"a=","exists_action":"delete"}`, "b=%7E%41&a=1&c&A=2&a=3&d=e+f"},
		{in, `{"name":"c","exists_action":"delete"}`, "b=%7E%41&a=1&a%3D=x&A=2&a=3&d=e+f"},
		{in, `{"name":"zz","exists_action":"delete"}`, in},
		{"", `{"name":"a","value":""}`, "a="},
		{"", `{"name":"a b","value":"é\r\n"}`, "a+b=%C3%A9%0D%0A"},
		{"", `{"name":"a","exists_action":"delete"}`, ""},
		{"a=1", `{"name":"a","exists_action":"delete"}`, ""},
		{"x%2Dy=1&k=v", `{"name":"x-y","value":"2"}`, "k=v&x-y=2"},
	} {
		res := sdktest.New().Do(sdktest.Request{Query: tc.query}, sdktest.Attach(setqueryparameter.Name, tc.config))
		if res.Err != nil {
			t.Errorf("%s: %v", tc.config, res.Err)
			continue
		}
		if res.Upstream.Query != tc.want {
			t.Errorf("%q %s: query %q, want %q", tc.query, tc.config, res.Upstream.Query, tc.want)
		}
		if res.Calls[1].Result&abi.FlagNoHandler == 0 {
			t.Errorf("%s: response phase not marked unhandled", tc.config)
		}
	}
}

func TestTooLong(t *testing.T) {
	q := "a=" + strings.Repeat("x", 8<<10)
	res := sdktest.New().Do(sdktest.Request{Query: q}, sdktest.Attach(setqueryparameter.Name, `{"name":"b","value":"1"}`))
	if res.Err == nil || res.Status != 500 {
		t.Errorf("err %v status %d", res.Err, res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "name is required"},
		{`{"name":"a"}`, "value or values is required"},
		{`{"name":"a","values":[]}`, "value or values is required"},
		{`{"name":"a","value":"x","values":["y"]}`, "value and values are exclusive"},
		{`{"name":"a","value":"x","exists_action":"delete"}`, "must not be set"},
		{`{"name":"a","value":"x","exists_action":"replace"}`, `exists_action "replace"`},
		{`{"name":"a","value":"` + strings.Repeat("x", 8<<10) + `"}`, "values: the query would exceed 8 KiB"},
		{`{"name":"a","values":"x"}`, `field "values": expected a list`},
		{`{"name":"a","value":"x","phase":"request"}`, `unknown field "phase"`},
	} {
		_, err := setqueryparameter.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
