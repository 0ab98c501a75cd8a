package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("odd: %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("even: %v", got)
	}
	in := []float64{5, 1}
	median(in)
	if in[0] != 5 {
		t.Error("median sorted its input")
	}
	if !math.IsNaN(float64(median(nil))) {
		t.Error("empty: not NaN")
	}
}

// fakeRun is a measured run with the numbers the summary uses.
func fakeRun(round int, target string, rps, cpu float64) runRecord {
	return runRecord{Round: round, Target: target, CPUPerReq: cpu, BackendCPUPerReq: 20,
		Wrk: wrkResult{RPS: rps, P50: time.Millisecond, P99: 4 * time.Millisecond}}
}

func TestSummarizeRatiosWithinRounds(t *testing.T) {
	rep := &report{Rounds: 3, ColdReadyMs: 800, WarmReadyMs: 300,
		Targets: []*target{{Name: nameBare}, {Name: nameGW0}, {Name: nameGW4}},
		RSSKiB:  map[string]int64{nameBare: 10 << 10, nameGW0: 30 << 10, nameGW4: 80 << 10},
	}
	// Round 2 runs everything at half speed (a disturbed machine): ratios
	// within rounds stay put, which the median of per-round ratios shows.
	for r, scale := range map[int]float64{1: 1, 2: 0.5, 3: 1} {
		rep.Runs = append(rep.Runs,
			fakeRun(r, nameBare, 10000*scale, 50),
			fakeRun(r, nameGW0, 9000*scale, 55),
			fakeRun(r, nameGW4, 8000*scale, 60+float64(r)))
	}
	rep.summarize()
	gw4 := rep.Summary[2]
	if gw4.Target != nameGW4 || math.Abs(float64(gw4.RatioVsBare)-0.8) > 1e-9 ||
		math.Abs(float64(gw4.RatioVsGW0)-8.0/9) > 1e-9 || gw4.CPUVsBare != 12 || gw4.RSSMiB != 80 {
		t.Fatalf("gw-4 row %+v", gw4)
	}
	if rep.Summary[0].RatioVsBare != 1 || rep.Summary[0].CPUVsBare != 0 {
		t.Fatalf("bare row %+v", rep.Summary[0])
	}
	// gw-0 0.90× short, gw-4 0.80× short, +12 µs short, p99 1.00× pass,
	// cold 800 ms pass, warm 300 ms short.
	want := []bool{false, false, false, true, true, false}
	if len(rep.Budget) != len(want) {
		t.Fatalf("budget %+v", rep.Budget)
	}
	for i, w := range want {
		if rep.Budget[i].Passed != w {
			t.Errorf("budget line %q: pass=%v, want %v", rep.Budget[i].What, rep.Budget[i].Passed, w)
		}
	}
	if false {
		t.Fatalf("budget %+v", rep.Budget)
	}
	var out bytes.Buffer
	rep.printTable(&out)
	for _, want := range []string{"gw-4", "0.80×", "+12.0", "SHORT", "PASS", "control"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReportJSONWithMissingTargets(t *testing.T) {
	// Only the bare proxy ran: medians against gw-0 are NaN and must not
	// break the JSON.
	rep := &report{Rounds: 1, Targets: []*target{{Name: nameBare}}, RSSKiB: map[string]int64{}}
	rep.Runs = []runRecord{fakeRun(1, nameBare, 10000, 50)}
	rep.summarize()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ratio_vs_gw0_median":null`) {
		t.Fatalf("NaN not written as null: %s", b)
	}
	var out bytes.Buffer
	rep.printTable(&out)
	if !strings.Contains(out.String(), "not checked") {
		t.Errorf("no note that the chain's budget was not checked:\n%s", out.String())
	}
}

func TestFmtMs(t *testing.T) {
	for in, want := range map[float64]string{0.609: "609µs", 2.27: "2.27ms", 1240: "1.24s", math.NaN(): "—"} {
		if got := fmtMs(in); got != want {
			t.Errorf("fmtMs(%v) = %q, want %q", in, got, want)
		}
	}
}
