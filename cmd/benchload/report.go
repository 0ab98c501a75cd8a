package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runRecord is one measured wrk run of one target.
type runRecord struct {
	Round            int       `json:"round"`
	Batch            int       `json:"batch,omitempty"` // policies mode: the batch of gateways the run belongs to
	Position         int       `json:"position"`        // place in the round's shuffled order
	Target           string    `json:"target"`
	Warmup           wrkResult `json:"warmup"`
	Wrk              wrkResult `json:"wrk"`
	CPUTicks         uint64    `json:"cpu_ticks"`         // target process, during the measured run
	CPUPerReq        float64   `json:"cpu_us_per_req"`    // CPUTicks / Wrk.Requests in µs
	BackendTicks     uint64    `json:"backend_cpu_ticks"` // backend process, same window
	BackendCPUPerReq float64   `json:"backend_cpu_us_per_req"`
	ServerCore       coreUse   `json:"server_core"`    // CPU 1 when pinned, else all
	GeneratorCore    coreUse   `json:"generator_core"` // CPU 0 when pinned, else all
	// ForeignPct is CPU time that none of target, backend and wrk used, in
	// percent of one core: other processes on the machine (or softirq work
	// the kernel charged to no process). Above a few percent the run was
	// disturbed.
	ForeignPct float64 `json:"foreign_pct_of_core"`
	Attempts   int     `json:"attempts"` // > 1: earlier attempts were disturbed and discarded
}

// summaryRow is one line of the result table.
type summaryRow struct {
	Target      string `json:"target"`
	RPS         fnum   `json:"req_per_s_median"`
	P50         fnum   `json:"p50_ms_median"`
	P99         fnum   `json:"p99_ms_median"`
	CPUPerReq   fnum   `json:"cpu_us_per_req_median"`
	CPUVsBare   fnum   `json:"cpu_us_vs_bare_median"` // median of per-round differences
	RSSMiB      fnum   `json:"rss_mib"`
	RatioVsBare fnum   `json:"ratio_vs_bare_median"` // median of per-round ratios
	RatioVsGW0  fnum   `json:"ratio_vs_gw0_median"`
	// RatioVsGW4 and CPUVsGW4 compare a row with gw-4 (per round); on
	// gw-4-nolog they are the request log's cost seen from the other side.
	// P99VsBare is the median of per-round p99 ratios against bare.
	P99VsBare     fnum  `json:"p99_vs_bare_median"`
	RatioVsGW4    fnum  `json:"ratio_vs_gw4_median,omitempty"`
	CPUVsGW4      fnum  `json:"cpu_us_vs_gw4_median,omitempty"`
	Non2xx        int64 `json:"non_2xx_total"`
	SocketErrors  int64 `json:"socket_errors_total"`
	RPSMin        fnum  `json:"req_per_s_min"`
	RPSMax        fnum  `json:"req_per_s_max"`
	BackendPerReq fnum  `json:"backend_cpu_us_per_req_median"`
	// CPUNorm is the CPU per request scaled, run by run, by the backend's
	// median CPU per request over its CPU per request in that run (see
	// normFactor); CPUNormVsBare and CPUNormVsGW4 are the per-round
	// differences of those.
	CPUNorm       fnum `json:"cpu_us_per_req_backend_normalized_median"`
	CPUNormVsBare fnum `json:"cpu_us_vs_bare_backend_normalized_median"`
	CPUNormVsGW4  fnum `json:"cpu_us_vs_gw4_backend_normalized_median,omitempty"`
}

// budgetLine is one target of DESIGN.md's performance budget.
type budgetLine struct {
	What   string `json:"what"`
	Limit  string `json:"limit"`
	Value  fnum   `json:"value"`
	Shown  string `json:"shown"`
	Passed bool   `json:"pass"`
}

// report is everything a run produced; it is written as JSON.
type report struct {
	Started        time.Time          `json:"started"`
	Seed           uint64             `json:"seed"`
	Rounds         int                `json:"rounds"`
	Duration       string             `json:"duration"`
	Warmup         string             `json:"warmup"`
	Conns          int                `json:"conns"`
	NProc          int                `json:"nproc"`
	Pinned         bool               `json:"pinned"`
	ClockTicks     int64              `json:"clk_tck"`
	Gatehouse      string             `json:"gatehouse"`
	GatehouseBuilt time.Time          `json:"gatehouse_mtime"`
	WrkVersion     string             `json:"wrk_version"`
	Targets        []*target          `json:"targets"`
	ReadyPolicies  int                `json:"start_to_ready_policies"`
	ColdReadyMs    float64            `json:"start_to_ready_cold_ms"`
	WarmReadyMs    float64            `json:"start_to_ready_warm_ms"`
	DemoIdle       *demoIdle          `json:"demo_idle,omitempty"` // serve --demo, first start, idle (start.go)
	LoadReadyMs    map[string]float64 `json:"load_gateways_ready_ms"`
	Runs           []runRecord        `json:"runs"`
	Discarded      []runRecord        `json:"discarded_runs"` // disturbed attempts that were measured again
	RSSKiB         map[string]int64   `json:"rss_kib"`
	// InstanceMiB is gw-4's guest memory resident per live instance after
	// the load (its metrics), Instances how many there were; 0 if unknown.
	InstanceMiB   fnum         `json:"gw4_guest_memory_resident_mib_per_instance,omitempty"`
	Instances     int          `json:"gw4_live_instances,omitempty"`
	Summary       []summaryRow `json:"summary"`
	BackendPerReq fnum         `json:"backend_cpu_us_per_req_median"`
	Budget        []budgetLine `json:"budget"`
	Skipped       []string     `json:"skipped,omitempty"` // rows that could not run, and why
	LoadBefore    string       `json:"loadavg_before,omitempty"`
	LoadAfter     string       `json:"loadavg_after,omitempty"`
}

// median of xs (NaN for none); xs is not modified.
func median(xs []float64) fnum {
	if len(xs) == 0 {
		return fnum(math.NaN())
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return fnum(s[n/2])
	}
	return fnum((s[n/2-1] + s[n/2]) / 2)
}

// summarize computes the table rows from the runs: medians over rounds, and
// ratios and differences taken within each round before the median, so that
// drift between rounds cancels.
func (rep *report) summarize() {
	byRound := map[int]map[string]runRecord{}
	for _, r := range rep.Runs {
		if byRound[r.Round] == nil {
			byRound[r.Round] = map[string]runRecord{}
		}
		byRound[r.Round][r.Target] = r
	}
	var backend []float64
	for _, r := range rep.Runs {
		backend = append(backend, r.BackendCPUPerReq)
	}
	rep.BackendPerReq = median(backend)
	norm := func(r runRecord) float64 {
		return r.CPUPerReq * normFactor(float64(rep.BackendPerReq), r.BackendCPUPerReq)
	}
	rep.Summary = nil
	for _, t := range rep.Targets {
		var rps, p50, p99, cpu, dcpu, rb, rg, be, r4, d4, p99b, cn, dn, dn4 []float64
		row := summaryRow{Target: t.Name, RSSMiB: fnum(float64(rep.RSSKiB[t.Name]) / 1024)}
		for round := 1; round <= rep.Rounds; round++ {
			r, ok := byRound[round][t.Name]
			if !ok {
				continue
			}
			rps = append(rps, r.Wrk.RPS)
			p50 = append(p50, ms(r.Wrk.P50))
			p99 = append(p99, ms(r.Wrk.P99))
			cpu = append(cpu, r.CPUPerReq)
			cn = append(cn, norm(r))
			be = append(be, r.BackendCPUPerReq)
			row.Non2xx += r.Wrk.Non2xx
			row.SocketErrors += r.Wrk.SockErrs.Total()
			if b, ok := byRound[round][nameBare]; ok && b.Wrk.RPS > 0 {
				rb = append(rb, r.Wrk.RPS/b.Wrk.RPS)
				dcpu = append(dcpu, r.CPUPerReq-b.CPUPerReq)
				dn = append(dn, norm(r)-norm(b))
				if b.Wrk.P99 > 0 {
					p99b = append(p99b, float64(r.Wrk.P99)/float64(b.Wrk.P99))
				}
			}
			if g, ok := byRound[round][nameGW0]; ok && g.Wrk.RPS > 0 {
				rg = append(rg, r.Wrk.RPS/g.Wrk.RPS)
			}
			if g, ok := byRound[round][nameGW4]; ok && g.Wrk.RPS > 0 && (t.Name == nameGW4Log || t.Name == nameGW4NoLog || t.Name == nameGW4YAML) {
				r4 = append(r4, r.Wrk.RPS/g.Wrk.RPS)
				d4 = append(d4, r.CPUPerReq-g.CPUPerReq)
				dn4 = append(dn4, norm(r)-norm(g))
			}
		}
		row.RPS, row.P50, row.P99 = median(rps), median(p50), median(p99)
		row.CPUPerReq, row.CPUVsBare = median(cpu), median(dcpu)
		row.RatioVsBare, row.RatioVsGW0 = median(rb), median(rg)
		row.BackendPerReq = median(be)
		row.P99VsBare = median(p99b)
		row.CPUNorm, row.CPUNormVsBare = median(cn), median(dn)
		if len(r4) > 0 {
			row.RatioVsGW4, row.CPUVsGW4, row.CPUNormVsGW4 = median(r4), median(d4), median(dn4)
		}
		if len(rps) > 0 {
			row.RPSMin, row.RPSMax = fnum(slices.Min(rps)), fnum(slices.Max(rps))
		}
		rep.Summary = append(rep.Summary, row)
	}
	rep.Budget = rep.budget()
}

// normFactor is the backend's median CPU per request over its CPU per
// request in one run. The backend does the same work for every request of
// every run, so its CPU per request is a gauge of how fast the server core
// ran during that run: on a shared machine a run can be 1.3–1.6× slower
// for everything on the core (cache and memory-bandwidth pressure,
// frequency, hyperthread siblings) without other processes using that core's
// time, which ForeignPct cannot see. 1 when either figure is missing.
func normFactor(backendMedian, backendRun float64) float64 {
	if backendMedian <= 0 || backendRun <= 0 || math.IsNaN(backendMedian) || math.IsNaN(backendRun) {
		return 1
	}
	return backendMedian / backendRun
}

// slowFactor: a run whose backend CPU per request exceeds the median of
// the earlier runs' by this factor ran on a slowed core; it is measured
// again (within -retries) and counted as SLOW.
const slowFactor = 1.25

// slowRun reports whether rec's backend CPU per request is more than
// slowFactor times the median of kept (at least 3 earlier runs).
func slowRun(kept []runRecord, rec runRecord) (bool, float64) {
	if len(kept) < 3 || rec.BackendCPUPerReq <= 0 {
		return false, 0
	}
	var be []float64
	for _, r := range kept {
		be = append(be, r.BackendCPUPerReq)
	}
	m := float64(median(be))
	return rec.BackendCPUPerReq > slowFactor*m, m
}

// budget checks the numbers against issue 12's targets (ratios against the
// bare proxy in the same rounds).
func (rep *report) budget() []budgetLine {
	var gw0, gw4, gw4log, nolog *summaryRow
	for i := range rep.Summary {
		switch rep.Summary[i].Target {
		case nameGW0:
			gw0 = &rep.Summary[i]
		case nameGW4:
			gw4 = &rep.Summary[i]
		case nameGW4Log:
			gw4log = &rep.Summary[i]
		case nameGW4NoLog:
			nolog = &rep.Summary[i]
		}
	}
	var out []budgetLine
	if gw0 != nil {
		out = append(out,
			budgetLine{What: "no policy req/s vs bare (target 1.0×)", Limit: "≥ 0.95×", Value: gw0.RatioVsBare,
				Shown: fmt.Sprintf("%.2f×", gw0.RatioVsBare), Passed: gw0.RatioVsBare >= 0.95})
	}
	if gw4 != nil {
		out = append(out,
			budgetLine{What: "4-policy chain req/s vs bare (target 0.9×)", Limit: "≥ 0.85×", Value: gw4.RatioVsBare,
				Shown: fmt.Sprintf("%.2f×", gw4.RatioVsBare), Passed: gw4.RatioVsBare >= 0.85},
			budgetLine{What: "4-policy chain CPU vs bare", Limit: "≤ +8 µs/req", Value: gw4.CPUVsBare,
				Shown: fmt.Sprintf("%+.1f µs", gw4.CPUVsBare), Passed: gw4.CPUVsBare <= 8},
			budgetLine{What: "4-policy chain p99 vs bare", Limit: "≤ 1.25×", Value: gw4.P99VsBare,
				Shown: fmt.Sprintf("%.2f×", gw4.P99VsBare), Passed: gw4.P99VsBare <= 1.25})
	}
	if gw4 != nil && gw4log != nil {
		out = append(out,
			budgetLine{What: "request log on: gw-4-log req/s vs gw-4", Limit: "≥ 0.97×", Value: gw4log.RatioVsGW4,
				Shown: fmt.Sprintf("%.3f×", gw4log.RatioVsGW4), Passed: gw4log.RatioVsGW4 >= 0.97})
	}
	if gw4 != nil && nolog != nil && nolog.RatioVsGW4 > 0 {
		on := 1 / nolog.RatioVsGW4
		out = append(out,
			budgetLine{What: "request log on: gw-4 req/s vs gw-4-nolog", Limit: "≥ 0.97×", Value: on,
				Shown: fmt.Sprintf("%.3f×", on), Passed: on >= 0.97})
	}
	out = append(out,
		budgetLine{What: "start to ready, cold (empty data dir)", Limit: "≤ 1 s",
			Value: fnum(rep.ColdReadyMs), Shown: fmt.Sprintf("%.0f ms", rep.ColdReadyMs), Passed: rep.ColdReadyMs <= 1000},
		budgetLine{What: "start to ready, warm compilation cache", Limit: "≤ 150 ms",
			Value: fnum(rep.WarmReadyMs), Shown: fmt.Sprintf("%.0f ms", rep.WarmReadyMs), Passed: rep.WarmReadyMs <= 150})
	if d := rep.DemoIdle; d != nil {
		mib := float64(d.Mem.RSS) / 1024
		out = append(out, budgetLine{What: "idle RSS of serve --demo", Limit: "≤ 64 MiB",
			Value: fnum(mib), Shown: fmt.Sprintf("%.1f MiB", mib), Passed: mib <= 64})
	}
	return out
}

// fnum is a float64 that is written to JSON as null when it is NaN or
// infinite (a median of nothing), which encoding/json would refuse.
type fnum float64

// MarshalJSON implements json.Marshaler.
func (f fnum) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMs formats milliseconds like wrk does (µs below 1 ms).
func fmtMs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 1000:
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.2fs", v/1000)
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

// printTable writes the result table, the budget and the notes.
func (rep *report) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nResults: %d round(s) × %s per target, %d connections, medians over rounds (seed %d)\n\n",
		rep.Rounds, rep.Duration, rep.Conns, rep.Seed)
	const row = "%-10s %-7s %9s %9s %9s %11s %16s %9s %10s %8s %14s %14s %12s\n"
	fmt.Fprintf(w, row, "target", "mode", "req/s", "p50", "p99", "CPU µs/req", "+CPU µs vs bare", "CPU norm", "+norm", "RSS MiB", "ratio vs bare", "ratio vs gw-0", "p99 vs bare")
	fmt.Fprintf(w, row, "----------", "-------", "---------", "---------", "---------", "-----------", "----------------", "---------", "----------", "--------", "--------------", "--------------", "------------")
	for _, s := range rep.Summary {
		plus, plusN := fmt.Sprintf("%+.1f", s.CPUVsBare), fmt.Sprintf("%+.1f", s.CPUNormVsBare)
		if s.Target == nameBare {
			plus, plusN = "—", "—"
		}
		mode := ""
		for _, t := range rep.Targets {
			if t.Name == s.Target {
				mode = t.Mode
			}
		}
		fmt.Fprintf(w, row, s.Target, mode, fmt.Sprintf("%.0f", s.RPS), fmtMs(float64(s.P50)), fmtMs(float64(s.P99)),
			fmt.Sprintf("%.1f", s.CPUPerReq), plus, fmt.Sprintf("%.1f", s.CPUNorm), plusN, fmt.Sprintf("%.1f", s.RSSMiB),
			fmtRatio(float64(s.RatioVsBare)), fmtRatio(float64(s.RatioVsGW0)), fmtRatio(float64(s.P99VsBare)))
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(w, "SKIPPED: %s\n", sk)
	}
	if rep.LoadBefore != "" {
		fmt.Fprintf(w, "load average before: %s; after: %s\n", rep.LoadBefore, rep.LoadAfter)
	}
	fmt.Fprintf(w, "\nbackend (reference, not in the ratios): %.1f CPU µs/req (median over all %d runs), RSS %.1f MiB\n",
		rep.BackendPerReq, len(rep.Runs), float64(rep.RSSKiB[nameBackend])/1024)
	fmt.Fprintf(w, "start to ready (exec → first 200 through /bench, %d policies): cold cache %.0f ms, warm cache %.0f ms\n",
		rep.ReadyPolicies, rep.ColdReadyMs, rep.WarmReadyMs)
	if rep.DemoIdle != nil {
		fmt.Fprintf(w, "serve --demo idle RSS (first start, no traffic): %s\n", fmtMem(rep.DemoIdle.Mem))
	}
	var errs []string
	for _, s := range rep.Summary {
		if s.Non2xx > 0 || s.SocketErrors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d non-2xx, %d socket errors", s.Target, s.Non2xx, s.SocketErrors))
		}
	}
	noisy := 0
	for _, r := range rep.Runs {
		if r.ForeignPct > foreignWarnPct {
			noisy++
		}
	}
	slow := 0
	for _, r := range rep.Runs {
		if f := normFactor(float64(rep.BackendPerReq), r.BackendCPUPerReq); f < 1/slowFactor {
			slow++
		}
	}
	if slow > 0 {
		fmt.Fprintf(w, "SLOW: in %d kept run(s) the backend needed > %.2f× its median CPU per request: the core ran slow for everything then (see \"CPU norm\")\n", slow, slowFactor)
	}
	for _, s := range rep.Summary {
		if s.Target == nameGW4NoLog && !math.IsNaN(float64(s.CPUNormVsGW4)) {
			fmt.Fprintf(w, "request log on (gw-4 − gw-4-nolog), median of per-round differences: %+.1f CPU µs/req raw, %+.1f backend-normalized\n",
				-s.CPUVsGW4, -s.CPUNormVsGW4)
		}
	}
	if len(rep.Discarded) > 0 || noisy > 0 {
		fmt.Fprintf(w, "NOISE: %d run(s) were disturbed by other processes and measured again; %d kept run(s) are still disturbed (see foreign_pct_of_core in the JSON)\n",
			len(rep.Discarded), noisy)
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "WARNING: errors during measured runs (req/s counts them too): %s\n", strings.Join(errs, "; "))
	}

	fmt.Fprintf(w, "\nTargets (DESIGN.md, \"Performance budget\"):\n")
	for _, b := range rep.Budget {
		verdict := "SHORT"
		if b.Passed {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "  %-40s %-12s %10s   %s\n", b.What, b.Limit, b.Shown, verdict)
	}
	if len(rep.Budget) < 4 {
		fmt.Fprintf(w, "  (no 4-policy gateway in this run: the chain's budget was not checked)\n")
	}
	gw4, ok4 := rep.RSSKiB[nameGW4]
	gw0, ok0 := rep.RSSKiB[nameGW0]
	if rep.InstanceMiB > 0 {
		verdict := "SHORT"
		if rep.InstanceMiB <= 4 {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "  %-40s %-12s %10s   %s (gw-4's guest memory resident per live instance, %d instance(s), from its metrics; the Go-side structures of an instance are not counted)\n",
			"RSS per warm instance", "≤ 4 MiB", fmt.Sprintf("%.1f MiB", float64(rep.InstanceMiB)), verdict, rep.Instances)
	} else if ok4 && ok0 {
		fmt.Fprintf(w, "  %-40s %-12s %10s   (gw-4 − gw-0 RSS is %.1f MiB; instance count not visible from outside)\n",
			"RSS per warm instance", "≤ 4 MiB", "not isolated", float64(gw4-gw0)/1024)
	}
	fmt.Fprintf(w, "\nNote: gw-0 (the gateway with no policies) is the control: expect ±10%% run to run on this\n"+
		"machine class. Ratios are medians of per-round ratios (targets measured in the same round);\n"+
		"+CPU is the median of per-round differences. CPU is the target process only (utime+stime from\n"+
		"/proc, %d ticks/s) per request wrk completed; the backend's CPU is separate. \"CPU norm\" scales\n"+
		"each run's CPU by the backend's median CPU/req over its CPU/req in that run (the backend does the\n"+
		"same work in every run, so it gauges how fast the shared core ran); \"+norm\" is its per-round\n"+
		"difference to bare.\n", rep.ClockTicks)
	if !rep.Pinned {
		fmt.Fprintf(w, "Note: processes were NOT pinned (fewer than 2 cores): generator and servers share CPUs.\n")
	}
}

// writeJSON writes the report to DIR/benchload-TIMESTAMP.json.
func (rep *report) writeJSON(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "benchload-"+rep.Started.Format("20060102-150405")+".json")
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}
