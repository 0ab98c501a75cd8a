package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzUpgradeKind: any Connection and Upgrade values a client sends are
// classified without a panic, and only an HTTP/1.1 GET whose Connection
// lists the upgrade token and whose single Upgrade value is websocket is
// passed through as a WebSocket; one without the token is no upgrade at all.
func FuzzUpgradeKind(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "Upgrade", "websocket"}, {"GET", "keep-alive, Upgrade", "WebSocket"}, {"POST", "upgrade", "websocket"},
		{"GET", "Upgrade", "h2c"}, {"GET", "Upgrade, HTTP2-Settings", "h2c"}, {"GET", "Upgrade", "TLS/1.0"},
		{"GET", "close", "websocket"}, {"GET", "", "websocket"}, {"GET", "Upgrade", ""}, {"GET", ",,upgrade ,", " websocket "},
		{"GET", "Upgradee", "websocket"}, {"GET", "Upgrade", "websocket, foo"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, method, connection, upgrade string) {
		r := &http.Request{Method: method, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
		if connection != "" {
			r.Header["Connection"] = []string{connection}
		}
		if upgrade != "" {
			r.Header["Upgrade"] = []string{upgrade}
		}
		kind := upgradeKind(r)
		listed := false
		for _, f := range strings.Split(connection, ",") {
			listed = listed || strings.EqualFold(strings.TrimSpace(f), "upgrade")
		}
		switch {
		case !listed || upgrade == "":
			if kind != "" {
				t.Fatalf("Connection %q Upgrade %q: %q, want no upgrade", connection, upgrade, kind)
			}
		case kind == "websocket":
			if method != http.MethodGet || !strings.EqualFold(strings.TrimSpace(upgrade), "websocket") {
				t.Fatalf("%s with Upgrade %q passed as websocket", method, upgrade)
			}
		case kind == "":
			t.Fatalf("Connection %q Upgrade %q: no upgrade, want websocket, ignore or refuse", connection, upgrade)
		}
	})
}
