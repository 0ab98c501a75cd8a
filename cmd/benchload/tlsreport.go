package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// tlsRun is one measured run of one target and kind in the tls mode.
type tlsRun struct {
	Round         int              `json:"round"`
	Position      int              `json:"position"`
	Attempts      int              `json:"attempts"`
	Target        string           `json:"target"`
	Kind          string           `json:"kind"`          // h2, full, resumed
	Count         int64            `json:"count"`         // requests (h2) or handshakes
	Rate          float64          `json:"per_s"`         // req/s or handshakes/s
	P50           time.Duration    `json:"p50_ns"`        // request, or dial + handshake
	P99           time.Duration    `json:"p99_ns"`        //
	Errors        int64            `json:"errors"`        // h2: failed + non-2xx; handshakes: failed
	CPUTicks      uint64           `json:"cpu_ticks"`     // target process, measured run
	CPUPer        float64          `json:"cpu_us_per_op"` // per request or handshake
	BackendTicks  uint64           `json:"backend_cpu_ticks"`
	BackendCPUPer float64          `json:"backend_cpu_us_per_op"`
	GenCPUPer     float64          `json:"generator_cpu_us_per_op"` // h2load's or the handshaker's own CPU
	ServerCore    coreUse          `json:"server_core"`
	GeneratorCore coreUse          `json:"generator_core"`
	ForeignPct    float64          `json:"foreign_pct_of_core"`
	H2            *h2loadResult    `json:"h2load,omitempty"`
	Handshake     *handshakeResult `json:"handshaker,omitempty"`
}

// tlsRow is one line of a result table: medians over rounds, and ratios
// and differences against bare taken within each round first.
type tlsRow struct {
	Kind    string `json:"kind"`
	Target  string `json:"target"`
	Rate    fnum   `json:"per_s_median"`
	RateMin fnum   `json:"per_s_min"`
	RateMax fnum   `json:"per_s_max"`
	P50     fnum   `json:"p50_ms_median"`
	P99     fnum   `json:"p99_ms_median"`
	CPUPer  fnum   `json:"cpu_us_per_op_median"`
	// PerCore is 1e6 / CPUPer: the operations per second one core of the
	// server would sustain at that cost, the figure to read when the
	// generator, not the server, set the rate.
	PerCore     fnum `json:"per_core_s_median"`
	CPUVsBare   fnum `json:"cpu_us_vs_bare_median"`
	CPURatio    fnum `json:"cpu_ratio_vs_bare_median"`
	RatioVsBare fnum `json:"ratio_vs_bare_median"`
	P99VsBare   fnum `json:"p99_vs_bare_median"`
	GenBusy     fnum `json:"generator_core_busy_pct_median"`
	GenCPUPer   fnum `json:"generator_cpu_us_per_op_median"`
	// CPUNorm (h2 only) is CPUPer scaled run by run by the backend's
	// median CPU per request over its CPU per request in that run, as
	// the run mode's "CPU norm" (normFactor): the backend does the same
	// work for every request, so it gauges how fast the shared core ran.
	// CPUNormVsBare is the median of per-round differences of those.
	CPUNorm       fnum   `json:"cpu_us_per_op_backend_normalized_median,omitempty"`
	CPUNormVsBare fnum   `json:"cpu_us_vs_bare_backend_normalized_median,omitempty"`
	SrvBusy       fnum   `json:"server_core_busy_pct_median"`
	Errors        int64  `json:"errors_total"`
	Rounds        int    `json:"rounds"`
	Detail        string `json:"detail,omitempty"` // protocol, cipher, key exchange
}

// tlsReport is everything a tls-mode run produced; written as JSON.
type tlsReport struct {
	Started         time.Time        `json:"started"`
	Seed            uint64           `json:"seed"`
	Rounds          int              `json:"rounds"`
	Duration        string           `json:"duration"`
	Warmup          string           `json:"warmup"`
	Conns           int              `json:"h2_conns"`
	Streams         int              `json:"h2_streams"`
	HSConcurrency   int              `json:"handshake_concurrency"`
	Curve           string           `json:"handshake_curve,omitempty"`
	NProc           int              `json:"nproc"`
	Pinned          bool             `json:"pinned"`
	ClockTicks      int64            `json:"clk_tck"`
	Gatehouse       string           `json:"gatehouse"`
	GatehouseBuilt  time.Time        `json:"gatehouse_mtime"`
	H2loadVersion   string           `json:"h2load_version"`
	GoVersion       string           `json:"go_version"` // of benchload: the bare proxy and the handshake client
	CertFingerprint string           `json:"cert_sha256"`
	Targets         []*tlsTarget     `json:"targets"`
	Runs            []tlsRun         `json:"runs"`
	Discarded       []tlsRun         `json:"discarded_runs"`
	RSSKiB          map[string]int64 `json:"rss_kib"`
	Summary         []tlsRow         `json:"summary"`
	LoadBefore      string           `json:"loadavg_before,omitempty"`
	LoadAfter       string           `json:"loadavg_after,omitempty"`
}

// genSaturated: a generator core busier than this (median) means the
// rate is the generator's limit, not the server's.
const genSaturated = 95

// summarize computes the rows, kind by kind (h2, full, resumed), target by
// target in the order they were started (bare first).
func (rep *tlsReport) summarize() {
	type key struct {
		round        int
		target, kind string
	}
	byKey := map[key]tlsRun{}
	var kinds []string
	for _, r := range rep.Runs {
		byKey[key{r.Round, r.Target, r.Kind}] = r
		if !slices.Contains(kinds, r.Kind) {
			kinds = append(kinds, r.Kind)
		}
	}
	order := map[string]int{kindH2: 0, kindFull: 1, kindResumed: 2}
	slices.SortFunc(kinds, func(a, b string) int { return order[a] - order[b] })
	var be []float64
	for _, r := range rep.Runs {
		if r.Kind == kindH2 {
			be = append(be, r.BackendCPUPer)
		}
	}
	beMedian := float64(median(be))
	norm := func(r tlsRun) float64 { return r.CPUPer * normFactor(beMedian, r.BackendCPUPer) }
	rep.Summary = nil
	for _, kind := range kinds {
		for _, t := range rep.Targets {
			var rate, p50, p99, cpu, dcpu, rcpu, rb, p99b, gen, srv, gcpu, cn, dn []float64
			row := tlsRow{Kind: kind, Target: t.Name}
			for round := 1; round <= rep.Rounds; round++ {
				r, ok := byKey[key{round, t.Name, kind}]
				if !ok {
					continue
				}
				rate = append(rate, r.Rate)
				p50 = append(p50, ms(r.P50))
				p99 = append(p99, ms(r.P99))
				cpu = append(cpu, r.CPUPer)
				gen = append(gen, r.GeneratorCore.Busy)
				gcpu = append(gcpu, r.GenCPUPer)
				srv = append(srv, r.ServerCore.Busy)
				row.Errors += r.Errors
				row.Detail = runDetail(r)
				if kind == kindH2 {
					cn = append(cn, norm(r))
				}
				if b, ok := byKey[key{round, nameBare, kind}]; ok && b.Rate > 0 {
					if kind == kindH2 {
						dn = append(dn, norm(r)-norm(b))
					}
					rb = append(rb, r.Rate/b.Rate)
					dcpu = append(dcpu, r.CPUPer-b.CPUPer)
					if b.CPUPer > 0 {
						rcpu = append(rcpu, r.CPUPer/b.CPUPer)
					}
					if b.P99 > 0 {
						p99b = append(p99b, float64(r.P99)/float64(b.P99))
					}
				}
			}
			if len(rate) == 0 {
				continue
			}
			row.Rounds = len(rate)
			row.Rate, row.P50, row.P99 = median(rate), median(p50), median(p99)
			row.RateMin, row.RateMax = fnum(slices.Min(rate)), fnum(slices.Max(rate))
			row.CPUPer, row.CPUVsBare, row.CPURatio = median(cpu), median(dcpu), median(rcpu)
			if row.CPUPer > 0 {
				row.PerCore = 1e6 / row.CPUPer
			}
			row.RatioVsBare, row.P99VsBare = median(rb), median(p99b)
			row.GenBusy, row.SrvBusy, row.GenCPUPer = median(gen), median(srv), median(gcpu)
			if len(cn) > 0 {
				row.CPUNorm, row.CPUNormVsBare = median(cn), median(dn)
			}
			rep.Summary = append(rep.Summary, row)
		}
	}
}

// runDetail says what a run negotiated: TLS version, cipher and key
// exchange (h2load prints OpenSSL's names, the handshaker Go's).
func runDetail(r tlsRun) string {
	switch {
	case r.H2 != nil:
		return r.H2.TLS
	case r.Handshake != nil && r.Handshake.Version != "":
		return fmt.Sprintf("%s %s %s", r.Handshake.Version, r.Handshake.Cipher, r.Handshake.Curve)
	}
	return ""
}

// printTables writes one table per kind, then the notes.
func (rep *tlsReport) printTables(w io.Writer) {
	fmt.Fprintf(w, "\nResults: %d round(s) × %s per target and kind, medians over rounds (seed %d); ratios and +CPU are medians of per-round values against bare\n",
		rep.Rounds, rep.Duration, rep.Seed)
	const row = "%-7s %-8s %10s %9s %9s %11s %10s %10s %11s %9s %9s %6s %6s %7s\n"
	titles := map[string]string{
		kindH2: fmt.Sprintf("HTTP/2 over TLS: h2load -c %d -m %d (GET, 100-byte answer)", rep.Conns, rep.Streams),
		kindFull: fmt.Sprintf("TLS handshakes, full (no resumption): a new TCP connection each, closed after the handshake, %d in flight, ECDSA P-256 leaf",
			rep.HSConcurrency),
		kindResumed: fmt.Sprintf("TLS handshakes, resumed (TLS 1.3 session ticket, checked on every connection), %d in flight", rep.HSConcurrency),
	}
	var cur string
	for _, s := range rep.Summary {
		if s.Kind != cur {
			cur = s.Kind
			unit := "req/s"
			per := "µs/req"
			if s.Kind != kindH2 {
				unit, per = "conn/s", "µs/hs"
			}
			fmt.Fprintf(w, "\n%s\n", titles[s.Kind])
			if s.Detail != "" {
				fmt.Fprintf(w, "  negotiated: %s\n", s.Detail)
			}
			fmt.Fprintf(w, row, "target", "mode", unit, "p50", "p99", "CPU "+per, "+CPU/bare", "CPU÷bare", unit+"/core", "÷bare", "p99÷bare", "gen %", "srv %", "errors")
			fmt.Fprintf(w, row, "-------", "--------", "----------", "---------", "---------", "-----------", "----------", "----------", "-----------", "---------", "---------", "------", "------", "-------")
		}
		mode := ""
		for _, t := range rep.Targets {
			if t.Name == s.Target {
				mode = t.Mode
			}
		}
		plus, cr, rb, pb := fmt.Sprintf("%+.1f", s.CPUVsBare), fmtRatio(float64(s.CPURatio)), fmtRatio(float64(s.RatioVsBare)), fmtRatio(float64(s.P99VsBare))
		if s.Target == nameBare {
			plus, cr, rb, pb = "—", "—", "—", "—"
		}
		fmt.Fprintf(w, row, s.Target, mode, fmt.Sprintf("%.0f", s.Rate), fmtMs(float64(s.P50)), fmtMs(float64(s.P99)),
			fmt.Sprintf("%.1f", s.CPUPer), plus, cr, fmt.Sprintf("%.0f", s.PerCore), rb, pb, fmt.Sprintf("%.0f", s.GenBusy), fmt.Sprintf("%.0f", s.SrvBusy), fmt.Sprintf("%d", s.Errors))
	}
	var normed []string
	for _, s := range rep.Summary {
		if s.Kind == kindH2 && s.CPUNorm > 0 {
			if s.Target == nameBare {
				normed = append(normed, fmt.Sprintf("%s %.1f", s.Target, s.CPUNorm))
			} else {
				normed = append(normed, fmt.Sprintf("%s %.1f (%+.1f)", s.Target, s.CPUNorm, s.CPUNormVsBare))
			}
		}
	}
	fmt.Fprintln(w)
	if len(normed) > 0 {
		fmt.Fprintf(w, "h2 CPU µs/req normalized by the backend's CPU per request (the core's speed in that run; +vs bare): %s\n", strings.Join(normed, ", "))
	}
	var rss []string
	for _, t := range rep.Targets {
		if kib, ok := rep.RSSKiB[t.Name]; ok {
			rss = append(rss, fmt.Sprintf("%s %.1f MiB", t.Name, float64(kib)/1024))
		}
	}
	if len(rss) > 0 {
		fmt.Fprintf(w, "RSS after the runs: %s\n", strings.Join(rss, ", "))
	}
	if rep.LoadBefore != "" {
		fmt.Fprintf(w, "load average before: %s; after: %s\n", rep.LoadBefore, rep.LoadAfter)
	}
	for _, n := range rep.notes() {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "\nNote: CPU is the target process only (utime+stime from /proc, %d ticks/s) per request or\n"+
		"handshake completed; \"÷bare\" is the rate ratio, \"CPU÷bare\" the CPU-per-operation ratio; \"/core\" is\n"+
		"1e6 ÷ CPU µs per operation: what one core of that server sustains at that cost. gen %%/srv %%\n"+
		"are the busy shares of the generator's and the servers' cores. When the generator core is saturated\n"+
		"the rate is the generator's limit: compare CPU per operation (and /core) then, not the rate.\n", rep.ClockTicks)
	if !rep.Pinned {
		fmt.Fprintf(w, "Note: processes were NOT pinned (fewer than 2 cores): generator and servers share CPUs.\n")
	}
}

// notes are the warnings under the tables: saturated generator, errors,
// disturbed runs.
func (rep *tlsReport) notes() []string {
	var out []string
	for _, s := range rep.Summary {
		if float64(s.GenBusy) >= genSaturated && float64(s.SrvBusy) < genSaturated {
			out = append(out, fmt.Sprintf("GENERATOR-BOUND: %s %s: the generator core was %.0f%% busy and the server core %.0f%% (generator %.1f CPU µs/op, server %.1f): its rate is the generator's limit (compare CPU per operation)",
				s.Target, s.Kind, s.GenBusy, s.SrvBusy, s.GenCPUPer, s.CPUPer))
		}
		if s.Errors > 0 {
			out = append(out, fmt.Sprintf("WARNING: %s %s: %d errors during measured runs (the rate counts successes only)", s.Target, s.Kind, s.Errors))
		}
	}
	noisy := 0
	for _, r := range rep.Runs {
		if r.ForeignPct > foreignWarnPct {
			noisy++
		}
	}
	if len(rep.Discarded) > 0 || noisy > 0 {
		out = append(out, fmt.Sprintf("NOISE: %d run(s) were disturbed by other processes and measured again; %d kept run(s) are still disturbed (see foreign_pct_of_core in the JSON)",
			len(rep.Discarded), noisy))
	}
	return out
}

// writeJSON writes the report to DIR/benchload-tls-TIMESTAMP.json.
func (rep *tlsReport) writeJSON(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "benchload-tls-"+rep.Started.Format("20060102-150405")+".json")
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}
