package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi/bodyconv"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestBodyConvertThroughHost runs json-to-xml and xml-to-json in the built
// module on the real host, where the host converts the body
// (body_convert): the result is the converter's, bad input and the limits
// get the answers they got when the guest converted.
func TestBodyConvertThroughHost(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Load(ctx, "builtin", "1", hosttest.Guest(t, "plugins/builtin"), engine.LoadOptions{Min: 1, Max: 1, Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(policy, cfg string) *engine.Plan {
		p, err := m.NewPlan(m.Attach(policy, []byte(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	j2x := plan("json-to-xml", `{"apply":"always","consider_accept_header":false}`)
	j2xSmall := plan("json-to-xml", `{"apply":"always","consider_accept_header":false,"max_body_bytes":2600}`)
	x2jResp := plan("xml-to-json", `{"kind":"direct","apply":"always","consider_accept_header":false,"always_array_child_elements":true,"phase":"response"}`)
	orderJSON, orderXML := bodyFixture(t, "order.json"), bodyFixture(t, "order.xml")
	type call struct {
		name     string
		plan     *engine.Plan
		body     string
		response bool
		loaded   bool // received by the gateway before the call
		opts     engine.CallOptions
	}
	run := func(c call) (*engine.Exchange, error) {
		ex := &engine.Exchange{Method: "POST", Path: "/o", RequestID: "r", API: "a",
			ReqHeader: http.Header{"Content-Type": {"application/json"}}, RespHeader: http.Header{"Content-Type": {"text/xml"}}, Status: 200}
		b := &ex.ReqBody
		phase := engine.PhaseRequest
		if c.response {
			ex.Phase, phase, b = engine.PhaseResponse, engine.PhaseResponse, &ex.RespBody
		}
		*b = engine.Body{Src: strings.NewReader(c.body), Limit: 1 << 20}
		if c.loaded {
			b.Load([]byte(c.body))
		}
		if c.opts.Deadline == 0 {
			c.opts.Deadline = 5 * time.Second
		}
		_, err := m.Call(ex, phase, c.plan, c.opts)
		return ex, err
	}

	// Converted: exactly the converter's output, relabelled.
	ex, err := run(call{name: "json", plan: j2x, body: orderJSON, loaded: true})
	want, _ := bodyconv.JSONToXML(nil, []byte(orderJSON), true, 1<<20)
	if err != nil || !bytes.Equal(ex.ReqBody.Bytes, want) || ex.ReqHeader.Get("Content-Type") != "application/xml" {
		t.Fatalf("json-to-xml: %v %q %.200s", err, ex.ReqHeader.Get("Content-Type"), ex.ReqBody.Bytes)
	}
	ex, err = run(call{name: "xml", plan: x2jResp, body: orderXML, response: true, loaded: true})
	want, _ = bodyconv.XMLToJSON(nil, []byte(orderXML), bodyconv.XMLOptions{Direct: true, AlwaysArray: true}, 1<<20)
	if err != nil || !bytes.Equal(ex.RespBody.Bytes, want) || ex.RespHeader.Get("Content-Type") != "application/json" || !json.Valid(ex.RespBody.Bytes) {
		t.Fatalf("xml-to-json: %v %q %.200s", err, ex.RespHeader.Get("Content-Type"), ex.RespBody.Bytes)
	}

	// Bad JSON in the request: 400 with encoding/json's message.
	bad := orderJSON[:len(orderJSON)/2]
	var v any
	jerr := json.Unmarshal([]byte(bad), &v)
	ex, err = run(call{plan: j2x, body: bad, loaded: true})
	if err != nil || !ex.Answered || ex.Status != 400 || !strings.Contains(string(ex.RespBody.Bytes), "The request body is not valid JSON: "+strings.TrimPrefix(jerr.Error(), "json: ")) {
		t.Fatalf("bad JSON: %v answered %v %d %s", err, ex.Answered, ex.Status, ex.RespBody.Bytes)
	}
	// Bad XML in the response: left as it is.
	ex, err = run(call{plan: x2jResp, body: "<a><b></a>", response: true, loaded: true})
	if err != nil || string(ex.RespBody.Bytes) != "<a><b></a>" || ex.RespHeader.Get("Content-Type") != "text/xml" {
		t.Fatalf("bad XML: %v %q %s", err, ex.RespHeader.Get("Content-Type"), ex.RespBody.Bytes)
	}
	// Empty body: left as it is, not relabelled.
	ex, err = run(call{plan: j2x, body: " \n", loaded: true})
	if err != nil || string(ex.ReqBody.Bytes) != " \n" || ex.ReqHeader.Get("Content-Type") != "application/json" {
		t.Fatalf("empty: %v %q %q", err, ex.ReqHeader.Get("Content-Type"), ex.ReqBody.Bytes)
	}

	// The limits fail the call and leave the body as it was.
	name := strings.Repeat("n", 1000)
	expanding := `{"` + name + `":[` + strings.Repeat("1,", 700) + `1]}` // 2.4 KB → 1.4 MB of XML
	for _, c := range []call{
		{name: "2.4 KB expanding past max_body_bytes (1 MiB)", plan: j2x, body: expanding, loaded: true},
		{name: "past the host's output cap", plan: j2x, body: `{"` + name[:30] + `":[` + strings.Repeat("1,", 1200) + `1]}`, loaded: true, opts: engine.CallOptions{MaxOutput: 64 << 10}},
		{name: "input over max_body_bytes", plan: j2xSmall, body: orderJSON + strings.Repeat(" ", 100), loaded: true},
		{name: "result over max_body_bytes", plan: j2xSmall, body: orderJSON, loaded: true},
		{name: "over the attachment's body cap", plan: j2x, body: orderJSON, loaded: true, opts: engine.CallOptions{MaxBody: 1000}},
		{name: "not received for the policy", plan: j2x, body: orderJSON},
	} {
		ex, err := run(c)
		if err == nil || ex.Answered || string(ex.ReqBody.Bytes) != c.body && c.loaded {
			t.Errorf("%s: err %v answered %v body %.80q", c.name, err, ex.Answered, ex.ReqBody.Bytes)
		}
	}
}
