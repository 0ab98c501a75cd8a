package main

// `gatehouse plugin test` and `gatehouse plugin run`: a built module in the
// real host (wazero and the host functions of host/engine, in-memory
// counters and cache) against YAML fixtures, without a gateway, a listener
// or a database. The fixture format is in docs/plugin-guide.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// fixtureFile is one fixtures/*.yaml: defaults for its cases, and the cases.
type fixtureFile struct {
	Policy    string            `yaml:"policy"`
	Config    any               `yaml:"config"`
	Variables map[string]string `yaml:"variables"`
	Cases     []fixtureCase     `yaml:"cases"`
}

type fixtureCase struct {
	Name string `yaml:"name"`
	// Policy and Config override the file's.
	Policy    string            `yaml:"policy"`
	Config    any               `yaml:"config"`
	Variables map[string]string `yaml:"variables"` // set before the call
	Request   fixtureRequest    `yaml:"request"`
	Backend   *fixtureResponse  `yaml:"backend"`
	Expect    fixtureExpect     `yaml:"expect"`
}

type fixtureRequest struct {
	Method   string            `yaml:"method"`
	Path     string            `yaml:"path"`
	Query    string            `yaml:"query"`
	Headers  map[string]string `yaml:"headers"`
	Body     string            `yaml:"body"`
	ClientIP string            `yaml:"client_ip"`
}

type fixtureResponse struct {
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
}

type fixtureExpect struct {
	// Answered: the policy answered itself (the backend was not called).
	Answered *bool `yaml:"answered"`
	Status   int   `yaml:"status"`
	// Headers of the response the client gets (exact values); "" means
	// the header must be absent.
	Headers      map[string]string `yaml:"headers"`
	Body         *string           `yaml:"body"`
	BodyContains string            `yaml:"body_contains"`
	// Variables after the calls ("" means unset).
	Variables map[string]string `yaml:"variables"`
	// Upstream is the request the backend got.
	Upstream *fixtureUpstream `yaml:"upstream"`
	// Error: the call must fail with this text in the error or the
	// module's log.
	Error string `yaml:"error"`
}

type fixtureUpstream struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Query   *string           `yaml:"query"`
	Headers map[string]string `yaml:"headers"`
	Body    *string           `yaml:"body"`
}

// loadFixtures reads every fixtures/*.yaml of dir, strictly.
func loadFixtures(dir string) (names []string, files []fixtureFile, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	paths = append(paths, more...)
	slices.Sort(paths)
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no fixtures: %s has no *.yaml files", dir)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var f fixtureFile
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("empty file")
			}
			return nil, nil, fmt.Errorf("%s: malformed fixture: %v", p, err)
		}
		if len(f.Cases) == 0 {
			return nil, nil, fmt.Errorf("%s: malformed fixture: no cases", p)
		}
		for i, c := range f.Cases {
			where := fmt.Sprintf("%s: case %d", p, i+1)
			if c.Name != "" {
				where += " (" + c.Name + ")"
			}
			if c.Request.Path != "" && !strings.HasPrefix(c.Request.Path, "/") {
				return nil, nil, fmt.Errorf("%s: request.path %q must start with /", where, c.Request.Path)
			}
			if c.Expect.Status != 0 && (c.Expect.Status < 100 || c.Expect.Status > 599) {
				return nil, nil, fmt.Errorf("%s: expect.status %d is not an HTTP status", where, c.Expect.Status)
			}
			if c.Backend != nil && c.Backend.Status != 0 && (c.Backend.Status < 100 || c.Backend.Status > 599) {
				return nil, nil, fmt.Errorf("%s: backend.status %d is not an HTTP status", where, c.Backend.Status)
			}
		}
		names = append(names, p)
		files = append(files, f)
	}
	return names, files, nil
}

// configJSON turns a fixture's config (a YAML value, or a string holding
// JSON) into the attachment's JSON config.
func configJSON(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !json.Valid([]byte(v)) {
			return nil, fmt.Errorf("config %q is a string but not JSON", v)
		}
		return []byte(v), nil
	}
	return json.Marshal(v)
}

// pluginHost is a module loaded in the real host with in-memory services.
type pluginHost struct {
	e   *engine.Engine
	mod *engine.Module
	log *bytes.Buffer // the module's log output and engine events
}

func newPluginHost(ctx context.Context, name, version string, bin []byte) (*pluginHost, error) {
	h := &pluginHost{log: &bytes.Buffer{}}
	svc := &engine.Services{
		Counters:   counter.New(counter.Options{}),
		Cache:      vcache.New(10000, 64<<20),
		Semaphores: semaphore.New(),
		Leases:     vcache.NewLeases(0),
	}
	e, err := engine.New(ctx, engine.Options{Services: svc, Logger: slog.New(plainLog{h.log})})
	if err != nil {
		return nil, err
	}
	mod, err := e.Load(ctx, name, version, bin, engine.LoadOptions{Min: 1, Max: 1})
	if err != nil {
		e.Close(ctx)
		return nil, err
	}
	h.e, h.mod = e, mod
	return h, nil
}

func (h *pluginHost) Close(ctx context.Context) {
	h.mod.Close(ctx)
	h.e.Close(ctx)
}

// pluginCall is what one request did.
type pluginCall struct {
	Answered bool
	Status   int
	Header   http.Header
	Body     []byte
	Upstream *upstreamSeen
	Vars     map[string]string
	Err      error
	Stages   []traceLine
	Log      string
}

type upstreamSeen struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

type traceLine struct {
	Phase, Decision string
	Time            time.Duration
	Changes         []string
}

// do runs one request: on_request; then, unless the policy answered, the
// backend answer of the fixture; then on_response.
func (h *pluginHost) do(ctx context.Context, policy string, config []byte, vars map[string]string, req fixtureRequest, be *fixtureResponse) *pluginCall {
	att := h.mod.Attach(policy, config)
	plan, err := h.mod.NewPlan(att)
	if err != nil {
		return &pluginCall{Err: err}
	}
	defer h.mod.Release([]*engine.Plan{plan})
	return h.runPlan(ctx, plan, vars, req, be)
}

// runPlan runs one request through a plan of the module.
func (h *pluginHost) runPlan(ctx context.Context, plan *engine.Plan, vars map[string]string, req fixtureRequest, be *fixtureResponse) *pluginCall {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	hdr := http.Header{}
	for k, v := range req.Headers {
		hdr.Set(k, v)
	}
	ip := req.ClientIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	ex := &engine.Exchange{Ctx: ctx, Method: method, Path: path, OrigPath: path, Query: req.Query,
		ClientIP: ip, RequestID: "plugin-test", API: "plugin-test", Scheme: "http", Host: "localhost",
		ReqHeader: hdr, RespHeader: http.Header{}}
	if req.Body != "" {
		ex.ReqBody = engine.Body{Src: strings.NewReader(req.Body), Limit: 1 << 20}
	} else {
		ex.ReqBody = engine.Body{Limit: 1 << 20}
	}
	for k, v := range vars {
		ex.SetVar(k, v)
	}
	defer ex.ReleaseHeld()
	out := &pluginCall{}
	logStart := h.log.Len()
	step := func(phase engine.Phase) (int32, error) {
		reqH, respH, before := ex.ReqHeader.Clone(), ex.RespHeader.Clone(), maps.Clone(ex.Vars())
		start := time.Now()
		res, err := h.mod.Call(ex, phase, plan, engine.CallOptions{Deadline: time.Second})
		tl := traceLine{Phase: phase.String(), Time: time.Since(start)}
		switch {
		case err != nil:
			tl.Decision = "failed: " + err.Error()
		case phase == engine.PhaseRequest && ex.Answered:
			tl.Decision = fmt.Sprintf("answered %d", ex.Status)
		case res == abi.ActionStop:
			tl.Decision = "stopped"
		default:
			tl.Decision = "continue"
		}
		if phase == engine.PhaseRequest {
			tl.Changes = headerDiff("request header", reqH, ex.ReqHeader)
		}
		tl.Changes = append(tl.Changes, headerDiff("response header", respH, ex.RespHeader)...)
		for _, k := range slices.Sorted(maps.Keys(ex.Vars())) {
			if v, ok := before[k]; !ok || v != ex.Vars()[k] {
				tl.Changes = append(tl.Changes, fmt.Sprintf("variable %s = %q", k, ex.Vars()[k]))
			}
		}
		out.Stages = append(out.Stages, tl)
		return res, err
	}
	finish := func(err error) *pluginCall {
		out.Err = err
		out.Vars = maps.Clone(ex.Vars())
		out.Log = h.log.String()[logStart:]
		return out
	}
	res, err := step(engine.PhaseRequest)
	if err != nil {
		return finish(err)
	}
	if !ex.Answered {
		if res == abi.ActionStop {
			return finish(errors.New("the policy stopped the request without an answer"))
		}
		body, _ := ex.ReqBody.Read()
		out.Upstream = &upstreamSeen{Method: ex.Method, Path: ex.Path, Query: ex.Query, Header: ex.ReqHeader.Clone(), Body: bytes.Clone(body)}
		if be == nil {
			be = &fixtureResponse{}
		}
		ex.Status = be.Status
		if ex.Status == 0 {
			ex.Status = http.StatusOK
		}
		ex.RespHeader = http.Header{}
		for k, v := range be.Headers {
			ex.RespHeader.Set(k, v)
		}
		ex.RespBody = engine.Body{Src: strings.NewReader(be.Body), Limit: 8 << 20}
	}
	out.Answered = ex.Answered
	if _, err := step(engine.PhaseResponse); err != nil {
		return finish(err)
	}
	out.Status, out.Header = ex.Status, ex.RespHeader
	out.Body, _ = ex.RespBody.Read()
	return finish(nil)
}

func headerDiff(what string, before, after http.Header) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if !slices.Equal(before[k], after[k]) {
			out = append(out, fmt.Sprintf("%s %s: %s", what, k, strings.Join(after[k], ", ")))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[k]; !ok {
			out = append(out, fmt.Sprintf("%s %s removed", what, k))
		}
	}
	return out
}

// check compares a call with a case's expectations; it returns every
// difference.
func (c *pluginCall) check(x fixtureExpect) []string {
	var bad []string
	if x.Error != "" {
		switch {
		case c.Err == nil:
			bad = append(bad, fmt.Sprintf("want a failure with %q, the call succeeded (status %d)", x.Error, c.Status))
		case !strings.Contains(c.Err.Error(), x.Error) && !strings.Contains(c.Log, x.Error):
			bad = append(bad, fmt.Sprintf("want a failure with %q, got: %v\nmodule log:\n%s", x.Error, c.Err, indent(c.Log)))
		}
		return bad
	}
	if c.Err != nil {
		return []string{fmt.Sprintf("the call failed: %v\nmodule log:\n%s", c.Err, indent(c.Log))}
	}
	if x.Answered != nil && *x.Answered != c.Answered {
		if c.Answered {
			bad = append(bad, fmt.Sprintf("the policy answered (status %d); want the request passed to the backend", c.Status))
		} else {
			bad = append(bad, "the request went to the backend; want the policy to answer")
		}
	}
	if x.Status != 0 && x.Status != c.Status {
		bad = append(bad, fmt.Sprintf("status %d, want %d", c.Status, x.Status))
	}
	bad = append(bad, headersDiffer("response header", c.Header, x.Headers)...)
	if x.Body != nil && string(c.Body) != *x.Body {
		bad = append(bad, fmt.Sprintf("body %q, want %q", c.Body, *x.Body))
	}
	if x.BodyContains != "" && !strings.Contains(string(c.Body), x.BodyContains) {
		bad = append(bad, fmt.Sprintf("body %q does not contain %q", c.Body, x.BodyContains))
	}
	for _, k := range slices.Sorted(maps.Keys(x.Variables)) {
		want := x.Variables[k]
		got, ok := c.Vars[k]
		switch {
		case want == "" && ok:
			bad = append(bad, fmt.Sprintf("variable %s = %q, want it unset", k, got))
		case want != "" && got != want:
			bad = append(bad, fmt.Sprintf("variable %s = %q, want %q", k, got, want))
		}
	}
	if u := x.Upstream; u != nil {
		if c.Upstream == nil {
			return append(bad, "want a backend request, the policy answered")
		}
		if u.Method != "" && u.Method != c.Upstream.Method {
			bad = append(bad, fmt.Sprintf("backend got method %s, want %s", c.Upstream.Method, u.Method))
		}
		if u.Path != "" && u.Path != c.Upstream.Path {
			bad = append(bad, fmt.Sprintf("backend got path %s, want %s", c.Upstream.Path, u.Path))
		}
		if u.Query != nil && *u.Query != c.Upstream.Query {
			bad = append(bad, fmt.Sprintf("backend got query %q, want %q", c.Upstream.Query, *u.Query))
		}
		if u.Body != nil && *u.Body != string(c.Upstream.Body) {
			bad = append(bad, fmt.Sprintf("backend got body %q, want %q", c.Upstream.Body, *u.Body))
		}
		bad = append(bad, headersDiffer("backend request header", c.Upstream.Header, u.Headers)...)
	}
	return bad
}

func headersDiffer(what string, got http.Header, want map[string]string) []string {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w := want[k]
		g, ok := got[http.CanonicalHeaderKey(k)]
		switch {
		case w == "" && ok:
			bad = append(bad, fmt.Sprintf("%s %s: %q, want it absent", what, k, strings.Join(g, ", ")))
		case w != "" && strings.Join(g, ", ") != w:
			if !ok {
				bad = append(bad, fmt.Sprintf("%s %s is missing, want %q", what, k, w))
			} else {
				bad = append(bad, fmt.Sprintf("%s %s: %q, want %q", what, k, strings.Join(g, ", "), w))
			}
		}
	}
	return bad
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// moduleForProject builds the project unless --wasm names a built module.
func moduleForProject(c *cli.Context, p *pluginProject) ([]byte, error) {
	if f := c.String("wasm"); f != "" {
		return os.ReadFile(f)
	}
	if c.Bool("no-build") {
		b, err := os.ReadFile(p.wasmPath())
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not built: run `gatehouse plugin build` (or leave out --no-build)", p.wasmPath())
		}
		return b, err
	}
	return buildPlugin(c.Context, p, io.Discard, c.App.ErrWriter)
}

func pluginTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "build a plugin project and run its fixtures (fixtures/*.yaml) on the module in the real host",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "fixtures", Usage: "fixture directory (default DIR/fixtures)"},
			&cli.StringFlag{Name: "wasm", Usage: "test this built module instead of building DIR"},
			&cli.BoolFlag{Name: "no-build", Usage: "test DIR/NAME.wasm as built"},
			&cli.StringFlag{Name: "run", Usage: "only cases whose name contains this"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print every case, passed or not"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError{fmt.Errorf("plugin test: want at most one DIR, got %d arguments", c.NArg())}
			}
			p, err := loadPluginProject(c.Args().First())
			if err != nil {
				return err
			}
			fdir := c.String("fixtures")
			if fdir == "" {
				fdir = filepath.Join(p.dir, "fixtures")
			}
			names, files, err := loadFixtures(fdir)
			if err != nil {
				return err
			}
			bin, err := moduleForProject(c, p)
			if err != nil {
				return err
			}
			ctx := context.Background()
			h, err := newPluginHost(ctx, p.man.Name, p.man.Version, bin)
			if err != nil {
				return fmt.Errorf("plugin test: the host refuses the module: %w", err)
			}
			defer h.Close(ctx)
			w := c.App.Writer
			pass, fail := 0, 0
			for i, f := range files {
				for j, cs := range f.Cases {
					name := cs.Name
					if name == "" {
						name = fmt.Sprintf("case %d", j+1)
					}
					label := filepath.Base(names[i]) + ": " + name
					if r := c.String("run"); r != "" && !strings.Contains(name, r) {
						continue
					}
					policy := cmp(cs.Policy, f.Policy, p.policy())
					cfgv := cs.Config
					if cfgv == nil {
						cfgv = f.Config
					}
					cfg, err := configJSON(cfgv)
					if err != nil {
						return fmt.Errorf("%s: malformed fixture: %v", label, err)
					}
					vars := maps.Clone(f.Variables)
					if vars == nil {
						vars = map[string]string{}
					}
					maps.Copy(vars, cs.Variables)
					res := h.do(ctx, policy, cfg, vars, cs.Request, cs.Backend)
					if bad := res.check(cs.Expect); len(bad) > 0 {
						fail++
						fmt.Fprintf(w, "FAIL %s\n", label)
						for _, b := range bad {
							fmt.Fprintf(w, "     %s\n", strings.ReplaceAll(b, "\n", "\n     "))
						}
						continue
					}
					pass++
					if c.Bool("verbose") {
						fmt.Fprintf(w, "ok   %s\n", label)
					}
				}
			}
			if pass+fail == 0 {
				return fmt.Errorf("plugin test: no case matched --run %q", c.String("run"))
			}
			if fail > 0 {
				return fmt.Errorf("plugin test: %d of %d cases failed", fail, pass+fail)
			}
			fmt.Fprintf(w, "ok   %d cases passed (%s@%s in the real host)\n", pass, p.man.Name, p.man.Version)
			return nil
		},
	}
}

// cmp returns the first non-empty string.
func cmp(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func pluginRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "send one request through a plugin project's module in the real host and print the trace",
		ArgsUsage: "[PATH]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "plugin project directory"},
			&cli.StringFlag{Name: "wasm", Usage: "run this built module instead of building --dir"},
			&cli.BoolFlag{Name: "no-build", Usage: "run DIR/NAME.wasm as built"},
			&cli.StringFlag{Name: "policy", Usage: "policy (default: plugin.json's)"},
			&cli.StringFlag{Name: "config", Usage: "attachment config, JSON"},
			&cli.StringFlag{Name: "method", Aliases: []string{"X"}, Value: "GET"},
			&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "request header Name:value (repeatable)"},
			&cli.StringSliceFlag{Name: "var", Usage: "variable name=value set before the call (repeatable)"},
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "request body"},
			&cli.IntFlag{Name: "backend-status", Value: 200, Usage: "status the (simulated) backend answers"},
			&cli.StringFlag{Name: "backend-body", Usage: "body the (simulated) backend answers"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError{fmt.Errorf("plugin run: want at most one PATH, got %d arguments", c.NArg())}
			}
			p, err := loadPluginProject(c.String("dir"))
			if err != nil {
				return err
			}
			req := fixtureRequest{Method: c.String("method"), Path: c.Args().First(), Body: c.String("data"), Headers: map[string]string{}}
			if q := strings.IndexByte(req.Path, '?'); q >= 0 {
				req.Path, req.Query = req.Path[:q], req.Path[q+1:]
			}
			if req.Path != "" && !strings.HasPrefix(req.Path, "/") {
				return usageError{fmt.Errorf("plugin run: PATH %q must start with /", req.Path)}
			}
			for _, hv := range c.StringSlice("header") {
				k, v, ok := strings.Cut(hv, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return usageError{fmt.Errorf("plugin run: --header %q: want Name:value", hv)}
				}
				req.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			vars := map[string]string{}
			for _, kv := range c.StringSlice("var") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("plugin run: --var %q: want name=value", kv)}
				}
				vars[k] = v
			}
			cfg := []byte(c.String("config"))
			if len(cfg) > 0 && !json.Valid(cfg) {
				return usageError{fmt.Errorf("plugin run: --config is not valid JSON")}
			}
			bin, err := moduleForProject(c, p)
			if err != nil {
				return err
			}
			ctx := context.Background()
			h, err := newPluginHost(ctx, p.man.Name, p.man.Version, bin)
			if err != nil {
				return fmt.Errorf("plugin run: the host refuses the module: %w", err)
			}
			defer h.Close(ctx)
			res := h.do(ctx, cmp(c.String("policy"), p.policy()), cfg, vars, req, &fixtureResponse{Status: c.Int("backend-status"), Body: c.String("backend-body")})
			w := c.App.Writer
			fmt.Fprintf(w, "%s %s through %s@%s (policy %s)\n", cmp(req.Method, "GET"), cmp(req.Path, "/"), p.man.Name, p.man.Version, cmp(c.String("policy"), p.policy()))
			for _, st := range res.Stages {
				fmt.Fprintf(w, "  %-8s %s (%v)\n", st.Phase, st.Decision, st.Time.Round(time.Microsecond))
				for _, ch := range st.Changes {
					fmt.Fprintf(w, "             %s\n", ch)
				}
				if st.Phase == engine.PhaseRequest.String() && res.Upstream != nil {
					fmt.Fprintf(w, "  backend  %s %s → %d\n", res.Upstream.Method, res.Upstream.Path, c.Int("backend-status"))
				}
			}
			if l := strings.TrimSpace(res.Log); l != "" {
				fmt.Fprintf(w, "module log:\n%s\n", indent(l))
			}
			if res.Err != nil {
				return fmt.Errorf("plugin run: the call failed: %w", res.Err)
			}
			fmt.Fprintf(w, "response: %d\n", res.Status)
			for _, k := range slices.Sorted(maps.Keys(res.Header)) {
				fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(res.Header[k], ", "))
			}
			if len(res.Body) > 0 {
				fmt.Fprintf(w, "\n%s\n", res.Body)
			}
			return nil
		},
	}
}

// plainLog writes each record as "LEVEL message" so that a fixture's error
// text matches the module's own words (no quoting).
type plainLog struct{ w *bytes.Buffer }

func (l plainLog) Enabled(context.Context, slog.Level) bool { return true }
func (l plainLog) Handle(_ context.Context, r slog.Record) error {
	fmt.Fprintf(l.w, "%s %s\n", r.Level, r.Message)
	return nil
}
func (l plainLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l plainLog) WithGroup(string) slog.Handler      { return l }
