package catalogsource

import (
	"fmt"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// transport maps a catalog API's transport settings onto the gateway API
// the YAML config would give (backend_protocol, backend_tls,
// client_certificate, websocket): the gateway compiles both the same way.
// The client key is the value of the secret named value the API names.
func (m *mapper) transport(ga *gateway.API, a catalog.API) error {
	t := a.APITransport
	ga.BackendProtocol = t.BackendProtocol
	if t.BackendProtocol == catalog.ProtocolGRPC {
		ga.BackendProtocol = gateway.BackendH2
	}
	if b := t.BackendTLS; b != nil {
		gb := &gateway.BackendTLS{ServerName: b.ServerName, MinVersion: b.MinVersion}
		if b.CAPEM != "" {
			gb.CAPEM = []byte(b.CAPEM)
		}
		if b.ClientCertPEM != "" {
			key, ok := m.values[b.ClientKeyNamedValue]
			if !ok {
				return fmt.Errorf("api %s: backendTls.clientKeyNamedValue: no named value %q", a.ID, b.ClientKeyNamedValue)
			}
			gb.ClientCertPEM, gb.ClientKeyPEM = []byte(b.ClientCertPEM), []byte(key)
		}
		ga.BackendTLS = gb
	}
	if c := t.ClientCertificate; c != nil {
		gc := &gateway.ClientCertificate{Thumbprints: c.Thumbprints}
		if c.CAPEM != "" {
			gc.CAPEM = []byte(c.CAPEM)
		}
		ga.ClientCertificate = gc
	}
	if w := t.WebSocket; w != nil {
		idle, maxDur := w.Durations()
		ga.WebSocket = gateway.WebSocketConfig{IdleTimeout: gateway.Duration(idle), MaxDuration: gateway.Duration(maxDur)}
	}
	return nil
}

// usesClientKeys reports whether an API names a client key (a named
// value the build must then read).
func usesClientKeys(apis []catalog.API) bool {
	for _, a := range apis {
		if a.BackendTLS != nil && a.BackendTLS.ClientKeyNamedValue != "" {
			return true
		}
	}
	return false
}
