package adminapi

import (
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// BenchmarkAuth prices the authentication path: GET /version over
// loopback with the break-glass token (a constant-time compare) and with
// a personal token (SHA-256 and a token ⋈ admin lookup in SQLite).
func BenchmarkAuth(b *testing.B) {
	e := newEnv(b)
	_, tok := e.newAdmin("bench@example.com", catalog.RoleViewer)
	for _, c := range []struct{ name, tok string }{{"break-glass", testToken}, {"personal", tok}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if r := e.as(c.tok, "GET", "/version", nil); r.status != 200 {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
		})
	}
}
