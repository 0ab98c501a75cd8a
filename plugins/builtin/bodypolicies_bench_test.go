package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// bodyFixture reads a committed ~2.5 KB body of testdata/body.
func bodyFixture(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/body/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// setBodyTemplate is a set-body template that renders to order.json with
// two references (the literal braces doubled).
func setBodyTemplate(orderJSON string) string {
	t := strings.NewReplacer("{", "{{", "}", "}}").Replace(orderJSON)
	t = strings.Replace(t, `"ada@example.com"`, `"{header.X-User}"`, 1)
	return strings.Replace(t, `"ord_8f14e45fceea167a"`, `"{path.id}"`, 1)
}

// BenchmarkBodyPolicies prices one guest call of each body policy on the
// committed ~2.5 KB fixtures (testdata/body) through the real host: wazero,
// the built-in module (trusted runtime), the body in memory as the gateway
// holds it before the call. "baseline" (set-header, no body) is the cost of
// a guest call; "read-only" (find-and-replace without a match) adds the
// body crossing into the guest and one scan, so a policy minus read-only is
// its own work.
func BenchmarkBodyPolicies(b *testing.B) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: b.TempDir(), Services: &engine.Services{}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Load(ctx, "builtin", "1", hosttest.Guest(b, "plugins/builtin"), engine.LoadOptions{Min: 1, Max: 1, Trusted: true})
	if err != nil {
		b.Fatal(err)
	}
	orderJSON, orderXML := bodyFixture(b, "order.json"), bodyFixture(b, "order.xml")
	tmplCfg := `{"template":` + jsonString(setBodyTemplate(orderJSON)) + `,"phase":"response","content_type":"application/json"}`
	for _, c := range []struct {
		name, policy, cfg, body string
		response                bool
	}{
		{"baseline", "set-header", `{"name":"X-Bench","value":"1"}`, "", false},
		{"read-only", "find-and-replace", `{"from":"no such text","to":"x"}`, orderJSON, false},
		{"find-and-replace/10-matches", "find-and-replace", `{"from":"\"SKU-","to":"\"sku-"}`, orderJSON, false},
		{"find-and-replace/response", "find-and-replace", `{"from":"\"SKU-","to":"\"sku-","phase":"response"}`, orderJSON, true},
		{"json-to-xml", "json-to-xml", `{"apply":"always","consider_accept_header":false}`, orderJSON, false},
		{"json-to-xml/response", "json-to-xml", `{"apply":"always","consider_accept_header":false,"phase":"response"}`, orderJSON, true},
		{"xml-to-json", "xml-to-json", `{"kind":"javascript-friendly","apply":"always","consider_accept_header":false}`, orderXML, false},
		{"xml-to-json/direct", "xml-to-json", `{"kind":"direct","apply":"always","consider_accept_header":false}`, orderXML, false},
		{"xml-to-json/response", "xml-to-json", `{"kind":"javascript-friendly","apply":"always","consider_accept_header":false,"phase":"response"}`, orderXML, true},
		{"set-body/response", "set-body", tmplCfg, orderJSON, true},
	} {
		p, err := m.NewPlan(m.Attach(c.policy, []byte(c.cfg)))
		if err != nil {
			b.Fatal(err)
		}
		phase := engine.PhaseRequest
		if c.response {
			phase = engine.PhaseResponse
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			var ex *engine.Exchange
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				ex = &engine.Exchange{Method: "POST", Path: "/orders/1", RequestID: "r1", API: "orders",
					ReqHeader: http.Header{"X-Bench": {"v"}, "X-User": {"ada@example.org"}}, RespHeader: http.Header{"Content-Type": {"application/json"}}, Status: 200,
					Params: []engine.Param{{Name: "id", Value: "ord_1"}}}
				if c.response {
					ex.Phase = engine.PhaseResponse
					ex.RespBody.Load([]byte(c.body)) // the gateway buffered it before the call
				} else {
					ex.ReqBody.Load([]byte(c.body)) // the gateway received it before the call
				}
				if _, err := m.Call(ex, phase, p, engine.CallOptions{Deadline: time.Second}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			out := ex.ReqBody.Bytes
			if c.response {
				out = ex.RespBody.Bytes
			}
			if changed := string(out) != c.body; changed != (c.policy != "set-header" && c.name != "read-only") || len(out) < 1000 && c.body != "" {
				b.Fatalf("body changed %v (%d bytes): %.200s", changed, len(out), out)
			}
		})
	}
}

func jsonString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r < 0x20:
			sb.WriteString(`\u00`)
			sb.WriteByte("0123456789abcdef"[r>>4])
			sb.WriteByte("0123456789abcdef"[r&15])
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
