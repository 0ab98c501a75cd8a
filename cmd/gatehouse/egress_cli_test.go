package main

import (
	"strings"
	"testing"
)

// api create/update take --egress-allow (repeatable); a bad entry is the
// server's 400 naming egressAllow.
func TestAPIEgressAllowFlag(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	admOK(t, "api", "create", "--id", "eg", "--name", "Eg", "--path", "/eg", "--backend", "http://127.0.0.1:9999",
		"--egress-allow", "10.1.0.0/16", "--egress-allow", "billing.internal:8443")
	if out := admOK(t, "api", "get", "eg", "-o", "json"); !strings.Contains(out, `"10.1.0.0/16"`) || !strings.Contains(out, `"billing.internal:8443"`) {
		t.Errorf("api get:\n%s", out)
	}
	if out := admOK(t, "api", "update", "eg", "--egress-allow", "169.254.169.254", "-o", "json"); !strings.Contains(out, `"169.254.169.254"`) || strings.Contains(out, "billing.internal") {
		t.Errorf("api update:\n%s", out)
	}
	admFails(t, exitFailure, "egressAllow", "api", "update", "eg", "--egress-allow", "10.0.0.1/8")
}
