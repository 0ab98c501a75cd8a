package sdktest

import (
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestClientCertFields: the emulator answers the client certificate fields
// (ABI v1.2) from Request.ClientCert through abi/hostcall, "" without one,
// and refuses set_field on them (ErrInvalid; ErrPhase in the response phase,
// as for every field but the cache status).
func TestClientCertFields(t *testing.T) {
	cert := &ClientCert{Subject: "CN=client,O=Example", Issuer: "CN=Example CA", Thumbprint: "ab12", NotAfter: "2030-01-02T03:04:05Z"}
	want := map[int32]string{
		abi.FieldClientCertSubject:    cert.Subject,
		abi.FieldClientCertIssuer:     cert.Issuer,
		abi.FieldClientCertThumbprint: cert.Thumbprint,
		abi.FieldClientCertNotAfter:   cert.NotAfter,
	}
	for _, phase := range []int{phaseRequest, phaseResponse} {
		with := newX(t, New(), phase, Request{ClientCert: cert})
		without := newX(t, New(), phase, Request{})
		for f, v := range want {
			buf := make([]byte, 64)
			if n := with.GetField(7, f, buf); n != int32(len(v)) || string(buf[:n]) != v {
				t.Errorf("phase %d field %d = %d %q, want %q", phase, f, n, buf[:max(n, 0)], v)
			}
			if n := without.GetField(7, f, buf); n != 0 {
				t.Errorf("phase %d field %d without a certificate = %d", phase, f, n)
			}
			wantSet := abi.ErrInvalid
			if phase == phaseResponse {
				wantSet = abi.ErrPhase // set_field's phase rule comes first
			}
			if st := with.SetField(7, f, []byte("x")); st != wantSet {
				t.Errorf("phase %d set_field %d = %d, want %d", phase, f, st, wantSet)
			}
		}
	}
	if n := newX(t, New(), phaseRequest, Request{ClientCert: cert}).GetField(7, 36, nil); n != abi.ErrInvalid {
		t.Errorf("field 36 = %d, want ErrInvalid", n)
	}
}
