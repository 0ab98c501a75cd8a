package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// TestSummarizeBackendNormalized uses the per-run figures of the
// 2026-12-05 quiet-machine run (/work/briefs/bench-quiet1.txt): gw-4's
// runs of rounds 3–5 landed on a slowed core (the backend, which does the
// same work in every run, needed 43 CPU µs/req instead of 26–32), and the
// raw medians put the request log at ≈ +45 µs/request. Scaled by the
// backend, gw-4 and gw-4-nolog are within a few µs.
func TestSummarizeBackendNormalized(t *testing.T) {
	type fig struct{ cpu, backend float64 }
	runs := map[string][5]fig{
		nameBare:     {{103.7, 35.2}, {64.2, 22.7}, {64.6, 23.1}, {71.1, 25.3}, {75.7, 26.9}},
		nameGW4:      {{111.0, 31.7}, {85.7, 26.2}, {138.1, 43.3}, {145.4, 43.3}, {133.7, 42.0}},
		nameGW4NoLog: {{105.2, 32.0}, {130.1, 40.3}, {88.2, 27.5}, {83.8, 26.9}, {85.9, 28.3}},
	}
	rep := &report{Rounds: 5, Targets: []*target{{Name: nameBare}, {Name: nameGW4}, {Name: nameGW4NoLog}}, RSSKiB: map[string]int64{}}
	for name, rs := range runs {
		for i, f := range rs {
			rep.Runs = append(rep.Runs, runRecord{Round: i + 1, Target: name, CPUPerReq: f.cpu, BackendCPUPerReq: f.backend,
				Wrk: wrkResult{RPS: 1e6 / f.cpu, P50: time.Millisecond, P99: 4 * time.Millisecond}})
		}
	}
	rep.summarize()
	row := map[string]summaryRow{}
	for _, s := range rep.Summary {
		row[s.Target] = s
	}
	rawLog := -float64(row[nameGW4NoLog].CPUVsGW4)
	normLog := -float64(row[nameGW4NoLog].CPUNormVsGW4)
	if rawLog < 30 {
		t.Fatalf("raw log cost %+.1f µs: the fixture no longer shows the artefact", rawLog)
	}
	if math.Abs(normLog) > 8 {
		t.Errorf("backend-normalized log cost %+.1f µs (raw %+.1f): normalization did not remove the slowed runs", normLog, rawLog)
	}
	if n := float64(row[nameGW4].CPUNormVsBare); n >= float64(row[nameGW4].CPUVsBare) || n <= 0 {
		t.Errorf("gw-4 +CPU vs bare: raw %+.1f, normalized %+.1f", row[nameGW4].CPUVsBare, n)
	}
	var out bytes.Buffer
	rep.printTable(&out)
	for _, want := range []string{"CPU norm", "SLOW: in ", "request log on (gw-4 − gw-4-nolog)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("log cost: raw %+.1f µs, normalized %+.1f µs; gw-4 vs bare: raw %+.1f, normalized %+.1f",
		rawLog, normLog, row[nameGW4].CPUVsBare, row[nameGW4].CPUNormVsBare)
}

func TestSlowRun(t *testing.T) {
	kept := []runRecord{{BackendCPUPerReq: 26}, {BackendCPUPerReq: 28}, {BackendCPUPerReq: 30}}
	if slow, _ := slowRun(kept[:2], runRecord{BackendCPUPerReq: 100}); slow {
		t.Error("slow with fewer than 3 earlier runs")
	}
	if slow, m := slowRun(kept, runRecord{BackendCPUPerReq: 43.3}); !slow || m != 28 {
		t.Errorf("43.3 vs median 28: slow=%v m=%v", slow, m)
	}
	if slow, _ := slowRun(kept, runRecord{BackendCPUPerReq: 34}); slow {
		t.Error("34 vs median 28 (1.21×) counted slow")
	}
	if f := normFactor(30, 0); f != 1 {
		t.Errorf("normFactor without a backend figure = %v", f)
	}
}
