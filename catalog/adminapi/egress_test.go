package adminapi

import (
	"slices"
	"testing"
)

// The admin API takes an API's egress allow-list, refuses bad entries
// (400 naming egressAllow, catalog unchanged) and more literal forms of
// backend addresses.
func TestEgressAllowField(t *testing.T) {
	e, _ := badEnv(t)
	for _, bad := range [][]string{{"10.0.0.1/8"}, {"evil@host"}, {""}, {"*"}} {
		e.fieldFail("PUT", "/apis/echo", map[string]any{"name": "Echo", "pathPrefix": "/echo", "backendUrl": "https://backend.example", "egressAllow": bad}, "egressAllow")
	}
	for _, u := range []string{"http://0xa9fea9fe/", "http://0251.0376.0251.0376/", "http://127.1/", "http://good@evil/", "http://%31%32%37.0.0.1/", "http://[fe80::1%25eth0]/", "http://255.255.255.255/"} {
		e.fieldFail("PUT", "/apis/echo", map[string]any{"name": "Echo", "pathPrefix": "/echo", "backendUrl": u}, "backendUrl")
	}
	var a struct {
		EgressAllow []string `json:"egressAllow"`
	}
	e.must(200, "PUT", "/apis/echo", map[string]any{"name": "Echo", "pathPrefix": "/echo", "backendUrl": "http://169.254.169.254/",
		"egressAllow": []string{"169.254.169.254", "*.corp.example"}}, &a)
	e.must(200, "GET", "/apis/echo", nil, &a)
	if !slices.Equal(a.EgressAllow, []string{"169.254.169.254", "*.corp.example"}) {
		t.Errorf("egressAllow read back as %v", a.EgressAllow)
	}
}
