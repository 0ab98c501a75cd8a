package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The policies mode measures each built-in policy alone: one gateway per
// policy, each with that single policy attached with a config that takes its
// main path on every request, against the bare proxy and gw-0 of the same
// round. See policySpecs for what each target does and docs/benchmarks.md.

// policyStep is one attachment of a policy in a generated config.
type policyStep struct {
	Policy string
	Config map[string]any // nil: no config
}

// policySpec is one target of the policies mode.
type policySpec struct {
	Name     string       // target name (also the gateway's file names)
	Policy   string       // the policy measured (pairs: the one named in Name)
	Inbound  []policyStep // the API's inbound section
	Outbound []policyStep // the API's outbound section
	Path     string       // requested below /bench/ ("" for /bench/)
	Headers  []string     // request headers wrk and the probes send besides the subscription key
	Note     string       // what the main path is, printed and in the JSON

	// What checkPolicyTarget verifies before the target is measured.
	WantStatus   int      // of the (second) probe; 0: 200
	WantBody     string   // exact body; "" with WantContains empty: the backend's body
	WantContains []string // substrings of the body (instead of WantBody)
	WantHeader   [2]string
	DenyStatus   int      // a probe without any header (no key either) must get this; 0: not checked
	EchoProbe    string   // path+query below /bench/ whose backend echo must contain EchoWant
	EchoWant     []string //
	NoBackend    bool     // the policy answers itself: the backend is not called
	LimitUs      float64  // budget for the CPU over gw-0 (0: policyBudgetUs)
	NativeAlg    string   // JWT: the native verification this target is judged against
}

// policyBudgetUs is the target: no single policy adds more than
// 2 µs CPU per request (JWT signature checks: native Go plus 2 µs).
const policyBudgetUs = 2.0

// steps is the number of attachments.
func (s policySpec) steps() int { return len(s.Inbound) + len(s.Outbound) }

// huge is a limit no run reaches: rate limits and quotas stay on their
// counting path.
const huge = 1_000_000_000

// policySpecs returns the targets of the policies mode, one per built-in
// policy (two for validate-jwt, and two pairs for the caches' hit paths).
func policySpecs(jm *jwtMaterial) []policySpec {
	auth := func(tok string) []string { return []string{"Authorization: Bearer " + tok} }
	jwtCfg := func(alg string) map[string]any {
		c := map[string]any{"algorithms": []string{alg}, "issuers": []string{jwtIssuer}, "audiences": []string{jwtAudience}}
		if alg == "RS256" {
			c["public_key_pem"] = jm.RSAPublicPEM
		} else {
			c["hmac_secret"] = jm.HMACSecret
		}
		return c
	}
	one := func(policy string, cfg map[string]any) []policyStep {
		return []policyStep{{Policy: policy, Config: cfg}}
	}
	valueKey := "bench-{request.method}"
	return []policySpec{
		{Name: "set-header", Policy: "set-header", Inbound: one("set-header", map[string]any{"name": "X-Bench", "value": "1"}),
			Note: "sets a request header", EchoProbe: echoPath[1:], EchoWant: []string{"\nX-Bench: 1\n"}},
		{Name: "subscription-key", Policy: "subscription-key", Inbound: one("subscription-key", nil),
			Note: "valid key in the header: looked up, bound, removed", DenyStatus: 401,
			EchoProbe: echoPath[1:], EchoWant: []string{"GET /_echo\n"}},
		{Name: "rate-limit", Policy: "rate-limit", Inbound: one("rate-limit", map[string]any{"calls": huge, "renewal_period": 60}),
			Note: "counts every request (limit 1e9/60 s, per IP: no subscription bound)"},
		{Name: "rate-limit-by-key", Policy: "rate-limit-by-key",
			Inbound: one("rate-limit-by-key", map[string]any{"calls": huge, "renewal_period": 60, "counter_key": "ip"}),
			Note:    "counts every request by client IP (limit 1e9/60 s)"},
		{Name: "quota", Policy: "quota", Inbound: one("quota", map[string]any{"calls": huge, "renewal_period": 86400}),
			Note: "counts every call (1e9/day, per IP: no subscription bound; persisted counter)"},
		{Name: "quota-by-key", Policy: "quota-by-key",
			Inbound: one("quota-by-key", map[string]any{"calls": huge, "renewal_period": 86400, "counter_key": "ip"}),
			Note:    "counts every call by client IP (1e9/day; persisted counter)"},
		{Name: "validate-jwt-rs256", Policy: "validate-jwt", Inbound: one("validate-jwt", jwtCfg("RS256")),
			Headers: auth(jm.RS256Token), Note: "valid RS256 token (2048-bit key) in Authorization",
			DenyStatus: 401, NativeAlg: "RS256"},
		{Name: "validate-jwt-hs256", Policy: "validate-jwt", Inbound: one("validate-jwt", jwtCfg("HS256")),
			Headers: auth(jm.HS256Token), Note: "valid HS256 token in Authorization",
			DenyStatus: 401, NativeAlg: "HS256"},
		{Name: "cache-hit", Policy: "cache-lookup", Inbound: one("cache-lookup", map[string]any{}),
			Outbound:   one("cache-store", map[string]any{"duration": 3600, "mode": "fixed"}),
			Note:       "cache-lookup + cache-store (fixed mode: the backend sends no freshness): the first request fills, every later one is a hit (backend not called)",
			WantHeader: [2]string{"X-Cache", "HIT"}, NoBackend: true},
		{Name: "cache-store-value", Policy: "cache-store-value",
			Inbound: one("cache-store-value", map[string]any{"key": valueKey, "value": "v-{request.path}", "duration": 3600}),
			Note:    "stores a value on every request"},
		{Name: "cache-value-hit", Policy: "cache-lookup-value",
			Inbound: []policyStep{
				{Policy: "cache-store-value", Config: map[string]any{"key": valueKey, "value": "v-{request.path}", "duration": 3600}},
				{Policy: "cache-lookup-value", Config: map[string]any{"key": valueKey, "variable_name": "cached"}},
			},
			Note:    "pair: cache-store-value then cache-lookup-value of the same key (a hit); minus cache-store-value ≈ the lookup",
			LimitUs: 2 * policyBudgetUs},
		{Name: "ip-filter", Policy: "ip-filter", Inbound: one("ip-filter", map[string]any{"action": "allow", "addresses": []string{"127.0.0.1"}}),
			Note: "allow list containing the client (127.0.0.1)"},
		{Name: "cors", Policy: "cors", Inbound: one("cors", map[string]any{"allowed_origins": []string{"https://app.example.com"}}),
			Headers: []string{"Origin: https://app.example.com"}, Note: "actual request from an allowed origin: CORS headers added",
			WantHeader: [2]string{"Access-Control-Allow-Origin", "https://app.example.com"}},
		{Name: "check-header", Policy: "check-header", Inbound: one("check-header", map[string]any{"name": "X-Bench-Check", "values": []string{"yes"}}),
			Headers: []string{"X-Bench-Check: yes"}, Note: "header present with an accepted value", DenyStatus: 401},
		{Name: "rewrite-uri", Policy: "rewrite-uri", Inbound: one("rewrite-uri", map[string]any{"template": "/v2/rewritten"}),
			Note: "rewrites the path (query kept)", EchoProbe: "?" + echoQuery, EchoWant: []string{"GET /v2/rewritten?" + echoQuery + "\n"}},
		{Name: "set-query-parameter", Policy: "set-query-parameter",
			Inbound: one("set-query-parameter", map[string]any{"name": "api-version", "value": "2024-01-01"}),
			Note:    "adds a query parameter", EchoProbe: "?" + echoQuery, EchoWant: []string{"api-version=2024-01-01"}},
		{Name: "set-method", Policy: "set-method", Inbound: one("set-method", map[string]any{"method": "POST"}),
			Note: "GET becomes POST", EchoProbe: echoPath[1:], EchoWant: []string{"POST /_echo\n"}},
		{Name: "set-variable", Policy: "set-variable", Inbound: one("set-variable", map[string]any{"name": "bench", "value": "{request.method} {request.path}"}),
			Note: "sets a variable from a template (not observable from outside: 200 only)"},
		{Name: "set-body", Policy: "set-body",
			Outbound: one("set-body", map[string]any{"template": `{{"ok":true,"method":"{request.method}"}}`, "phase": "response", "content_type": "application/json"}),
			Note:     "replaces the response body from a template", WantBody: `{"ok":true,"method":"GET"}`},
		{Name: "find-and-replace", Policy: "find-and-replace",
			Outbound: one("find-and-replace", map[string]any{"from": "benchload-backend", "to": "gatehouse-replaced", "phase": "response"}),
			Note:     "one match in the 100-byte response body", WantContains: []string{`"from":"gatehouse-replaced"`}},
		{Name: "json-to-xml", Policy: "json-to-xml",
			Outbound: one("json-to-xml", map[string]any{"apply": "always", "consider_accept_header": false, "phase": "response"}),
			Note:     "converts the 100-byte JSON response", WantContains: []string{"<Document>", "<from>benchload-backend</from>"}},
		{Name: "xml-to-json", Policy: "xml-to-json", Path: xmlPath[1:],
			Outbound:     one("xml-to-json", map[string]any{"kind": "javascript-friendly", "apply": "always", "consider_accept_header": false, "phase": "response"}),
			Note:         "converts a 100-byte XML response (backend path /_xml; the references get the JSON one)",
			WantContains: []string{`"from":"benchload-backend"`}},
		{Name: "set-status", Policy: "set-status", Outbound: one("set-status", map[string]any{"code": 201}),
			Note: "response status 200 → 201", WantStatus: 201},
		{Name: "set-backend-service", Policy: "set-backend-service",
			Inbound:   one("set-backend-service", map[string]any{"base_url": backendPlaceholder + "/svc"}),
			Note:      "sends the call to another base URL (the same backend, under /svc)",
			EchoProbe: "?" + echoQuery, EchoWant: []string{"GET /svc/?" + echoQuery + "\n"}},
		{Name: "forward-request", Policy: "forward-request", Inbound: one("forward-request", map[string]any{"timeout": 30}),
			Note: "sets the backend call's timeout (30 s)"},
		{Name: "retry", Policy: "retry", Inbound: one("retry", map[string]any{"condition": []string{"5xx"}, "count": 2, "interval": 0}),
			Note: "retries on 5xx; the backend answers 200, so one attempt"},
		{Name: "limit-concurrency", Policy: "limit-concurrency",
			Inbound: one("limit-concurrency", map[string]any{"max_count": huge, "counter_key": "ip"}),
			Note:    "takes and releases a slot per request (max 1e9 in flight, per IP)"},
		{Name: "mock-response", Policy: "mock-response",
			Inbound: one("mock-response", map[string]any{"status_code": 200, "content_type": "application/json", "example": backendBody}),
			Note:    "answers itself with the backend's 100-byte body (backend not called)", NoBackend: true},
		{Name: "return-response", Policy: "return-response",
			Inbound: one("return-response", map[string]any{"status": 200, "content_type": "application/json", "body": `{{"ok":true,"path":"{request.path}"}}`}),
			Note:    "answers itself from a template (backend not called)", WantBody: `{"ok":true,"path":"/"}`, NoBackend: true},
	}
}

// backendPlaceholder in a config value is replaced by the backend's base
// URL when the config is written.
const backendPlaceholder = "$BACKEND"

// policySkipped lists the built-in policies without a target of their own,
// and why (the unit test checks that every built-in is either measured or
// listed here).
var policySkipped = map[string]string{
	"cache-store":        "measured with cache-lookup in cache-hit (alone it stores nothing: no cache-lookup key)",
	"cache-remove-value": "not measured on its own: cache-store-value's key rendering with one cache_del instead of a cache_set",
}

// policyGatewayConfig returns the YAML config of a gateway with the
// policies of spec attached to the API, in front of backendURL. Configs are
// written as JSON, which is YAML.
func policyGatewayConfig(spec policySpec, backendURL string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by benchload policies: %s (%s)\napis:\n  - name: bench\n    path: /bench\n    backend: %s\n    policies:\n",
		spec.Name, spec.Note, backendURL)
	for _, sec := range []struct {
		name  string
		steps []policyStep
	}{{"inbound", spec.Inbound}, {"outbound", spec.Outbound}} {
		if len(sec.steps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "      %s:\n", sec.name)
		for _, st := range sec.steps {
			fmt.Fprintf(&b, "        - policy: %s\n", st.Policy)
			if st.Config != nil {
				cfg, err := json.Marshal(st.Config)
				if err != nil {
					return "", fmt.Errorf("%s: %s config: %w", spec.Name, st.Policy, err)
				}
				cfg = []byte(strings.ReplaceAll(string(cfg), backendPlaceholder, backendURL))
				fmt.Fprintf(&b, "          config: %s\n", cfg)
			}
		}
	}
	if spec.steps() == 0 {
		return "", fmt.Errorf("%s: no policy", spec.Name)
	}
	fmt.Fprintf(&b, "subscriptions:\n  - {id: bench, key: %s}\n", benchKey)
	return b.String(), nil
}

// policyOptions are the flags of the policies mode.
type policyOptions struct {
	runOptions
	batch  int
	only   string
	native bool
}

func parsePolicyFlags(args []string) (policyOptions, error) {
	var o policyOptions
	fs := flag.NewFlagSet("policies", flag.ContinueOnError)
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per batch; every target of a batch runs once per round, in shuffled order")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured wrk run per target and round (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured wrk run before each measured one")
	fs.IntVar(&o.conns, "conns", 32, "wrk connections")
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "gatehouse binary (make build)")
	fs.StringVar(&o.out, "out", "bench-out", "directory for the JSON report")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the per-round shuffle (0: from the clock)")
	fs.IntVar(&o.retries, "retries", 2, "re-run a measured run up to N times when other processes used > 10% of a core during it")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, data dirs, logs)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 20*time.Second, "longest wait for other processes to quieten before each run (the run goes ahead anyway)")
	fs.IntVar(&o.batch, "batch", 7, "policy gateways running at once (each batch also measures bare and gw-0)")
	fs.StringVar(&o.only, "only", "", "comma-separated target names to run (default: all; see -list)")
	fs.BoolVar(&o.native, "native", true, "measure the native golang-jwt verification (the JWT targets' reference)")
	list := fs.Bool("list", false, "list the targets and exit")
	if err := fs.Parse(args); err != nil {
		return o, flagError(err)
	}
	if *list {
		for _, s := range policySpecs(&jwtMaterial{}) {
			fmt.Printf("%-20s %s\n", s.Name, s.Note)
		}
		return o, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected arguments %q", fs.Args())
	}
	if o.rounds < 1 || o.conns < 1 || o.duration < time.Second || o.warmup < 0 || o.batch < 1 {
		return o, usagef("need -rounds ≥ 1, -conns ≥ 1, -duration ≥ 1s, -warmup ≥ 0, -batch ≥ 1")
	}
	return o, nil
}

// selectSpecs applies -only.
func selectSpecs(all []policySpec, only string) ([]policySpec, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	var out []policySpec
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(s policySpec) bool { return s.Name == name })
		if i < 0 {
			return nil, usagef("-only: no target %q (benchload policies -list)", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// splitBatches cuts n targets into the fewest batches of at most size,
// as even as possible (25 by 7: 7, 6, 6, 6).
func splitBatches(n, size int) [][2]int {
	if n == 0 {
		return nil
	}
	k := (n + size - 1) / size
	var out [][2]int
	lo := 0
	for i := range k {
		m := n / k
		if i < n%k {
			m++
		}
		out = append(out, [2]int{lo, lo + m})
		lo += m
	}
	return out
}

// policyTarget is a policy gateway (or a batch's bare or gw-0 reference).
type policyTarget struct {
	*target
	spec    *policySpec
	headers []string // what wrk sends
}

// policyRow is one line of the policies table.
type policyRow struct {
	Target     string    `json:"target"`
	Policy     string    `json:"policy,omitempty"`
	Batch      int       `json:"batch"`
	Steps      int       `json:"steps,omitempty"`
	Note       string    `json:"note,omitempty"`
	RPS        fnum      `json:"req_per_s_median"`
	P50        fnum      `json:"p50_ms_median"`
	P99        fnum      `json:"p99_ms_median"`
	CPUPerReq  fnum      `json:"cpu_us_per_req_median"`
	CPUVsGW0   fnum      `json:"cpu_us_vs_gw0_median"`  // median of per-round differences: the policy's own cost
	CPUVsBare  fnum      `json:"cpu_us_vs_bare_median"` // median of per-round differences
	CPUVsGW0s  []float64 `json:"cpu_us_vs_gw0_rounds,omitempty"`
	RatioVsGW0 fnum      `json:"ratio_vs_gw0_median"`
	RatioBare  fnum      `json:"ratio_vs_bare_median"`
	Non2xx     int64     `json:"non_2xx_total"`
	SockErrs   int64     `json:"socket_errors_total"`
	NoBackend  bool      `json:"answers_itself,omitempty"`
	LimitUs    fnum      `json:"limit_cpu_us_vs_gw0,omitempty"`
	Verdict    string    `json:"verdict,omitempty"`
}

// policyReport is everything a policies run produced; written as JSON.
type policyReport struct {
	Started        time.Time         `json:"started"`
	Mode           string            `json:"mode"`
	Seed           uint64            `json:"seed"`
	Rounds         int               `json:"rounds"`
	Duration       string            `json:"duration"`
	Warmup         string            `json:"warmup"`
	Conns          int               `json:"conns"`
	NProc          int               `json:"nproc"`
	Pinned         bool              `json:"pinned"`
	ClockTicks     int64             `json:"clk_tck"`
	LoadAvg        []string          `json:"loadavg"` // /proc/loadavg before and after
	Gatehouse      string            `json:"gatehouse"`
	GatehouseBuilt time.Time         `json:"gatehouse_mtime"`
	WrkVersion     string            `json:"wrk_version"`
	Batches        [][]string        `json:"batches"`
	Native         []nativeResult    `json:"native_jwt"`
	Configs        map[string]string `json:"configs"` // target → YAML
	Checks         map[string]string `json:"checks"`  // target → what was verified
	RSSKiB         map[string]int64  `json:"rss_kib"`
	Runs           []runRecord       `json:"runs"`
	Discarded      []runRecord       `json:"discarded_runs"`
	References     []policyRow       `json:"references"` // bare and gw-0 of each batch
	Summary        []policyRow       `json:"summary"`
	Skipped        map[string]string `json:"skipped_policies"`
	Failed         map[string]string `json:"failed_targets,omitempty"` // left out: did not start or failed the check
	env            *report
	specs          map[string]*policySpec
}

// runPolicies is the policies mode.
func runPolicies(args []string) (err error) {
	o, err := parsePolicyFlags(args)
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
	jm, err := newJWTMaterial()
	if err != nil {
		return err
	}
	specs, err := selectSpecs(policySpecs(jm), o.only)
	if err != nil {
		return err
	}
	if o.rounds < 3 {
		fmt.Printf("note: %d round(s); ≥ 3 interleaved rounds are needed for figures worth quoting\n", o.rounds)
	}
	env := &report{NProc: runtime.NumCPU()}
	env.Pinned = env.NProc >= 2
	if !env.Pinned {
		fmt.Println("WARNING: only 1 CPU: not pinning; wrk and the servers will compete for it")
	} else if _, err := exec.LookPath("taskset"); err != nil {
		fmt.Println("WARNING: taskset not found (util-linux): not pinning")
		env.Pinned = false
	}
	var guessed bool
	env.ClockTicks, guessed = clockTicks()
	if guessed {
		fmt.Println("WARNING: getconf CLK_TCK failed: assuming 100 ticks/s")
	}
	rep := &policyReport{
		Started: time.Now(), Mode: "policies", Seed: o.seed, Rounds: o.rounds, Conns: o.conns,
		Duration: o.duration.String(), Warmup: o.warmup.String(), NProc: env.NProc, Pinned: env.Pinned,
		ClockTicks: env.ClockTicks, Gatehouse: o.gatehouse, GatehouseBuilt: gh.ModTime(), WrkVersion: wrkVersion(),
		Configs: map[string]string{}, Checks: map[string]string{}, RSSKiB: map[string]int64{},
		Skipped: policySkipped, Failed: map[string]string{}, env: env, specs: map[string]*policySpec{},
	}
	if rep.Seed == 0 {
		rep.Seed = uint64(time.Now().UnixNano())
	}
	rep.LoadAvg = append(rep.LoadAvg, loadAvg())
	fmt.Printf("benchload policies: gatehouse %s (built %s), %s, %d CPUs, pinned=%v, CLK_TCK %d, load average %s\n",
		o.gatehouse, gh.ModTime().Format(time.DateTime), rep.WrkVersion, rep.NProc, rep.Pinned, rep.ClockTicks, rep.LoadAvg[0])
	fmt.Printf("seed %d (repeat this order with -seed %d); %d policy targets\n", rep.Seed, rep.Seed, len(specs))

	h, err := startHarness("benchload-policies-", rep.Pinned, o.keep, "configs, data dirs, logs")
	if err != nil {
		return err
	}
	defer func() { h.close(err) }()
	ctx, procs, tmp := h.ctx, h.procs, h.dir

	if o.native {
		waitQuiet(ctx, rep.NProc, 10*time.Second)
		if rep.Native, err = runNativeChild(ctx, self, rep.Pinned); err != nil {
			return err
		}
		for _, n := range rep.Native {
			fmt.Printf("native golang-jwt %s verify (pinned, 1 core): %.1f CPU µs/op (%d ops)\n", n.Alg, n.CPUPerOp, n.Iterations)
		}
	}
	if err := runPolicyBatches(ctx, procs, o, self, tmp, specs, rep); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	rep.LoadAvg = append(rep.LoadAvg, loadAvg())
	rep.summarize()
	rep.printTable(os.Stdout)
	procs.printLogs(os.Stdout)
	path, err := rep.writeFiles(o.out)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	logs := strings.TrimSuffix(path, ".json") + "-logs"
	if err := procs.copyLogs(logs); err != nil {
		return fmt.Errorf("copying logs: %w", err)
	}
	fmt.Printf("\nreport: %s (+ .txt)\nprocess logs: %s/\n", path, logs)
	return nil
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// runNativeChild runs the nativejwt mode in a child pinned to the servers'
// core and returns its results.
func runNativeChild(ctx context.Context, self string, pin bool) ([]nativeResult, error) {
	argv := []string{self, "nativejwt"}
	if pin {
		argv = append([]string{"taskset", "-c", serverCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("nativejwt: %w", err)
	}
	var res []nativeResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("nativejwt: %v: %q", err, out)
	}
	return res, nil
}

// runPolicyBatches starts the backend, the bare proxy and gw-0 once, then
// per batch starts the batch's policy gateways, checks them, measures the
// batch (bare, gw-0 and the policies, interleaved, shuffled per round) and
// stops them again.
func runPolicyBatches(ctx context.Context, procs *procSet, o policyOptions, self, tmp string, specs []policySpec, rep *policyReport) error {
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
	base := []string{keyHeader + ": " + benchKey}

	// The references, kept for the whole run and measured in every batch.
	if addr, err = freeAddr(); err != nil {
		return err
	}
	bare, err := procs.start(nameBare, self, "bareproxy", "-listen", addr, "-backend", backendURL)
	if err != nil {
		return err
	}
	refs := []*policyTarget{{target: &target{Name: nameBare, Policies: -1, URL: "http://" + addr + "/", proc: bare}, headers: base}}
	p, url, err := procs.startGateway(o.gatehouse, tmp, nameGW0, 0, backendURL, false)
	if err != nil {
		return err
	}
	refs = append(refs, &policyTarget{target: &target{Name: nameGW0, Policies: 0, URL: url, proc: p}, headers: base})
	for _, t := range refs {
		if _, err := waitReady(ctx, t.proc, t.URL, 10*time.Second); err != nil {
			return err
		}
		notes, err := checkTarget(ctx, t.target)
		if err != nil {
			return err
		}
		fmt.Printf("%-20s pid %-7d ready; checked: %s\n", t.Name, t.proc.Pid(), strings.Join(notes, ", "))
	}

	rng := rand.New(rand.NewPCG(rep.Seed, rep.Seed^0x9e3779b97f4a7c15))
	batches := splitBatches(len(specs), o.batch)
	for bi, span := range batches {
		batch := bi + 1
		var pts []*policyTarget
		names := []string{nameBare, nameGW0}
		for i := span[0]; i < span[1]; i++ {
			spec := &specs[i]
			rep.specs[spec.Name] = spec
			cfg, err := policyGatewayConfig(*spec, backendURL)
			if err != nil {
				return err
			}
			rep.Configs[spec.Name] = cfg
			p, addr, err := procs.startGatewayConfig(o.gatehouse, tmp, spec.Name, cfg, false)
			if err != nil {
				return err
			}
			pts = append(pts, &policyTarget{
				target:  &target{Name: spec.Name, Policies: spec.steps(), URL: "http://" + addr + "/bench/" + spec.Path, proc: p},
				spec:    spec,
				headers: append(slices.Clone(base), spec.Headers...),
			})
			names = append(names, spec.Name)
		}
		fmt.Printf("\n=== batch %d/%d: %s\n", batch, len(batches), strings.Join(names[2:], ", "))
		// A target that does not start or fails its check (e.g. a policy
		// the binary does not have) is left out and reported, not fatal.
		var ok []*policyTarget
		for _, t := range pts {
			want := t.spec.WantStatus
			if want == 0 {
				want = http.StatusOK
			}
			// Up to a minute to start (a batch's gateways compile the
			// built-in module at the same time on one core), but once it
			// answers, 5 s more for the wanted status (a policy the binary
			// lacks answers 500 for ever).
			var answered time.Time
			_, err := waitReadyFunc(ctx, t.proc, 60*time.Second, want, func() (int, error) {
				st, _, body, err := probe(ctx, t.URL, t.headers)
				if err == nil && st != want {
					if answered.IsZero() {
						answered = time.Now()
					} else if time.Since(answered) > 5*time.Second {
						return st, giveUp{fmt.Sprintf("answers %d, want %d: %q", st, want, body)}
					}
				}
				return st, err
			})
			var notes []string
			if err == nil {
				notes, err = checkPolicyTarget(ctx, t, backendURL)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				rep.Failed[t.Name] = err.Error()
				fmt.Printf("%-20s LEFT OUT: %v\n", t.Name, firstLine(err.Error()))
				t.proc.stop(5 * time.Second)
				continue
			}
			rep.Checks[t.Name] = strings.Join(notes, ", ")
			fmt.Printf("%-20s pid %-7d ready; checked: %s\n", t.Name, t.proc.Pid(), rep.Checks[t.Name])
			ok = append(ok, t)
		}
		pts = ok
		names = names[:2]
		for _, t := range pts {
			names = append(names, t.Name)
		}
		rep.Batches = append(rep.Batches, names)
		all := append(slices.Clone(refs), pts...)
		for round := 1; round <= o.rounds; round++ {
			for pos, i := range rng.Perm(len(all)) {
				t := all[i]
				rec, err := measurePolicyRun(ctx, rep, o, backend, t, batch, round, pos+1)
				if err != nil {
					return err
				}
				rep.Runs = append(rep.Runs, rec)
			}
		}
		for _, t := range all {
			if kib, err := readRSS(t.proc.Pid()); err == nil {
				key := t.Name
				if t.spec == nil {
					key = fmt.Sprintf("%s@%d", t.Name, batch)
				}
				rep.RSSKiB[key] = kib
			}
		}
		for _, t := range pts {
			t.proc.stop(5 * time.Second)
		}
	}
	return nil
}

// measurePolicyRun measures t once, again when other processes disturbed
// the run (up to -retries times), and prints the line.
func measurePolicyRun(ctx context.Context, rep *policyReport, o policyOptions, backend *proc, t *policyTarget, batch, round, pos int) (runRecord, error) {
	var rec runRecord
	for attempt := 0; ; attempt++ {
		var err error
		rec, err = measure(ctx, rep.env, o.runOptions, t.headers, backend, t.target)
		if err != nil {
			return rec, err
		}
		rec.Batch, rec.Round, rec.Position, rec.Attempts = batch, round, pos, attempt+1
		if rec.ForeignPct <= foreignWarnPct || attempt >= o.retries {
			break
		}
		rep.Discarded = append(rep.Discarded, rec)
		fmt.Printf("b%d r%d/%d  %-20s disturbed (other processes used %.0f%% of a core): measuring again\n",
			batch, round, o.rounds, t.Name, rec.ForeignPct)
	}
	var warn string
	if n, s := rec.Wrk.Non2xx, rec.Wrk.SockErrs.Total(); n > 0 || s > 0 {
		warn += fmt.Sprintf("  WARNING: %d non-2xx, %d socket errors", n, s)
	}
	if rec.ForeignPct > foreignWarnPct {
		warn += fmt.Sprintf("  NOISY: other processes used %.0f%% of a core", rec.ForeignPct)
	}
	fmt.Printf("b%d r%d/%d  %-20s %7.0f req/s  p50 %-7s p99 %-7s CPU %5.1f µs/req  backend %4.1f  foreign %3.0f%%%s\n",
		batch, round, o.rounds, t.Name, rec.Wrk.RPS, fmtMs(ms(rec.Wrk.P50)), fmtMs(ms(rec.Wrk.P99)),
		rec.CPUPerReq, rec.BackendCPUPerReq, max(rec.ForeignPct, 0), warn)
	return rec, nil
}

// probe does one GET with the given headers ("Name: value") and returns
// the status, the response headers and the body.
func probe(ctx context.Context, url string, headers []string) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, string(b), err
}

// checkPolicyTarget makes sure a policy gateway takes the policy's main
// path before it is measured: the expected answer (twice: the second is
// what the load sees, e.g. a cache hit), the refusal without credentials,
// the backend's view of the request.
func checkPolicyTarget(ctx context.Context, t *policyTarget, backendURL string) ([]string, error) {
	s := t.spec
	var status int
	var hdr http.Header
	var body string
	for range 2 {
		var err error
		if status, hdr, body, err = probe(ctx, t.URL, t.headers); err != nil {
			return nil, fmt.Errorf("%s: %v", t.Name, err)
		}
	}
	var notes []string
	if err := s.checkAnswer(status, hdr, body); err != nil {
		return nil, fmt.Errorf("%s: GET %s: %v", t.Name, t.URL, err)
	}
	notes = append(notes, fmt.Sprintf("%d", status))
	switch {
	case s.WantBody != "":
		notes = append(notes, "body as expected")
	case len(s.WantContains) > 0:
		notes = append(notes, "body converted/changed")
	default:
		notes = append(notes, "backend body")
	}
	if s.WantHeader[0] != "" {
		notes = append(notes, s.WantHeader[0]+": "+s.WantHeader[1])
	}
	if s.DenyStatus != 0 {
		st, _, _, err := probe(ctx, t.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.Name, err)
		}
		if st != s.DenyStatus {
			return nil, fmt.Errorf("%s: without credentials got %d, want %d (policy not enforcing?)", t.Name, st, s.DenyStatus)
		}
		notes = append(notes, fmt.Sprintf("%d without credentials", st))
	}
	if s.EchoProbe != "" {
		u := strings.TrimSuffix(t.URL, s.Path) + s.EchoProbe
		_, _, echo, err := probe(ctx, u, t.headers)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.Name, err)
		}
		for _, w := range s.EchoWant {
			if !strings.Contains(echo, w) {
				return nil, fmt.Errorf("%s: backend echo lacks %q:\n%s", t.Name, w, echo)
			}
		}
		var saw []string
		for _, w := range s.EchoWant {
			saw = append(saw, strings.TrimSpace(w))
		}
		notes = append(notes, "backend saw "+strings.Join(saw, " / "))
	}
	return notes, nil
}

// checkAnswer checks a response against the spec's expectations.
func (s *policySpec) checkAnswer(status int, hdr http.Header, body string) error {
	want := s.WantStatus
	if want == 0 {
		want = http.StatusOK
	}
	if status != want {
		return fmt.Errorf("status %d, want %d (body %q)", status, want, body)
	}
	switch {
	case s.WantBody != "":
		if body != s.WantBody {
			return fmt.Errorf("body %q, want %q", body, s.WantBody)
		}
	case len(s.WantContains) > 0:
		for _, w := range s.WantContains {
			if !strings.Contains(body, w) {
				return fmt.Errorf("body %q lacks %q", body, w)
			}
		}
	default:
		if body != backendBody {
			return fmt.Errorf("body %q, want the backend's", body)
		}
	}
	if n := s.WantHeader[0]; n != "" && hdr.Get(n) != s.WantHeader[1] {
		return fmt.Errorf("header %s = %q, want %q", n, hdr.Get(n), s.WantHeader[1])
	}
	return nil
}

// summarize computes the rows: per policy, medians over its batch's rounds
// of the per-round differences and ratios against that batch's bare and
// gw-0 runs of the same round.
func (rep *policyReport) summarize() {
	type key struct {
		batch, round int
		name         string
	}
	runs := map[key]runRecord{}
	for _, r := range rep.Runs {
		runs[key{r.Batch, r.Round, r.Target}] = r
	}
	native := map[string]float64{}
	for _, n := range rep.Native {
		native[n.Alg] = n.CPUPerOp
	}
	rep.Summary, rep.References = nil, nil
	for bi, names := range rep.Batches {
		batch := bi + 1
		for _, name := range names {
			row := policyRow{Target: name, Batch: batch}
			var rps, p50, p99, cpu, dg, db, rg, rb []float64
			for round := 1; round <= rep.Rounds; round++ {
				r, ok := runs[key{batch, round, name}]
				if !ok {
					continue
				}
				rps, p50, p99, cpu = append(rps, r.Wrk.RPS), append(p50, ms(r.Wrk.P50)), append(p99, ms(r.Wrk.P99)), append(cpu, r.CPUPerReq)
				row.Non2xx += r.Wrk.Non2xx
				row.SockErrs += r.Wrk.SockErrs.Total()
				if g, ok := runs[key{batch, round, nameGW0}]; ok && g.Wrk.RPS > 0 {
					dg, rg = append(dg, r.CPUPerReq-g.CPUPerReq), append(rg, r.Wrk.RPS/g.Wrk.RPS)
				}
				if b, ok := runs[key{batch, round, nameBare}]; ok && b.Wrk.RPS > 0 {
					db, rb = append(db, r.CPUPerReq-b.CPUPerReq), append(rb, r.Wrk.RPS/b.Wrk.RPS)
				}
			}
			row.RPS, row.P50, row.P99, row.CPUPerReq = median(rps), median(p50), median(p99), median(cpu)
			row.CPUVsGW0, row.CPUVsBare, row.RatioVsGW0, row.RatioBare = median(dg), median(db), median(rg), median(rb)
			s, isPolicy := rep.specs[name]
			if !isPolicy {
				rep.References = append(rep.References, row)
				continue
			}
			row.Policy, row.Steps, row.Note, row.NoBackend, row.CPUVsGW0s = s.Policy, s.steps(), s.Note, s.NoBackend, dg
			limit := s.LimitUs
			if limit == 0 {
				limit = policyBudgetUs
			}
			if s.NativeAlg != "" {
				if n, ok := native[s.NativeAlg]; ok {
					limit = n + policyBudgetUs
				} else {
					limit = math.NaN()
				}
			}
			row.LimitUs = fnum(limit)
			switch {
			case math.IsNaN(limit) || math.IsNaN(float64(row.CPUVsGW0)):
				row.Verdict = "—"
			case float64(row.CPUVsGW0) <= limit:
				row.Verdict = "PASS"
			default:
				row.Verdict = "SHORT"
			}
			rep.Summary = append(rep.Summary, row)
		}
	}
}

// printTable writes the policies table, the references and the notes.
func (rep *policyReport) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nPolicies alone: %d batch(es), %d round(s) × %s per target, %d connections, medians over rounds (seed %d)\n",
		len(rep.Batches), rep.Rounds, rep.Duration, rep.Conns, rep.Seed)
	fmt.Fprintf(w, "load average before/after: %s\n\n", strings.Join(rep.LoadAvg, " / "))
	const row = "%-20s %2s %8s %9s %10s %12s %12s %9s %10s  %s\n"
	fmt.Fprintf(w, row, "target", "b", "req/s", "p99", "CPU µs/req", "ΔCPU vs gw-0", "ΔCPU vs bare", "× gw-0", "limit", "verdict")
	fmt.Fprintf(w, row, strings.Repeat("-", 20), "--", "--------", "---------", "----------", "------------", "------------", "---------", "----------", "-------")
	for _, s := range rep.Summary {
		limit := fmt.Sprintf("≤ %.1f", s.LimitUs)
		if math.IsNaN(float64(s.LimitUs)) {
			limit = "—"
		}
		verdict := s.Verdict
		if s.NoBackend {
			verdict += " (no backend call)"
		}
		if s.Steps > 1 {
			verdict += fmt.Sprintf(" (%d policies)", s.Steps)
		}
		fmt.Fprintf(w, row, s.Target, fmt.Sprint(s.Batch), fmt.Sprintf("%.0f", s.RPS), fmtMs(float64(s.P99)),
			fmt.Sprintf("%.1f", s.CPUPerReq), fmt.Sprintf("%+.1f", s.CPUVsGW0), fmt.Sprintf("%+.1f", s.CPUVsBare),
			fmtRatio(float64(s.RatioVsGW0)), limit, verdict)
	}
	fmt.Fprintf(w, "\nReferences per batch (each policy above is compared with these, round by round):\n")
	for _, s := range rep.References {
		fmt.Fprintf(w, "  batch %d %-5s %8.0f req/s  CPU %5.1f µs/req  (gw-0 − bare: %s)\n", s.Batch, s.Target, s.RPS, s.CPUPerReq,
			map[bool]string{true: fmt.Sprintf("%+.1f µs", s.CPUVsBare), false: "—"}[s.Target == nameGW0])
	}
	for _, n := range rep.Native {
		fmt.Fprintf(w, "native golang-jwt %s verification, same claims checks, pinned like the gateways: %.1f CPU µs/op\n", n.Alg, n.CPUPerOp)
	}
	var errs []string
	for _, s := range append(slices.Clone(rep.References), rep.Summary...) {
		if s.Non2xx > 0 || s.SockErrs > 0 {
			errs = append(errs, fmt.Sprintf("%s (batch %d): %d non-2xx, %d socket errors", s.Target, s.Batch, s.Non2xx, s.SockErrs))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "WARNING: errors during measured runs: %s\n", strings.Join(errs, "; "))
	}
	noisy := 0
	for _, r := range rep.Runs {
		if r.ForeignPct > foreignWarnPct {
			noisy++
		}
	}
	if len(rep.Discarded) > 0 || noisy > 0 {
		fmt.Fprintf(w, "NOISE: %d run(s) were disturbed and measured again; %d kept run(s) are still disturbed\n", len(rep.Discarded), noisy)
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Failed)) {
		fmt.Fprintf(w, "LEFT OUT (did not start or failed its check): %s: %s\n", name, firstLine(rep.Failed[name]))
	}
	for name, why := range rep.Skipped {
		fmt.Fprintf(w, "not measured alone: %s: %s\n", name, why)
	}
	fmt.Fprintf(w, "\nΔCPU vs gw-0 is the policy's own cost: the median over rounds of (policy gateway − gw-0 of the same\n"+
		"batch and round), target process CPU (utime+stime, %d ticks/s) per completed request. Limit: %.0f µs\n"+
		"(JWT: the native verification + %.0f µs). Targets that answer themselves skip the proxying and come out\n"+
		"below gw-0. With short rounds a tick is %.2f µs/req at 10k req/s over 2 s: read differences under ~1 µs as noise.\n",
		rep.ClockTicks, policyBudgetUs, policyBudgetUs, 1e6/float64(rep.ClockTicks)/20000)
}

// writeFiles writes the report as DIR/benchload-policies-TIMESTAMP.json and
// the table as .txt next to it.
func (rep *policyReport) writeFiles(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "benchload-policies-"+rep.Started.Format("20060102-150405")+".json")
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	var t strings.Builder
	rep.printTable(&t)
	return path, os.WriteFile(strings.TrimSuffix(path, ".json")+".txt", []byte(t.String()), 0o644)
}
