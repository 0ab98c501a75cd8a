package main

// The plugin toolkit's project side: `gatehouse plugin new` writes a
// self-contained project (docs/plugin-guide.md) and `gatehouse plugin build`
// builds and checks it.

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
	"github.com/gatehouse/gatehouse/sdk"
)

//go:embed plugintmpl
var pluginTemplates embed.FS

// pluginManifestFile is the project's manifest, next to go.mod.
const pluginManifestFile = "plugin.json"

// sdkDir is where `plugin new` writes the SDK and abi source in a project.
const sdkDir = "gatehouse-sdk"

// pluginManifest is plugin.json: what the module is and what it asks for.
// configSchema, egress and limits are uploaded as the module's manifest;
// capabilities are checked against the module's imports at build (the
// server derives them from the imports too).
type pluginManifest struct {
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Policy       string          `json:"policy,omitempty"`
	Description  string          `json:"description,omitempty"`
	Capabilities []string        `json:"capabilities"`
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
	Egress       []string        `json:"egress,omitempty"`
	Limits       json.RawMessage `json:"limits,omitempty"`
}

// pluginProject is a plugin project directory with its manifest.
type pluginProject struct {
	dir string
	man pluginManifest
}

func (p *pluginProject) wasmPath() string { return filepath.Join(p.dir, p.man.Name+".wasm") }

func (p *pluginProject) policy() string {
	if p.man.Policy != "" {
		return p.man.Policy
	}
	return p.man.Name
}

var pluginNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// loadPluginProject reads the project in dir: a go.mod and a valid
// plugin.json are required.
func loadPluginProject(dir string) (*pluginProject, error) {
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, pluginManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, gerr := os.Stat(filepath.Join(dir, "go.mod")); gerr != nil {
			return nil, fmt.Errorf("%s has no go.mod and no %s: not a plugin project (make one with `gatehouse plugin new NAME`)", dir, pluginManifestFile)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (every plugin project has one: see `gatehouse plugin new`)", filepath.Join(dir, pluginManifestFile), err)
	}
	var m pluginManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, pluginManifestFile), err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s", filepath.Join(dir, pluginManifestFile), fmt.Sprintf(format, a...))
	}
	if !pluginNameRe.MatchString(m.Name) {
		return nil, bad("name %q: want lower-case letters, digits and dashes, starting with a letter", m.Name)
	}
	if err := catalog.ValidateSemver("version", m.Version); err != nil {
		return nil, bad("%v", err)
	}
	known := knownCapabilities()
	for _, c := range m.Capabilities {
		if !slices.Contains(known, c) {
			return nil, bad("unknown capability %q (known: %s)", c, strings.Join(known, ", "))
		}
	}
	if len(m.ConfigSchema) > 0 && !json.Valid(m.ConfigSchema) {
		return nil, bad("configSchema is not valid JSON")
	}
	return &pluginProject{dir: dir, man: m}, nil
}

func pluginNewCommand() *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "make a new policy module project (Go, on the SDK this binary carries) in directory NAME",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "directory to create (default: NAME)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{fmt.Errorf("plugin new: want one NAME, got %d arguments", c.NArg())}
			}
			name := c.Args().First()
			if !pluginNameRe.MatchString(name) {
				return usageError{fmt.Errorf("plugin new: name %q: want lower-case letters, digits and dashes, starting with a letter (at most 63)", name)}
			}
			dir := c.String("dir")
			if dir == "" {
				dir = name
			}
			if err := writePluginProject(dir, name); err != nil {
				return err
			}
			w := c.App.Writer
			fmt.Fprintf(w, "made %s in %s\n", name, dir)
			fmt.Fprintf(w, "next:\n  cd %s\n  gatehouse plugin test        # build, then run fixtures/*.yaml in the real host\n  gatehouse plugin publish --grant all --attach api API-ID\n", dir)
			return nil
		},
	}
}

// writePluginProject writes a new project into dir, which must not exist
// or be empty. Nothing is left behind when it fails.
func writePluginProject(dir, name string) (err error) {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s exists and is not empty: choose another NAME or --dir", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	existed := false
	if _, err := os.Stat(dir); err == nil {
		existed = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil && !existed {
			os.RemoveAll(dir)
		}
	}()
	write := func(rel string, b []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	}
	// The templates.
	err = fs.WalkDir(pluginTemplates, "plugintmpl", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := pluginTemplates.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "plugintmpl/"), ".tmpl")
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		return write(rel, bytes.ReplaceAll(b, []byte("__NAME__"), []byte(name)))
	})
	if err != nil {
		return err
	}
	// The SDK and abi source this binary carries (no test files, no test
	// data), and go.mod files that need nothing but each other.
	for _, m := range []struct {
		fsys fs.FS
		dst  string
		mod  string
	}{
		{sdk.Source(), sdkDir + "/sdk", "module github.com/gatehouse/gatehouse/sdk\n\ngo 1.26.0\n\nrequire github.com/gatehouse/gatehouse/abi v0.0.0\n\nreplace github.com/gatehouse/gatehouse/abi => ../abi\n"},
		{abi.Source(), sdkDir + "/abi", "module github.com/gatehouse/gatehouse/abi\n\ngo 1.26.0\n"},
	} {
		err = fs.WalkDir(m.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return fs.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, "_test.go") || p == "go.mod" || p == "go.sum" {
				return nil
			}
			b, err := fs.ReadFile(m.fsys, p)
			if err != nil {
				return err
			}
			return write(path.Join(m.dst, p), b)
		})
		if err != nil {
			return err
		}
		if err := write(m.dst+"/go.mod", []byte(m.mod)); err != nil {
			return err
		}
	}
	gomod := fmt.Sprintf(`module %s

go 1.26.0

require (
	github.com/gatehouse/gatehouse/abi v0.0.0
	github.com/gatehouse/gatehouse/sdk v0.0.0
)

// The SDK source the gatehouse binary carries (gatehouse plugin new): no
// module proxy needed.
replace (
	github.com/gatehouse/gatehouse/abi => ./%s/abi
	github.com/gatehouse/gatehouse/sdk => ./%s/sdk
)
`, name, sdkDir, sdkDir)
	return write("go.mod", []byte(gomod))
}

func pluginBuildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build a plugin project into NAME.wasm (wasip1 reactor) and check it against the host",
		ArgsUsage: "[DIR]",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError{fmt.Errorf("plugin build: want at most one DIR, got %d arguments", c.NArg())}
			}
			p, err := loadPluginProject(c.Args().First())
			if err != nil {
				return err
			}
			_, err = buildPlugin(c.Context, p, c.App.Writer, c.App.ErrWriter)
			return err
		},
	}
}

// buildPlugin builds the project, validates the module in the host and
// prints what it is; an import of a capability plugin.json does not request
// is an error.
func buildPlugin(ctx context.Context, p *pluginProject, w, errw io.Writer) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := os.Stat(filepath.Join(p.dir, "go.mod")); err != nil {
		return nil, fmt.Errorf("plugin build: %s has no go.mod: plugin build builds Go projects; build a module in another language with its own tools and pass it with --wasm", p.dir)
	}
	out := p.wasmPath()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", filepath.Base(out), ".")
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(err, exec.ErrNotFound) {
			msg = "the go command is not on PATH (install Go 1.26 or newer)"
		}
		return nil, fmt.Errorf("plugin build: %s does not build: %s", p.dir, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	// Go's linker splits the data at every run of zeros (tens of thousands
	// of segments); packed, the module loads and instantiates faster and
	// holds less memory in the host, meaning the same (cmd/wasmpack).
	bin, packed, err := wasmcheck.PackData(bin, wasmcheck.PackGap)
	if err != nil {
		return nil, fmt.Errorf("plugin build: %s: %w", out, err)
	}
	if packed.After != packed.Before {
		if err := os.WriteFile(out, bin, 0o644); err != nil {
			return nil, fmt.Errorf("plugin build: %w", err)
		}
	}
	e, err := engine.New(ctx, engine.Options{})
	if err != nil {
		return nil, err
	}
	defer e.Close(ctx)
	info, err := e.Validate(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("plugin build: %s: %w", out, err)
	}
	if !info.OnRequest && !info.OnResponse {
		return nil, fmt.Errorf("plugin build: %s exports neither %s nor %s: does main.go import the SDK and call sdk.Register?", out, abi.ExportOnRequest, abi.ExportOnResponse)
	}
	fmt.Fprintf(w, "built:         %s (%d bytes, %.1f MiB)\n", out, info.Size, float64(info.Size)/(1<<20))
	fmt.Fprintf(w, "data:          %s\n", packed)
	fmt.Fprintf(w, "abi:           v%d.%d\n", info.ABIMajor, info.ABIMinor)
	fmt.Fprintf(w, "capabilities:  %s\n", orNone(info.Capabilities))
	fmt.Fprintf(w, "host imports:  %s\n", orNone(info.HostImports))
	fmt.Fprintf(w, "wasi imports:  %s\n", orNone(slices.Compact(info.WASIImports)))
	var undeclared []string
	for _, c := range info.Capabilities {
		if !slices.Contains(p.man.Capabilities, c) {
			undeclared = append(undeclared, c)
		}
	}
	for _, c := range p.man.Capabilities {
		if !slices.Contains(info.Capabilities, c) {
			fmt.Fprintf(errw, "warning: plugin.json requests capability %q, which the module does not use: drop it so admins are not asked to grant it\n", c)
		}
	}
	if notes := wasiWarnings(info.WASIImports); len(notes) > 0 {
		fmt.Fprintln(errw, "warning: WASI calls the module imports are stubs in the host:")
		for _, n := range notes {
			fmt.Fprintln(errw, "  - "+n)
		}
	}
	if len(undeclared) > 0 {
		return nil, fmt.Errorf("plugin build: the module uses capabilities %s that plugin.json does not request: add them to \"capabilities\" (admins grant what it lists)", strings.Join(undeclared, ", "))
	}
	return bin, nil
}

// wasiStubs say what the host does for the WASI calls a guest may import
// (abi.AllowedWASI): the Go runtime links most of them whether the policy
// uses them or not, so each is said once, as a note.
var wasiStubs = []struct {
	names []string
	note  string
}{
	{[]string{"clock_time_get", "clock_res_get"}, "WASI clocks are the sandbox's fake, deterministic clocks: time.Now() is not the wall time; use Context.Now() (capability clock)"},
	{[]string{"random_get"}, "WASI random_get is a fixed, deterministic stream: crypto/rand is NOT secret in a guest; use Context.Random() (capability random)"},
	{[]string{"poll_oneoff", "sched_yield"}, "time.Sleep and timers do not wait for real time (no wall clock in the sandbox)"},
	{[]string{"path_open", "fd_prestat_get", "fd_prestat_dir_name", "fd_readdir", "path_filestat_get"}, "no preopened directories: opening or listing a file always fails"},
	{[]string{"args_get", "environ_get"}, "no arguments and no environment variables"},
	{[]string{"fd_write"}, "stdout and stderr go to the gateway log, rate-limited (prefer Context.Log, capability log)"},
	{[]string{"fd_read"}, "stdin is empty"},
}

func wasiWarnings(imports []string) []string {
	var out []string
	for _, s := range wasiStubs {
		for _, n := range s.names {
			if slices.Contains(imports, n) {
				out = append(out, s.note)
				break
			}
		}
	}
	return out
}

// knownCapabilities lists the capability groups of the host functions.
func knownCapabilities() []string {
	var out []string
	for _, f := range abi.HostFuncs() {
		if !slices.Contains(out, f.Cap) {
			out = append(out, f.Cap)
		}
	}
	slices.Sort(out)
	return out
}
