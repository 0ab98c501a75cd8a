package adminapi

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

const importTransportDoc = "openapi: 3.0.0\ninfo: {title: Pay, version: '1'}\npaths:\n  /p:\n    get: {responses: {'200': {description: ok}}}\n"

// POST /apis/import takes an API's transport fields: on create as
// POST /apis does; on re-import a field given replaces the stored one
// (null clears it) and an absent one is kept. Bad values are 400s naming
// the field, and write nothing.
func TestImportTransport(t *testing.T) {
	e := newEnv(t)
	var rep struct{ API catalog.API }
	e.must(201, "POST", "/apis/import", `{"document": `+jsonText(importTransportDoc)+`, "pathPrefix": "/pay", "backendUrl": "https://127.0.0.1:8443",
		"backendProtocol": "h2", "backendTls": {"serverName": "pay.internal"}, "websocket": {"idleTimeout": "30s"}}`, &rep)
	want := catalog.APITransport{BackendProtocol: "h2", BackendTLS: &catalog.BackendTLS{ServerName: "pay.internal"}, WebSocket: &catalog.WebSocketLimits{IdleTimeout: "30s"}}
	get := func() catalog.APITransport {
		var a catalog.API
		e.must(200, "GET", "/apis/pay", nil, &a)
		return a.APITransport
	}
	if got := get(); !equalTransport(got, want) {
		t.Fatalf("after create: %+v", got)
	}
	// Absent: kept. Given: replaced. null: cleared.
	e.must(200, "POST", "/apis/import", `{"apiId": "pay", "document": `+jsonText(importTransportDoc)+`}`, nil)
	if got := get(); !equalTransport(got, want) {
		t.Fatalf("re-import without transport: %+v", got)
	}
	e.must(200, "POST", "/apis/import", `{"apiId": "pay", "document": `+jsonText(importTransportDoc)+`, "backendTls": {"minVersion": "1.3"}, "websocket": null}`, nil)
	want.BackendTLS, want.WebSocket = &catalog.BackendTLS{MinVersion: "1.3"}, nil
	if got := get(); !equalTransport(got, want) {
		t.Fatalf("re-import with backendTls and websocket null: %+v", got)
	}
	// The same refusal, and path, as POST /apis gives for the same value.
	for _, c := range []struct{ body, field string }{
		{`"backendProtocol": "h3"`, "backendProtocol"},
		{`"backendTls": {"bogus": 1}`, "bogus"},
		{`"backendTls": {"minVersion": 3}`, "backendTls.minVersion"}, // not "APITransport.backendTls…"
		{`"websocket": {"idleTimeout": "25h"}`, "websocket.idleTimeout"},
		{`"clientCertificate": {"thumbprints": ["abc"]}`, "clientCertificate.thumbprints[0]"},
	} {
		e.fieldFail("POST", "/apis", `{"id": "other", "name": "Other", "pathPrefix": "/other", "backendUrl": "https://127.0.0.1:1", `+c.body+`}`, c.field)
		for _, id := range []string{`"apiId": "pay", `, `"name": "Other", "pathPrefix": "/other", "backendUrl": "https://127.0.0.1:1", `} {
			e.fieldFail("POST", "/apis/import", `{`+id+`"document": `+jsonText(importTransportDoc)+`, `+c.body+`}`, c.field)
		}
	}
	if got := get(); !equalTransport(got, want) {
		t.Fatalf("after refused imports: %+v", got)
	}
	e.must(404, "GET", "/apis/other", nil, nil)
}

func equalTransport(a, b catalog.APITransport) bool {
	return transportJSON(a) == transportJSON(b)
}

func transportJSON(t catalog.APITransport) string {
	b, _ := json.Marshal(t)
	return string(b)
}

func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
