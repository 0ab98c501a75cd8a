package main

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTLSSummarize(t *testing.T) {
	rep := &tlsReport{Rounds: 3, Conns: 4, Streams: 8, HSConcurrency: 16, ClockTicks: 100, Pinned: true,
		Targets: []*tlsTarget{{Name: nameBare, Policies: -1, Mode: "go"}, {Name: nameGW0, Mode: "catalog"}, {Name: nameGW4, Policies: 4, Mode: "catalog"}},
		RSSKiB:  map[string]int64{nameBare: 10 << 10, nameGW0: 60 << 10}}
	run := func(round int, target, kind string, rate, cpu float64, p99ms int, gen, srv float64) tlsRun {
		return tlsRun{Round: round, Target: target, Kind: kind, Rate: rate, CPUPer: cpu,
			P50: time.Millisecond, P99: time.Duration(p99ms) * time.Millisecond,
			GeneratorCore: coreUse{Busy: gen}, ServerCore: coreUse{Busy: srv}}
	}
	// Round 2 is twice as fast for everyone: per-round ratios cancel it.
	rep.Runs = []tlsRun{
		run(1, nameBare, kindH2, 1000, 100, 10, 80, 99),
		run(1, nameGW0, kindH2, 900, 110, 12, 80, 99),
		run(1, nameGW4, kindH2, 800, 125, 20, 80, 99),
		run(2, nameBare, kindH2, 2000, 50, 5, 80, 99),
		run(2, nameGW0, kindH2, 1800, 56, 6, 80, 99),
		run(2, nameGW4, kindH2, 1600, 62, 10, 80, 99),
		run(3, nameBare, kindH2, 1100, 90, 10, 80, 99),
		run(3, nameGW0, kindH2, 1045, 95, 11, 80, 99),
		run(3, nameGW4, kindH2, 770, 130, 30, 80, 99),
		// Handshakes, generator-bound: only 2 rounds of gw-0.
		run(1, nameBare, kindFull, 3000, 200, 30, 100, 70),
		run(1, nameGW0, kindFull, 2900, 210, 31, 100, 72),
		run(3, nameBare, kindFull, 3100, 190, 30, 100, 70),
		run(3, nameGW0, kindFull, 3000, 200, 33, 100, 72),
	}
	rep.Runs[4].Errors = 7
	for i := range rep.Runs {
		rep.Runs[i].GenCPUPer = 300
		if rep.Runs[i].Kind == kindH2 {
			// The backend's CPU per request gauges the core: halved in
			// round 2, like everyone's.
			rep.Runs[i].BackendCPUPer = 50
			if rep.Runs[i].Round == 2 {
				rep.Runs[i].BackendCPUPer = 25
			}
		}
	}
	rep.Runs[4].H2 = &h2loadResult{TLS: "TLS Protocol: TLSv1.3"}
	rep.summarize()
	if len(rep.Summary) != 5 {
		t.Fatalf("%d rows, want 5 (3 h2, 2 full): %+v", len(rep.Summary), rep.Summary)
	}
	near := func(what string, got fnum, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	b, g0, g4, fb, f0 := rep.Summary[0], rep.Summary[1], rep.Summary[2], rep.Summary[3], rep.Summary[4]
	if b.Target != nameBare || g0.Target != nameGW0 || g4.Target != nameGW4 || fb.Kind != kindFull || f0.Target != nameGW0 {
		t.Fatalf("row order: %+v", rep.Summary)
	}
	near("bare rate", b.Rate, 1100)
	near("gw-0 ratio", g0.RatioVsBare, 0.9)   // 0.9, 0.9, 0.95
	near("gw-4 ratio", g4.RatioVsBare, 0.8)   // 0.8, 0.8, 0.7
	near("gw-4 +CPU", g4.CPUVsBare, 25)       // 25, 12, 40
	near("gw-4 CPU ratio", g4.CPURatio, 1.25) // 1.25, 1.24, 1.444
	near("gw-4 p99 ratio", g4.P99VsBare, 2)   // 2, 2, 3
	near("gw-0 +CPU", g0.CPUVsBare, 6)        // 10, 6, 5
	near("gw-0 rate min", g0.RateMin, 900)    //
	near("gw-0 rate max", g0.RateMax, 1800)   //
	near("full gw-0 ratio", f0.RatioVsBare, (2900.0/3000+3000.0/3100)/2)
	near("bare CPU norm", b.CPUNorm, 100)    // 100, 100, 90
	near("gw-4 CPU norm", g4.CPUNorm, 125)   // 125, 124, 130
	near("gw-4 +norm", g4.CPUNormVsBare, 25) // 25, 24, 40
	near("gw-0 +norm", g0.CPUNormVsBare, 10) // 10, 12, 5
	if f0.CPUNorm != 0 {
		t.Errorf("handshake rows have no backend: CPU norm %v", f0.CPUNorm)
	}
	if g0.Errors != 7 || g0.Rounds != 3 || f0.Rounds != 2 {
		t.Errorf("errors %d rounds %d/%d", g0.Errors, g0.Rounds, f0.Rounds)
	}
	if !math.IsNaN(float64(b.RatioVsBare)) && b.RatioVsBare != 1 {
		t.Errorf("bare vs itself: %v", b.RatioVsBare)
	}

	var out strings.Builder
	rep.printTables(&out)
	s := out.String()
	for _, want := range []string{
		"HTTP/2 over TLS: h2load -c 4 -m 8",
		"TLS handshakes, full (no resumption)",
		"conn/s", "CPU µs/hs", "CPU µs/req",
		"0.80×",  // gw-4's ratio
		"+25.0",  // gw-4's added CPU
		" 8000 ", // gw-4's req/s per core: 1e6 / 125 µs
		"GENERATOR-BOUND: bare full",
		"(generator 300.0 CPU µs/op, server 195.0)",
		"normalized by the backend's CPU per request (the core's speed in that run; +vs bare): bare 100.0, gw-0 110.0 (+10.0), gw-4 125.0 (+25.0)",
		"WARNING: gw-0 h2: 7 errors",
		"RSS after the runs: bare 10.0 MiB, gw-0 60.0 MiB",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "GENERATOR-BOUND: bare h2") {
		t.Errorf("h2 flagged generator-bound at 80%%:\n%s", s)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := rep.writeJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b2), `"ratio_vs_bare_median": 0.8`) {
		t.Errorf("JSON %s: %v", path, err)
	}
}

func TestTLSFlags(t *testing.T) {
	o, err := parseTLSFlags([]string{"-rounds", "2", "-kinds", "h2,full,h2", "-curve", "x25519"})
	if err != nil || o.rounds != 2 || o.curve != "x25519" {
		t.Fatalf("%+v %v", o, err)
	}
	if k, _ := parseKinds(o.kinds); strings.Join(k, ",") != "h2,full" {
		t.Errorf("kinds %q", k)
	}
	for _, bad := range [][]string{
		{"-kinds", "h3"},
		{"-kinds", ""},
		{"-curve", "p521"},
		{"-rounds", "0"},
		{"-duration", "500ms"},
		{"-streams", "0"},
		{"-hs-concurrency", "0"},
		{"stray"},
	} {
		if _, err := parseTLSFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	on, err := hsTargets("0", []int{0, 4})
	if err != nil || !on[nameBare] || !on[nameGW0] || on[nameGW4] {
		t.Errorf("hs 0: %v %v", on, err)
	}
	on, err = hsTargets("all", []int{0, 4})
	if err != nil || !on[nameGW0] || !on[nameGW4] {
		t.Errorf("hs all: %v %v", on, err)
	}
	if on, err := hsTargets("", []int{4, 0}); err != nil || len(on) != 2 || !on[nameGW4] {
		t.Errorf("hs default: %v %v", on, err)
	}
	for _, bad := range []string{"1", "4", "x", "0,gw-4"} {
		if _, err := hsTargets(bad, []int{0}); err == nil {
			t.Errorf("-hs-gateways %q accepted with -gateways 0", bad)
		}
	}
}
