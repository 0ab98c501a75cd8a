package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// TestBackendFields checks the ABI v1.1 backend fields through the gateway
// with the raw probe guest: defaults, the host's URL checks, the override's
// effect on the forwarded request, and the phase rules.
func TestBackendFields(t *testing.T) {
	other := newBackend(t)
	op := func(id, tmpl, cmds string) gateway.Operation {
		return gateway.Operation{ID: id, Method: "*", Template: tmpl, Policies: gateway.Policy{Inbound: []gateway.Step{probeStep(cmds)}}}
	}
	be := api("be", "/be", gateway.Policy{},
		op("defaults", "/defaults", "field-to-header:16;field-to-header:17;field-to-header:18;field-to-header:19"),
		op("switch", "/switch/{id}", "set-field:16="+other.URL+"/v9;set-field:17=1500;field-to-header:16;field-to-header:17"),
		op("meta", "/meta", "set-field:16=http://169.254.169.254/latest"),
		op("creds", "/creds", "set-field:16=http://u:p@example.com"),
		op("badtimeout", "/badtimeout", "set-field:17=0"),
		op("badretry", "/badretry", `set-field:18={"count":0}`),
		gateway.Operation{ID: "onerror", Method: "GET", Template: "/onerror", Policies: gateway.Policy{
			Inbound: []gateway.Step{probeStep("fail")},
			OnError: []gateway.Step{probeStep("set-field:16=" + other.URL + ";respond:299=changed")},
		}},
	)
	// other is on loopback, not the API's own backend: the override needs
	// an egress allow entry naming its address and port.
	be.EgressAllow = []string{strings.TrimPrefix(other.URL, "http://")}
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{be}})
	en.be.last.Store(nil)
	resp, body := en.do("GET", "/be/defaults", nil, "")
	last := en.be.last.Load()
	if resp.StatusCode != 200 || last == nil {
		t.Fatalf("defaults: %d %s", resp.StatusCode, body)
	}
	if last.Header.Get("X-Field-16") != en.be.URL || last.Header.Get("X-Field-17") != "30000" ||
		last.Header.Get("X-Field-18") != "" || last.Header.Get("X-Field-19") != "false" {
		t.Errorf("defaults: %v", last.Header)
	}

	resp, body = en.do("POST", "/be/switch/7?q=1", nil, "payload")
	last = other.last.Load()
	if resp.StatusCode != 200 || body != "echo POST /v9/switch/7?q=1 payload" || last == nil {
		t.Fatalf("switch: %d %q", resp.StatusCode, body)
	}
	if last.Header.Get("X-Field-16") != other.URL+"/v9" || last.Header.Get("X-Field-17") != "1500" {
		t.Errorf("after set: %v", last.Header)
	}

	for _, p := range []string{"/be/meta", "/be/creds", "/be/badtimeout", "/be/badretry"} {
		hits := other.hits.Load() + en.be.hits.Load()
		if resp, body := en.do("GET", p, nil, ""); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: %d %q, want 500 (the host refuses the value)", p, resp.StatusCode, body)
		}
		if other.hits.Load()+en.be.hits.Load() != hits {
			t.Errorf("%s: a backend was called", p)
		}
	}
	// backend fields cannot be set in on-error: the on-error policy fails
	// and the client gets the original failure's generic answer
	if resp, body := en.do("GET", "/be/onerror", nil, ""); resp.StatusCode != 500 {
		t.Errorf("on-error set: %d %q", resp.StatusCode, body)
	}
}
