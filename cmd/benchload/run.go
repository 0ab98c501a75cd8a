package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// foreignWarnPct is the share of a core that other processes may use
// during a measured run before the run is flagged as noisy.
const foreignWarnPct = 10

// runOptions are the flags of the run mode.
type runOptions struct {
	rounds    int
	duration  time.Duration
	warmup    time.Duration
	conns     int
	gatehouse string
	out       string
	seed      uint64
	policies  string
	retries   int
	keep      bool
	extra     bool // gw-4-yaml and gw-4-nolog
	caddy     bool
	before    string        // another gatehouse binary: gw-0 and gw-4 of it run in the same rounds
	quietWait time.Duration // longest wait for a quiet machine before each run (0: 20 s)
}

func parseRunFlags(args []string) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; every target runs once per round, in shuffled order")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured wrk run per target and round (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured wrk run before each measured one")
	fs.IntVar(&o.conns, "conns", 32, "wrk connections")
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "gatehouse binary (make build)")
	fs.StringVar(&o.out, "out", "bench-out", "directory for the JSON of raw per-round numbers")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the per-round shuffle (0: from the clock)")
	fs.StringVar(&o.policies, "gateways", "0,4", "which catalog-mode gateways to run, by policy count (subset of 0,1,4)")
	fs.IntVar(&o.retries, "retries", 1, "re-run a measured run up to N times when other processes used > 10% of a core during it")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, data dirs, logs)")
	fs.BoolVar(&o.extra, "extra", true, "with 4 in -gateways, also run gw-4-yaml (the chain from a YAML config) and gw-4-nolog (catalog, --log-requests=false)")
	fs.BoolVar(&o.caddy, "caddy", true, "also run Caddy's reverse_proxy (skipped, loudly, when caddy is not installed)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 5*time.Second, "longest wait for a quiet machine before each measured run")
	fs.StringVar(&o.before, "before", "", "another gatehouse binary (e.g. a build of main): its catalog-mode gw-0 and gw-4 run as gw-0-before and gw-4-before in the same interleaved rounds")
	if err := fs.Parse(args); err != nil {
		return o, flagError(err)
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected arguments %q", fs.Args())
	}
	if o.rounds < 1 || o.conns < 1 || o.duration < time.Second || o.warmup < 0 {
		return o, usagef("need -rounds ≥ 1, -conns ≥ 1, -duration ≥ 1s, -warmup ≥ 0")
	}
	return o, nil
}

// gatewayCounts parses -gateways.
func gatewayCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || (n != 0 && n != 1 && n != 4) {
			return nil, usagef("-gateways: %q is not 0, 1 or 4", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runBench is the run mode.
func runBench(args []string) (err error) {
	o, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	counts, err := gatewayCounts(o.policies)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return usagef("wrk not found in PATH: install it (apt-get install -y wrk) or run scripts/bench.sh, which does")
	}
	gh, err := os.Stat(o.gatehouse)
	if err != nil || gh.IsDir() {
		return usagef("gatehouse binary %q not found: run `make build` or pass -gatehouse", o.gatehouse)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.rounds < 3 {
		fmt.Printf("note: %d round(s); the budget wants ≥ 3 interleaved rounds for a verdict worth quoting\n", o.rounds)
	}

	rep := &report{
		Started: time.Now(), Rounds: o.rounds, Conns: o.conns,
		Duration: o.duration.String(), Warmup: o.warmup.String(),
		NProc: runtime.NumCPU(), Gatehouse: o.gatehouse, GatehouseBuilt: gh.ModTime(),
		LoadReadyMs: map[string]float64{}, RSSKiB: map[string]int64{},
	}
	rep.Pinned, rep.ClockTicks = hostSetup(rep.NProc, "wrk")
	rep.WrkVersion = wrkVersion()
	rep.Seed = o.seed
	if rep.Seed == 0 {
		rep.Seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("benchload: gatehouse %s (built %s), %s, %d CPUs, pinned=%v (servers on CPU %s, wrk on CPU %s), CLK_TCK %d\n",
		o.gatehouse, gh.ModTime().Format(time.DateTime), rep.WrkVersion, rep.NProc, rep.Pinned, serverCPU, generatorCPU, rep.ClockTicks)
	fmt.Printf("seed %d (repeat this order with -seed %d)\n", rep.Seed, rep.Seed)

	h, err := startHarness("benchload-", rep.Pinned, o.keep, "configs, data dirs, logs")
	if err != nil {
		return err
	}
	defer func() { h.close(err) }()
	ctx, procs, tmp := h.ctx, h.procs, h.dir

	if err := startAndMeasure(ctx, procs, o, self, tmp, counts, rep); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	rep.summarize()
	rep.printTable(os.Stdout)
	procs.printLogs(os.Stdout)
	path, err := rep.writeJSON(o.out)
	if err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	logs := strings.TrimSuffix(path, ".json") + "-logs"
	if err := procs.copyLogs(logs); err != nil {
		return fmt.Errorf("copying logs: %w", err)
	}
	fmt.Printf("\nraw per-round numbers: %s\nprocess logs: %s/\n", path, logs)
	return nil
}

// startAndMeasure does the work of the run mode between setup and report.
func startAndMeasure(ctx context.Context, procs *procSet, o runOptions, self, tmp string, counts []int, rep *report) error {
	// The backend.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	backend, err := procs.start(nameBackend, self, "backend", "-listen", addr)
	if err != nil {
		return err
	}
	backendURL := "http://" + addr
	if _, err := waitReady(ctx, backend, backendURL+"/", 10*time.Second); err != nil {
		return err
	}

	if err := measureStartToReady(ctx, procs, o, tmp, counts, backendURL, rep); err != nil {
		return err
	}
	idle, err := measureDemoIdle(ctx, procs, o.gatehouse, filepath.Join(tmp, "demo-data"), "demo", 5*time.Second)
	if err != nil {
		return err
	}
	rep.DemoIdle = &idle
	fmt.Printf("serve --demo idle RSS (first start, no traffic, 5 s): %s\n", fmtMem(idle.Mem))

	// The targets.
	addr, err = freeAddr()
	if err != nil {
		return err
	}
	bare, err := procs.start(nameBare, self, "bareproxy", "-listen", addr, "-backend", backendURL)
	if err != nil {
		return err
	}
	rep.Targets = []*target{{Name: nameBare, Policies: -1, Mode: "go", URL: "http://" + addr + "/", proc: bare}}
	if o.caddy {
		p, url, err := procs.startCaddy(tmp, backendURL)
		if err != nil {
			fmt.Printf("WARNING: SKIPPING the caddy row: %v\n", err)
			rep.Skipped = append(rep.Skipped, "caddy: "+err.Error())
		} else {
			rep.Targets = append(rep.Targets, &target{Name: nameCaddy, Policies: -1, Mode: "caddy", URL: url, proc: p})
		}
	}
	for _, n := range counts {
		name := fmt.Sprintf("gw-%d", n)
		p, url, key, err := procs.startCatalogGateway(ctx, o.gatehouse, tmp, name, n, backendURL, true)
		if err != nil {
			return err
		}
		rep.Targets = append(rep.Targets, &target{Name: name, Policies: n, Mode: "catalog", URL: url, Log: true, Key: key, proc: p})
		if o.before != "" {
			bname := name + "-before"
			p, url, key, err := procs.startCatalogGateway(ctx, o.before, tmp, bname, n, backendURL, true)
			if err != nil {
				return err
			}
			rep.Targets = append(rep.Targets, &target{Name: bname, Policies: n, Mode: "catalog", URL: url, Log: true, Key: key, proc: p})
		}
		if n == 4 && o.extra {
			p, url, key, err := procs.startCatalogGateway(ctx, o.gatehouse, tmp, nameGW4NoLog, n, backendURL, false)
			if err != nil {
				return err
			}
			rep.Targets = append(rep.Targets, &target{Name: nameGW4NoLog, Policies: n, Mode: "catalog", URL: url, Key: key, proc: p})
			p, url, err = procs.startGateway(o.gatehouse, tmp, nameGW4YAML, n, backendURL, true)
			if err != nil {
				return err
			}
			rep.Targets = append(rep.Targets, &target{Name: nameGW4YAML, Policies: n, Mode: "yaml", URL: url, Log: true, proc: p})
		}
	}
	for _, t := range rep.Targets {
		d, err := waitReadyFunc(ctx, t.proc, 15*time.Second, http.StatusOK, func() (int, error) {
			status, _, err := get(ctx, t.URL, t.key())
			return status, err
		})
		if err != nil {
			return err
		}
		if t.Policies >= 0 {
			rep.LoadReadyMs[t.Name] = ms(d)
		}
		notes, err := checkTarget(ctx, t)
		if err != nil {
			return err
		}
		fmt.Printf("%-8s pid %-7d %-32s ready; checked: %s\n", t.Name, t.proc.Pid(), t.URL, strings.Join(notes, ", "))
	}

	rep.LoadBefore = loadAvg()
	if err := runRounds(ctx, rep, o, backend); err != nil {
		return err
	}
	rep.LoadAfter = loadAvg()

	// Memory after the load.
	for _, p := range append([]*proc{backend}, targetProcs(rep.Targets)...) {
		kib, err := readRSS(p.Pid())
		if err != nil {
			return fmt.Errorf("%s RSS: %w", p.name, err)
		}
		rep.RSSKiB[p.name] = kib
	}
	for _, t := range rep.Targets {
		if t.Name != nameGW4 {
			continue
		}
		if mib, n, ok := guestMemoryPerInstance(ctx, t.proc); ok {
			rep.InstanceMiB, rep.Instances = fnum(mib), n
		}
	}
	return nil
}

// measureStartToReady times the gateway with the largest chain asked for
// from exec to its first 200 OK: once with an empty data dir, once again (a
// new process, the same data dir) with the compilation cache the first
// start left in it.
func measureStartToReady(ctx context.Context, procs *procSet, o runOptions, tmp string, counts []int, backendURL string, rep *report) error {
	most := counts[0]
	for _, n := range counts {
		most = max(most, n)
	}
	for i, label := range []string{"cold", "warm"} {
		p, url, err := procs.startGateway(o.gatehouse, tmp, "ready", most, backendURL, false)
		if err != nil {
			return err
		}
		d, err := waitReady(ctx, p, url, 10*time.Second)
		if err != nil {
			return err
		}
		p.stop(5 * time.Second)
		fmt.Printf("start to ready (%d policies, %s compilation cache): %v\n", most, label, d.Round(time.Millisecond))
		rep.ReadyPolicies = most
		if i == 0 {
			rep.ColdReadyMs = ms(d)
		} else {
			rep.WarmReadyMs = ms(d)
		}
	}
	if most != 4 {
		fmt.Printf("WARNING: start to ready measured with %d policies, not 4 (see -gateways)\n", most)
	}

	return nil
}

// runRounds measures every target once per round, in an order shuffled per
// round, measuring a run again when other processes disturbed it.
func runRounds(ctx context.Context, rep *report, o runOptions, backend *proc) error {
	rng := rand.New(rand.NewPCG(rep.Seed, rep.Seed^0x9e3779b97f4a7c15))
	for round := 1; round <= o.rounds; round++ {
		order := rng.Perm(len(rep.Targets))
		for pos, i := range order {
			t := rep.Targets[i]
			var rec runRecord
			for attempt := 0; ; attempt++ {
				var err error
				rec, err = measure(ctx, rep, o, []string{keyHeader + ": " + t.key()}, backend, t)
				if err != nil {
					return err
				}
				rec.Round, rec.Position, rec.Attempts = round, pos+1, attempt+1
				slow, m := slowRun(rep.Runs, rec)
				if (rec.ForeignPct <= foreignWarnPct && !slow) || attempt >= o.retries {
					break
				}
				rep.Discarded = append(rep.Discarded, rec)
				if slow {
					fmt.Printf("round %d/%d  %-5s slow core (the backend needed %.1f CPU µs/req, median so far %.1f): measuring again\n",
						round, o.rounds, t.Name, rec.BackendCPUPerReq, m)
					continue
				}
				fmt.Printf("round %d/%d  %-5s disturbed (other processes used %.0f%% of a core): measuring again\n",
					round, o.rounds, t.Name, rec.ForeignPct)
			}
			rep.Runs = append(rep.Runs, rec)
			var warn string
			if n, s := rec.Wrk.Non2xx, rec.Wrk.SockErrs.Total(); n > 0 || s > 0 {
				warn += fmt.Sprintf("  WARNING: %d non-2xx, %d socket errors", n, s)
			}
			if rec.ForeignPct > foreignWarnPct {
				warn += fmt.Sprintf("  NOISY: other processes used %.0f%% of a core", rec.ForeignPct)
			}
			if slow, m := slowRun(rep.Runs[:len(rep.Runs)-1], rec); slow {
				warn += fmt.Sprintf("  SLOW: backend %.1f CPU µs/req vs median %.1f", rec.BackendCPUPerReq, m)
			}
			fmt.Printf("round %d/%d  %-8s %7.0f req/s  p50 %-7s p99 %-7s CPU %5.1f µs/req  backend %4.1f  cores: srv %3.0f%% gen %3.0f%% steal %2.0f%%  foreign %3.0f%%%s\n",
				round, o.rounds, t.Name, rec.Wrk.RPS, fmtMs(ms(rec.Wrk.P50)), fmtMs(ms(rec.Wrk.P99)),
				rec.CPUPerReq, rec.BackendCPUPerReq, rec.ServerCore.Busy, rec.GeneratorCore.Busy,
				rec.ServerCore.Steal, max(rec.ForeignPct, 0), warn)
		}
	}
	return nil
}

func targetProcs(ts []*target) []*proc {
	var ps []*proc
	for _, t := range ts {
		ps = append(ps, t.proc)
	}
	return ps
}

// measure does one warm-up and one measured wrk run against t, reading the
// CPU time of t's process and of the backend around the measured run.
func measure(ctx context.Context, rep *report, o runOptions, headers []string, backend *proc, t *target) (runRecord, error) {
	var rec runRecord
	rec.Target = t.Name
	quietWait := o.quietWait
	if quietWait <= 0 {
		quietWait = time.Millisecond
	}
	switch waited, quiet := waitQuiet(ctx, rep.NProc, quietWait); {
	case !quiet:
		fmt.Printf("(waited %v for other processes to quieten: they did not)\n", waited.Round(time.Second))
	case waited > time.Second:
		fmt.Printf("(waited %v for other processes to quieten)\n", waited.Round(100*time.Millisecond))
	}
	if o.warmup > 0 {
		w, err := runWrk(ctx, rep.Pinned, o.conns, o.warmup, headers, t.URL)
		if err != nil {
			return rec, fmt.Errorf("%s warm-up: %w", t.Name, err)
		}
		rec.Warmup = w
	}
	t0, err := readCPU(t.proc.Pid())
	if err != nil {
		return rec, fmt.Errorf("%s: %w", t.Name, err)
	}
	b0, err := readCPU(backend.Pid())
	if err != nil {
		return rec, fmt.Errorf("backend: %w", err)
	}
	s0, err := readSystemCPU()
	if err != nil {
		return rec, err
	}
	res, err := runWrk(ctx, rep.Pinned, o.conns, o.duration, headers, t.URL)
	if err != nil {
		return rec, fmt.Errorf("%s: %w", t.Name, err)
	}
	t1, err := readCPU(t.proc.Pid())
	if err != nil {
		return rec, fmt.Errorf("%s: %w", t.Name, err)
	}
	b1, err := readCPU(backend.Pid())
	if err != nil {
		return rec, fmt.Errorf("backend: %w", err)
	}
	s1, err := readSystemCPU()
	if err != nil {
		return rec, err
	}
	for _, p := range []*proc{t.proc, backend} {
		if done, werr := p.exited(); done {
			return rec, fmt.Errorf("%s died during the run (%v)\n%s", p.name, werr, p.logTail())
		}
	}
	if res.Requests == 0 {
		return rec, fmt.Errorf("%s: wrk completed no requests\n%s", t.Name, res.RawOutput)
	}
	rec.Wrk = res
	rec.CPUTicks = t1.Total() - t0.Total()
	rec.BackendTicks = b1.Total() - b0.Total()
	perReq := func(ticks uint64) float64 {
		return float64(ticks) / float64(rep.ClockTicks) * 1e6 / float64(res.Requests)
	}
	rec.CPUPerReq, rec.BackendCPUPerReq = perReq(rec.CPUTicks), perReq(rec.BackendTicks)
	ours := float64(rec.CPUTicks+rec.BackendTicks) + res.CPU.Seconds()*float64(rep.ClockTicks)
	rec.ServerCore, rec.GeneratorCore, rec.ForeignPct = runCores(s0, s1, rep.Pinned, rep.NProc, ours)
	return rec, nil
}
