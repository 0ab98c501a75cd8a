package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The tls mode (`benchload tls`): HTTP/2 over TLS and TLS handshakes,
// the gateway next to the bare proxy (docs/benchmarks.md).
//
// Targets: the bare tuned httputil.ReverseProxy of the run mode served by
// http.Server.ServeTLS with Go's default TLS settings (baretls mode), and
// the catalog-mode gateways (request log, metrics and trace context on, as
// users run them) with no policy and the 4-policy chain, serving the same
// ECDSA P-256 certificate from --tls-cert on --tls-listen. One backend
// (HTTP/1.1, as in the run mode) behind all of them. Servers pinned to
// one core, the load generator to the other.
//
// Kinds of run, each target once per round in a shuffled order:
//   - h2: h2load (nghttp2-client), -conns connections × -streams
//     concurrent streams, GET with the subscription key; req/s, p50/p99
//     from h2load's per-request log, and the target's CPU µs per request.
//   - full: new TCP connections, a full TLS handshake each, closed after
//     it (handshaker mode, -hs-concurrency at a time); handshakes/s and
//     the target's CPU µs per handshake.
//   - resumed: the same with a TLS 1.3 session ticket offered (and
//     checked: DidResume) on every connection.

// Kinds of run.
const (
	kindH2      = "h2"
	kindFull    = "full"
	kindResumed = "resumed"
)

// tlsOptions are the flags of the tls mode.
type tlsOptions struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	conns      int
	streams    int
	hsConc     int
	gatehouse  string
	out        string
	seed       uint64
	gateways   string
	kinds      string
	curve      string
	retries    int
	keep       bool
	quietWait  time.Duration
	hsGateways string
}

func parseTLSFlags(args []string) (tlsOptions, error) {
	var o tlsOptions
	fs := flag.NewFlagSet("tls", flag.ContinueOnError)
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; every (target, kind) runs once per round, in shuffled order")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured run per target, kind and round (whole seconds for h2)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each measured one (0: none)")
	fs.IntVar(&o.conns, "conns", 4, "h2load connections (-c)")
	fs.IntVar(&o.streams, "streams", 8, "h2load concurrent streams per connection (-m)")
	fs.IntVar(&o.hsConc, "hs-concurrency", 16, "handshakes in flight")
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "gatehouse binary (make build)")
	fs.StringVar(&o.out, "out", "bench-out", "directory for the JSON of raw per-round numbers")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the per-round shuffle (0: from the clock)")
	fs.StringVar(&o.gateways, "gateways", "0,4", "catalog-mode gateways, by policy count (subset of 0,1,4)")
	fs.StringVar(&o.hsGateways, "hs-gateways", "", "gateways that also get the handshake runs, by policy count (default: the first of -gateways; the chain takes no part in a handshake), or \"all\"")
	fs.StringVar(&o.kinds, "kinds", "h2,full,resumed", "which runs: h2 (HTTP/2 req/s), full (full handshakes), resumed (resumed handshakes)")
	fs.StringVar(&o.curve, "curve", "", "handshake client's key share: default (Go's: X25519MLKEM768), x25519mlkem768, x25519 or p256")
	fs.IntVar(&o.retries, "retries", 1, "re-run a measured run up to N times when other processes used > 10% of a core during it")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (certificate, data dirs, logs)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 5*time.Second, "longest wait for a quiet machine before each measured run")
	if err := fs.Parse(args); err != nil {
		return o, flagError(err)
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected arguments %q", fs.Args())
	}
	if o.rounds < 1 || o.conns < 1 || o.streams < 1 || o.hsConc < 1 || o.duration < time.Second || o.warmup < 0 {
		return o, usagef("need -rounds ≥ 1, -conns ≥ 1, -streams ≥ 1, -hs-concurrency ≥ 1, -duration ≥ 1s, -warmup ≥ 0")
	}
	if _, err := curvePrefs(o.curve); err != nil {
		return o, err
	}
	if _, err := parseKinds(o.kinds); err != nil {
		return o, err
	}
	return o, nil
}

// parseKinds parses -kinds.
func parseKinds(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		k := strings.TrimSpace(f)
		switch k {
		case kindH2, kindFull, kindResumed:
		default:
			return nil, usagef("-kinds: %q is not h2, full or resumed", f)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// tlsTarget is one TLS server under test.
type tlsTarget struct {
	Name     string `json:"name"`
	Policies int    `json:"policies"` // -1 for the bare proxy
	Mode     string `json:"mode"`     // go (bare), catalog
	Addr     string `json:"addr"`     // TLS host:port
	URL      string `json:"url"`      // what h2load requests
	Key      string `json:"-"`
	proc     *proc
}

// tlsJob is one (target, kind) measured once per round.
type tlsJob struct {
	t    *tlsTarget
	kind string
}

// runTLSBench is the tls mode.
func runTLSBench(args []string) (err error) {
	o, err := parseTLSFlags(args)
	if err != nil {
		return err
	}
	counts, err := gatewayCounts(o.gateways)
	if err != nil {
		return err
	}
	if _, err := hsTargets(o.hsGateways, counts); err != nil {
		return err
	}
	kinds, _ := parseKinds(o.kinds)
	for _, k := range kinds {
		if k == kindH2 {
			if _, err := exec.LookPath("h2load"); err != nil {
				return usagef("h2load not found in PATH: install it (apt-get install -y nghttp2-client) or run scripts/bench.sh tls, which does")
			}
		}
	}
	gh, err := os.Stat(o.gatehouse)
	if err != nil || gh.IsDir() {
		return usagef("gatehouse binary %q not found: run `make build` or pass -gatehouse", o.gatehouse)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rep := &tlsReport{
		Started: time.Now(), Rounds: o.rounds, Duration: o.duration.String(), Warmup: o.warmup.String(),
		Conns: o.conns, Streams: o.streams, HSConcurrency: o.hsConc, Curve: o.curve,
		NProc: runtime.NumCPU(), Gatehouse: o.gatehouse, GatehouseBuilt: gh.ModTime(), RSSKiB: map[string]int64{},
		GoVersion: runtime.Version(),
	}
	rep.Pinned, rep.ClockTicks = hostSetup(rep.NProc, "the generator")
	rep.H2loadVersion = h2loadVersion()
	rep.Seed = o.seed
	if rep.Seed == 0 {
		rep.Seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("benchload tls: gatehouse %s (built %s), %s, %s, %d CPUs, pinned=%v (servers on CPU %s, generator on CPU %s)\n",
		o.gatehouse, gh.ModTime().Format(time.DateTime), rep.H2loadVersion, rep.GoVersion, rep.NProc, rep.Pinned, serverCPU, generatorCPU)
	fmt.Printf("seed %d (repeat this order with -seed %d)\n", rep.Seed, rep.Seed)

	h, err := startHarness("benchload-tls-", rep.Pinned, o.keep, "certificate, data dirs, logs")
	if err != nil {
		return err
	}
	defer func() { h.close(err) }()
	ctx, procs, tmp := h.ctx, h.procs, h.dir
	if err := tlsStartAndMeasure(ctx, procs, o, self, tmp, counts, kinds, rep); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	rep.summarize()
	rep.printTables(os.Stdout)
	procs.printLogs(os.Stdout)
	path, err := rep.writeJSON(o.out)
	if err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	fmt.Printf("\nraw per-round numbers: %s\n", path)
	return nil
}

// tlsStartAndMeasure starts the backend and the targets, checks them and
// runs the rounds.
func tlsStartAndMeasure(ctx context.Context, procs *procSet, o tlsOptions, self, tmp string, counts []int, kinds []string, rep *tlsReport) error {
	cert, err := writeBenchCert(tmp)
	if err != nil {
		return err
	}
	rep.CertFingerprint = cert.Fingerprint
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

	addr, err = freeAddr()
	if err != nil {
		return err
	}
	bare, err := procs.start(nameBare, self, "baretls", "-listen", addr, "-backend", backendURL,
		"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	if err != nil {
		return err
	}
	rep.Targets = []*tlsTarget{{Name: nameBare, Policies: -1, Mode: "go", Addr: addr, URL: "https://" + addr + "/", proc: bare}}
	for _, n := range counts {
		name := fmt.Sprintf("gw-%d", n)
		tlsAddr, err := freeAddr()
		if err != nil {
			return err
		}
		p, _, key, err := procs.startCatalogGateway(ctx, o.gatehouse, tmp, name, n, backendURL, true,
			"--tls-listen", tlsAddr, "--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile)
		if err != nil {
			return err
		}
		rep.Targets = append(rep.Targets, &tlsTarget{Name: name, Policies: n, Mode: "catalog", Addr: tlsAddr,
			URL: "https://" + tlsAddr + "/bench/", Key: key, proc: p})
	}
	client := h2Client(cert)
	defer client.CloseIdleConnections()
	for _, t := range rep.Targets {
		if _, err := waitReadyFunc(ctx, t.proc, 15*time.Second, http.StatusOK, func() (int, error) {
			st, _, _, err := h2Get(ctx, client, t.URL, t.Key, nil)
			return st, err
		}); err != nil {
			return err
		}
		notes, err := checkTLSTarget(ctx, client, t)
		if err != nil {
			return err
		}
		fmt.Printf("%-6s pid %-7d %-36s ready; checked: %s\n", t.Name, t.proc.Pid(), t.URL, strings.Join(notes, ", "))
	}

	// The jobs: h2 on every target; handshakes on bare and -hs-gateways.
	hsOn, err := hsTargets(o.hsGateways, counts)
	if err != nil {
		return err
	}
	var jobs []tlsJob
	for _, k := range kinds {
		for _, t := range rep.Targets {
			if k == kindH2 || hsOn[t.Name] {
				jobs = append(jobs, tlsJob{t, k})
			}
		}
	}
	if len(jobs) == 0 {
		return usagef("nothing to measure (check -kinds and -hs-gateways)")
	}

	rep.LoadBefore = loadAvg()
	rng := rand.New(rand.NewPCG(rep.Seed, rep.Seed^0x9e3779b97f4a7c15))
	for round := 1; round <= o.rounds; round++ {
		for pos, i := range rng.Perm(len(jobs)) {
			j := jobs[i]
			var rec tlsRun
			for attempt := 0; ; attempt++ {
				rec, err = measureTLS(ctx, rep, o, self, cert, backend, j)
				if err != nil {
					return err
				}
				rec.Round, rec.Position, rec.Attempts = round, pos+1, attempt+1
				if rec.ForeignPct <= foreignWarnPct || attempt >= o.retries {
					break
				}
				rep.Discarded = append(rep.Discarded, rec)
				fmt.Printf("round %d/%d  %-6s %-7s disturbed (other processes used %.0f%% of a core): measuring again\n",
					round, o.rounds, j.t.Name, j.kind, rec.ForeignPct)
			}
			rep.Runs = append(rep.Runs, rec)
			var warn string
			if rec.Errors > 0 {
				warn += fmt.Sprintf("  WARNING: %d errors", rec.Errors)
			}
			if rec.ForeignPct > foreignWarnPct {
				warn += fmt.Sprintf("  NOISY: other processes used %.0f%% of a core", rec.ForeignPct)
			}
			unit := "req"
			if j.kind != kindH2 {
				unit = "hs"
			}
			fmt.Printf("round %d/%d  %-6s %-7s %8.0f %s/s  p50 %-8s p99 %-8s CPU %6.1f µs/%s  cores: srv %3.0f%% gen %3.0f%%  foreign %3.0f%%%s\n",
				round, o.rounds, j.t.Name, j.kind, rec.Rate, unit, fmtMs(ms(rec.P50)), fmtMs(ms(rec.P99)),
				rec.CPUPer, unit, rec.ServerCore.Busy, rec.GeneratorCore.Busy, max(rec.ForeignPct, 0), warn)
		}
	}
	rep.LoadAfter = loadAvg()
	for _, p := range append([]*proc{backend}, tlsTargetProcs(rep.Targets)...) {
		kib, err := readRSS(p.Pid())
		if err != nil {
			return fmt.Errorf("%s RSS: %w", p.name, err)
		}
		rep.RSSKiB[p.name] = kib
	}
	return nil
}

// hsTargets parses -hs-gateways against the gateways that run: the names
// of the targets that get the handshake runs (bare always does; "" means
// the first of -gateways).
func hsTargets(s string, counts []int) (map[string]bool, error) {
	on := map[string]bool{nameBare: true}
	if strings.TrimSpace(s) == "" && len(counts) > 0 {
		s = fmt.Sprint(counts[0])
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "all":
			for _, n := range counts {
				on[fmt.Sprintf("gw-%d", n)] = true
			}
		case slices.ContainsFunc(counts, func(n int) bool { return fmt.Sprint(n) == f }):
			on["gw-"+f] = true
		default:
			return nil, usagef("-hs-gateways: %q is not \"all\" nor one of -gateways (%v)", f, counts)
		}
	}
	return on, nil
}

func tlsTargetProcs(ts []*tlsTarget) []*proc {
	var ps []*proc
	for _, t := range ts {
		ps = append(ps, t.proc)
	}
	return ps
}

// measureTLS does one warm-up and one measured run of job j, reading the
// CPU time of the target and of the backend from /proc around the
// measured run.
func measureTLS(ctx context.Context, rep *tlsReport, o tlsOptions, self string, cert *benchCert, backend *proc, j tlsJob) (tlsRun, error) {
	rec := tlsRun{Target: j.t.Name, Kind: j.kind}
	qw := o.quietWait
	if qw <= 0 {
		qw = time.Millisecond
	}
	if waited, quiet := waitQuiet(ctx, rep.NProc, qw); !quiet {
		fmt.Printf("(waited %v for other processes to quieten: they did not)\n", waited.Round(time.Second))
	}
	load := func(d time.Duration) (tlsLoad, error) {
		if j.kind == kindH2 {
			r, err := runH2load(ctx, rep.Pinned, o.conns, o.streams, d, []string{keyHeader + ": " + j.t.key()}, os.TempDir(), j.t.URL)
			if err != nil {
				return tlsLoad{}, err
			}
			return tlsLoad{count: r.Requests, rate: r.RPS, p50: r.P50, p99: r.P99, errors: max(r.Failed, r.Non2xx), gen: r.CPU, h2: &r}, nil
		}
		r, err := runHandshakeGen(ctx, rep.Pinned, self, handshakeOptions{addr: j.t.Addr, sni: tlsHostname,
			fingerprint: cert.Fingerprint, concurrency: o.hsConc, duration: d, resume: j.kind == kindResumed, curve: o.curve})
		if err != nil {
			return tlsLoad{}, err
		}
		return tlsLoad{count: r.Handshakes, rate: r.Rate, p50: r.P50, p99: r.P99, errors: r.Errors, gen: r.CPU, hs: &r}, nil
	}
	if o.warmup > 0 {
		if _, err := load(o.warmup); err != nil {
			return rec, fmt.Errorf("%s %s warm-up: %w", j.t.Name, j.kind, err)
		}
	}
	t0, err := readCPU(j.t.proc.Pid())
	if err != nil {
		return rec, fmt.Errorf("%s: %w", j.t.Name, err)
	}
	b0, err := readCPU(backend.Pid())
	if err != nil {
		return rec, fmt.Errorf("backend: %w", err)
	}
	s0, err := readSystemCPU()
	if err != nil {
		return rec, err
	}
	l, err := load(o.duration)
	if err != nil {
		return rec, fmt.Errorf("%s %s: %w", j.t.Name, j.kind, err)
	}
	t1, err := readCPU(j.t.proc.Pid())
	if err != nil {
		return rec, fmt.Errorf("%s: %w", j.t.Name, err)
	}
	b1, err := readCPU(backend.Pid())
	if err != nil {
		return rec, fmt.Errorf("backend: %w", err)
	}
	s1, err := readSystemCPU()
	if err != nil {
		return rec, err
	}
	for _, p := range []*proc{j.t.proc, backend} {
		if done, werr := p.exited(); done {
			return rec, fmt.Errorf("%s died during the run (%v)\n%s", p.name, werr, p.logTail())
		}
	}
	rec.H2, rec.Handshake = l.h2, l.hs
	rec.Count, rec.Rate, rec.P50, rec.P99, rec.Errors = l.count, l.rate, l.p50, l.p99, l.errors
	rec.CPUTicks, rec.BackendTicks = t1.Total()-t0.Total(), b1.Total()-b0.Total()
	perOp := func(ticks uint64) float64 {
		return float64(ticks) / float64(rep.ClockTicks) * 1e6 / float64(l.count)
	}
	rec.CPUPer, rec.BackendCPUPer = perOp(rec.CPUTicks), perOp(rec.BackendTicks)
	rec.GenCPUPer = float64(l.gen.Microseconds()) / float64(l.count)
	ours := float64(rec.CPUTicks+rec.BackendTicks) + l.gen.Seconds()*float64(rep.ClockTicks)
	rec.ServerCore, rec.GeneratorCore, rec.ForeignPct = runCores(s0, s1, rep.Pinned, rep.NProc, ours)
	return rec, nil
}

// tlsLoad is one generator run, whichever the generator.
type tlsLoad struct {
	count    int64
	rate     float64
	p50, p99 time.Duration
	errors   int64
	gen      time.Duration
	h2       *h2loadResult
	hs       *handshakeResult
}

// key is the subscription key sent to t ("" sends benchKey, which the
// gateways without the chain and the bare proxy ignore).
func (t *tlsTarget) key() string {
	if t.Key != "" {
		return t.Key
	}
	return benchKey
}

// h2Client is an HTTP/2 client trusting only the benchmark's CA; used
// outside the measured runs.
func h2Client(cert *benchCert) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: cert.Pool, ServerName: tlsHostname},
			ForceAttemptHTTP2: true,
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
	}
}

// h2Get does one GET over client, with the subscription key unless key is
// empty, and returns the status, the protocol, the body and the headers.
func h2Get(ctx context.Context, client *http.Client, url, key string, hdr *http.Header) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", "", err
	}
	if key != "" {
		req.Header.Set(keyHeader, key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if hdr != nil {
		*hdr = resp.Header
	}
	return resp.StatusCode, resp.Proto, string(b), err
}

// checkTLSTarget makes sure a target serves HTTP/2 over TLS with the
// benchmark's certificate (the client trusts only its CA) and proxies
// correctly before it is measured, as checkTarget does for the run mode.
func checkTLSTarget(ctx context.Context, client *http.Client, t *tlsTarget) ([]string, error) {
	var hdr http.Header
	status, proto, body, err := h2Get(ctx, client, t.URL, t.key(), &hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", t.Name, err)
	}
	if proto != "HTTP/2.0" {
		return nil, fmt.Errorf("%s: GET %s answered over %s, want HTTP/2.0", t.Name, t.URL, proto)
	}
	if status != http.StatusOK || body != backendBody {
		return nil, fmt.Errorf("%s: GET %s = %d %q, want 200 and the backend's body", t.Name, t.URL, status, body)
	}
	notes := []string{"h2", "certificate verified", "200 + backend body"}
	_, _, echo, err := h2Get(ctx, client, strings.TrimSuffix(t.URL, "/")+echoPath, t.key(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", t.Name, err)
	}
	if !strings.HasPrefix(echo, "GET "+echoPath+"\n") {
		return nil, fmt.Errorf("%s: backend saw %q, want GET %s (prefix not stripped?)", t.Name, firstLine(echo), echoPath)
	}
	if t.Policies >= 1 && !strings.Contains(echo, "\nX-Bench: 1\n") {
		return nil, fmt.Errorf("%s: set-header policy did not reach the backend:\n%s", t.Name, echo)
	}
	if t.Policies >= 4 {
		if hdr.Get(outHeader) != "1" {
			return nil, fmt.Errorf("%s: the answer lacks %s: 1 (outbound set-header did not run)", t.Name, outHeader)
		}
		status, _, _, err := h2Get(ctx, client, t.URL, "", nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.Name, err)
		}
		if status != http.StatusUnauthorized {
			return nil, fmt.Errorf("%s: without a key got %d, want 401 (subscription-key not enforced?)", t.Name, status)
		}
		notes = append(notes, "X-Bench set", outHeader+" in the answer", "401 without key")
	}
	return notes, nil
}
