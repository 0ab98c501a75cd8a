package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/plugins/embedded"
	"github.com/golang-jwt/jwt/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	testJWTOnce sync.Once
	testJWT     *jwtMaterial
)

func jwtForTest(t testing.TB) *jwtMaterial {
	testJWTOnce.Do(func() {
		m, err := newJWTMaterial()
		if err != nil {
			t.Fatal(err)
		}
		testJWT = m
	})
	return testJWT
}

// Every generated config parses strictly, validates, attaches exactly the
// spec's policies, and every policy config satisfies the built-in's schema.
func TestPolicyGatewayConfigs(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{}
	for _, p := range embedded.Policies() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.ConfigSchema))
		if err != nil {
			t.Fatal(p.Name, err)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		loc := "mem:///" + p.Name + ".json"
		if err := c.AddResource(loc, doc); err != nil {
			t.Fatal(err)
		}
		if schemas[p.Name], err = c.Compile(loc); err != nil {
			t.Fatal(p.Name, err)
		}
	}
	names := map[string]bool{}
	for _, s := range policySpecs(jwtForTest(t)) {
		if names[s.Name] {
			t.Errorf("duplicate target %q", s.Name)
		}
		names[s.Name] = true
		if s.Name == nameBare || s.Name == nameGW0 || strings.ContainsAny(s.Name, "/ @") {
			t.Errorf("bad target name %q", s.Name)
		}
		cfg, err := policyGatewayConfig(s, "http://127.0.0.1:9")
		if err != nil {
			t.Fatal(err)
		}
		c, err := gateway.ParseYAML([]byte(cfg))
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, cfg)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v\n%s", s.Name, err, cfg)
		}
		if len(c.APIs) != 1 || c.APIs[0].PathPrefix != "/bench" {
			t.Fatalf("%s: APIs %+v", s.Name, c.APIs)
		}
		pol := c.APIs[0].Policies
		if len(pol.Inbound) != len(s.Inbound) || len(pol.Outbound) != len(s.Outbound) || s.steps() == 0 {
			t.Errorf("%s: %d inbound, %d outbound steps in\n%s", s.Name, len(pol.Inbound), len(pol.Outbound), cfg)
		}
		if !slices.ContainsFunc(append(slices.Clone(s.Inbound), s.Outbound...), func(st policyStep) bool { return st.Policy == s.Policy }) {
			t.Errorf("%s: measured policy %q not attached", s.Name, s.Policy)
		}
		for _, st := range append(slices.Clone(pol.Inbound), pol.Outbound...) {
			sch, ok := schemas[st.Policy]
			if !ok {
				t.Errorf("%s: %q is not a built-in policy", s.Name, st.Policy)
				continue
			}
			raw := []byte(st.Config)
			if len(raw) == 0 {
				raw = []byte("{}")
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %s config %s: %v", s.Name, st.Policy, raw, err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("%s: %s config %s: %v", s.Name, st.Policy, raw, err)
			}
		}
		if strings.Contains(cfg, "\t") {
			t.Errorf("%s: tab in YAML", s.Name)
		}
	}
	// Every built-in policy is measured (alone, or in a named pair) or
	// listed as skipped with a reason.
	measured := map[string]bool{}
	for _, s := range policySpecs(jwtForTest(t)) {
		measured[s.Policy] = true
	}
	for name := range schemas {
		if !measured[name] && policySkipped[name] == "" {
			t.Errorf("built-in policy %q has no target and is not in policySkipped", name)
		}
	}
}

func TestPolicyConfigRoundTripsPEM(t *testing.T) {
	jm := jwtForTest(t)
	specs := policySpecs(jm)
	i := slices.IndexFunc(specs, func(s policySpec) bool { return s.Name == "validate-jwt-rs256" })
	cfg, err := policyGatewayConfig(specs[i], "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	c, err := gateway.ParseYAML([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PEM string `json:"public_key_pem"`
	}
	if err := json.Unmarshal(c.APIs[0].Policies.Inbound[0].Config, &got); err != nil || got.PEM != jm.RSAPublicPEM {
		t.Fatalf("PEM did not survive YAML: %v\n%q", err, got.PEM)
	}
}

func TestJWTMaterialVerifiesNatively(t *testing.T) {
	jm := jwtForTest(t)
	rs := nativeVerifier("RS256", &jm.RSAKey.PublicKey)
	hs := nativeVerifier("HS256", []byte(jm.HMACSecret))
	if err := rs(jm.RS256Token); err != nil {
		t.Fatal("RS256:", err)
	}
	if err := hs(jm.HS256Token); err != nil {
		t.Fatal("HS256:", err)
	}
	if len(jm.HMACSecret) < 32 {
		t.Fatalf("HMAC secret of %d bytes: validate-jwt wants ≥ 32", len(jm.HMACSecret))
	}
	// The check is a real one: wrong algorithm, wrong key, tampering fail.
	if rs(jm.HS256Token) == nil || hs(jm.RS256Token) == nil {
		t.Error("algorithm confusion accepted")
	}
	if hs(jm.HS256Token[:len(jm.HS256Token)-2]+"AA") == nil {
		t.Error("tampered signature accepted")
	}
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": jwtIssuer, "aud": "api://other", "exp": jwtExp}).SignedString([]byte(jm.HMACSecret))
	if hs(other) == nil {
		t.Error("wrong audience accepted")
	}
	if r, err := measureNative("HS256", hs, jm.HS256Token, 50*time.Millisecond, 100); err != nil || r.Iterations < 100 {
		t.Fatalf("%+v %v", r, err)
	}
}

func BenchmarkNativeRS256(b *testing.B) {
	jm := jwtForTest(b)
	v := nativeVerifier("RS256", &jm.RSAKey.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := v(jm.RS256Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNativeHS256(b *testing.B) {
	jm := jwtForTest(b)
	v := nativeVerifier("HS256", []byte(jm.HMACSecret))
	b.ReportAllocs()
	for b.Loop() {
		if err := v(jm.HS256Token); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSplitBatches(t *testing.T) {
	for _, c := range []struct {
		n, size int
		want    []int
	}{
		{25, 7, []int{7, 6, 6, 6}},
		{25, 6, []int{5, 5, 5, 5, 5}},
		{3, 7, []int{3}},
		{7, 7, []int{7}},
		{8, 7, []int{4, 4}},
		{0, 7, nil},
	} {
		var got []int
		next := 0
		for _, s := range splitBatches(c.n, c.size) {
			if s[0] != next {
				t.Fatalf("%d by %d: gap at %v", c.n, c.size, s)
			}
			got, next = append(got, s[1]-s[0]), s[1]
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%d by %d: %v, want %v", c.n, c.size, got, c.want)
		}
	}
}

func TestSelectSpecs(t *testing.T) {
	all := policySpecs(&jwtMaterial{})
	got, err := selectSpecs(all, " cors, set-header ")
	if err != nil || len(got) != 2 || got[0].Name != "cors" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := selectSpecs(all, "nope"); err == nil {
		t.Fatal("unknown name accepted")
	}
	if got, _ := selectSpecs(all, ""); len(got) != len(all) {
		t.Fatal("empty -only does not select all")
	}
}

// The summary compares each policy with bare and gw-0 of its own batch and
// round, never another batch's.
func TestPolicySummaryPerBatchAndRound(t *testing.T) {
	specs := policySpecs(&jwtMaterial{})
	rep := &policyReport{Rounds: 2, specs: map[string]*policySpec{},
		Native:  []nativeResult{{Alg: "RS256", CPUPerOp: 30}},
		Batches: [][]string{{nameBare, nameGW0, "set-header"}, {nameBare, nameGW0, "validate-jwt-rs256"}}}
	for i := range specs {
		rep.specs[specs[i].Name] = &specs[i]
	}
	run := func(batch, round int, name string, cpu, rps float64) {
		rep.Runs = append(rep.Runs, runRecord{Batch: batch, Round: round, Target: name, CPUPerReq: cpu, Wrk: wrkResult{RPS: rps}})
	}
	// batch 1: gw-0 at 50 then 60; set-header +1 and +3 → median +2.
	run(1, 1, nameBare, 40, 100)
	run(1, 1, nameGW0, 50, 90)
	run(1, 1, "set-header", 51, 88)
	run(1, 2, nameBare, 45, 100)
	run(1, 2, nameGW0, 60, 90)
	run(1, 2, "set-header", 63, 80)
	// batch 2: a much slower machine; the JWT adds 31 and 33 → 32 ≤ 30+2.
	run(2, 1, nameBare, 80, 50)
	run(2, 1, nameGW0, 90, 45)
	run(2, 1, "validate-jwt-rs256", 121, 30)
	run(2, 2, nameBare, 80, 50)
	run(2, 2, nameGW0, 90, 45)
	run(2, 2, "validate-jwt-rs256", 123, 30)
	rep.summarize()
	if len(rep.Summary) != 2 || len(rep.References) != 4 {
		t.Fatalf("%d rows, %d references", len(rep.Summary), len(rep.References))
	}
	sh, jw := rep.Summary[0], rep.Summary[1]
	if sh.CPUVsGW0 != 2 || sh.CPUVsBare != 14.5 || sh.Verdict != "PASS" || sh.LimitUs != 2 {
		t.Errorf("set-header %+v", sh)
	}
	if jw.CPUVsGW0 != 32 || jw.CPUVsBare != 42 || jw.Verdict != "PASS" || jw.LimitUs != 32 {
		t.Errorf("jwt %+v", jw)
	}
	rep.Native = nil
	rep.summarize()
	if rep.Summary[1].Verdict != "—" {
		t.Errorf("JWT without a native figure judged: %+v", rep.Summary[1])
	}
	var buf bytes.Buffer
	rep.printTable(&buf)
	if !strings.Contains(buf.String(), "validate-jwt-rs256") || !strings.Contains(buf.String(), "batch 2 gw-0") {
		t.Errorf("table:\n%s", buf.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

// The backend's XML answer and its query echo, used by the policy targets.
func TestBackendXMLAndQueryEcho(t *testing.T) {
	if len(backendXML) != 100 {
		t.Fatalf("XML body is %d bytes, want 100", len(backendXML))
	}
	rec := httptest.NewRecorder()
	backendHandler{}.ServeHTTP(rec, httptest.NewRequest("GET", xmlPath, nil))
	if rec.Body.String() != backendXML || rec.Header().Get("Content-Type") != "application/xml" {
		t.Fatalf("%q %v", rec.Body.String(), rec.Header())
	}
	rec = httptest.NewRecorder()
	backendHandler{}.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/x?a=1&_echo", nil))
	if !strings.HasPrefix(rec.Body.String(), "POST /v2/x?a=1&_echo\n") {
		t.Fatalf("%q", rec.Body.String())
	}
}

// checkPolicyTarget refuses a gateway whose policy did not act.
func TestCheckPolicyTarget(t *testing.T) {
	backend := httptest.NewServer(backendHandler{})
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	plain := httptest.NewServer(http.StripPrefix("/bench", newBareProxy(u)))
	defer plain.Close()
	specs := policySpecs(&jwtMaterial{})
	get := func(name string) *policySpec {
		return &specs[slices.IndexFunc(specs, func(s policySpec) bool { return s.Name == name })]
	}
	ctx := context.Background()
	// ip-filter's allowed path looks like a plain proxy: accepted.
	if _, err := checkPolicyTarget(ctx, &policyTarget{target: &target{Name: "ip-filter", URL: plain.URL + "/bench/"}, spec: get("ip-filter")}, backend.URL); err != nil {
		t.Errorf("ip-filter: %v", err)
	}
	for _, name := range []string{"set-header", "check-header", "cors", "cache-hit", "set-status", "rewrite-uri", "json-to-xml", "set-method"} {
		s := get(name)
		pt := &policyTarget{target: &target{Name: name, URL: plain.URL + "/bench/" + s.Path}, spec: s, headers: s.Headers}
		if _, err := checkPolicyTarget(ctx, pt, backend.URL); err == nil {
			t.Errorf("%s: a proxy without the policy passed the check", name)
		}
	}
}
