package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
)

// adminPrefix is the path of the admin API under the admin listener.
const adminPrefix = "/admin/v1"

// commonFlags are the connection and output flags every admin command takes.
func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "admin-url", EnvVars: []string{"GATEHOUSE_ADMIN_URL"}, Usage: "admin API base URL (default: DATA/admin.url)"},
		&cli.StringFlag{Name: "token", EnvVars: []string{"GATEHOUSE_ADMIN_TOKEN"}, Usage: "admin API bearer token (default: DATA/admin.token)"},
		&cli.StringFlag{Name: "data", Value: "./data", EnvVars: []string{"GATEHOUSE_DATA"}, Usage: "data directory of a local gatehouse serve (admin.url, admin.token)"},
		&cli.StringFlag{Name: "cli-config", Usage: "CLI config file (YAML: admin_url, token, output; default $XDG_CONFIG_HOME/gatehouse/cli.yaml)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output format: table, json or yaml (default table)"},
	}
}

// cliConfig is the optional CLI config file.
type cliConfig struct {
	AdminURL string `yaml:"admin_url"`
	Token    string `yaml:"token"`
	Output   string `yaml:"output"`
}

func defaultConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "gatehouse", "cli.yaml")
}

func loadCLIConfig(c *cli.Context) (cliConfig, error) {
	var cfg cliConfig
	path, explicit := c.String("cli-config"), true
	if path == "" {
		path, explicit = defaultConfigPath(), false
	}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return cfg, nil
		}
		return cfg, fmt.Errorf("cli config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("cli config %s: %v", path, err)
	}
	return cfg, nil
}

// env is what an admin command's action works with.
type cmdEnv struct {
	c      *cli.Context
	args   []string
	out    io.Writer
	errw   io.Writer
	format string // table, json or yaml
	cfg    cliConfig
}

// leaf builds an admin command: the common flags are added, flags given
// after positional arguments are parsed too, and fn runs with the resolved
// output format.
func leaf(name, usage, argsUsage string, flags []cli.Flag, fn func(e *cmdEnv) error) *cli.Command {
	if name == "list" {
		flags = append(flags, limitFlag()) // client_paging.go
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: argsUsage,
		Flags:     append(flags, commonFlags()...),
		Action: func(c *cli.Context) error {
			args, err := interspersed(c)
			if errors.Is(err, errHelp) {
				cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
				return nil
			}
			if err != nil {
				return usageError{fmt.Errorf("%s: %v", c.Command.FullName(), err)}
			}
			cfg, err := loadCLIConfig(c)
			if err != nil {
				return err
			}
			e := &cmdEnv{c: c, args: args, out: c.App.Writer, errw: c.App.ErrWriter, cfg: cfg}
			e.format = c.String("output")
			if !c.IsSet("output") || e.format == "" {
				e.format = cfg.Output
			}
			switch e.format {
			case "":
				e.format = "table"
			case "table", "json", "yaml":
			default:
				return usageError{fmt.Errorf("--output must be table, json or yaml, not %q", e.format)}
			}
			return fn(e)
		},
	}
}

var errHelp = errors.New("help requested")

// interspersed returns the positional arguments and applies the flags that
// follow them (urfave/cli stops parsing flags at the first argument).
func interspersed(c *cli.Context) ([]string, error) {
	in := c.Args().Slice()
	var pos []string
	for i := 0; i < len(in); i++ {
		a := in[i]
		if a == "--" {
			pos = append(pos, in[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9') {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val, hasVal = k, v, true
		}
		if name == "help" || name == "h" {
			return nil, errHelp
		}
		f := findFlag(c.Command.Flags, name)
		if f == nil {
			return nil, fmt.Errorf("flag provided but not defined: -%s", name)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			if !hasVal {
				val = "true"
			}
		} else if !hasVal {
			if i+1 >= len(in) {
				return nil, fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			val = in[i]
		}
		if err := c.Set(f.Names()[0], val); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag -%s: %v", val, name, err)
		}
	}
	return pos, nil
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// want checks the number of positional arguments.
func (e *cmdEnv) want(min, max int) error {
	n := len(e.args)
	if n >= min && (max < 0 || n <= max) {
		return nil
	}
	what := e.c.Command.ArgsUsage
	if what == "" {
		what = "no arguments"
	}
	return usageError{fmt.Errorf("%s: want %s, got %d arguments", e.c.Command.FullName(), what, n)}
}

// client resolves the admin API address and token: flags, then environment
// variables, then the CLI config file, then DATA/admin.url and
// DATA/admin.token as written by `gatehouse serve`.
func (e *cmdEnv) client() (*adminClient, error) {
	base, token := e.c.String("admin-url"), e.c.String("token")
	if base == "" {
		base = e.cfg.AdminURL
	}
	if token == "" {
		token = e.cfg.Token
	}
	data := e.c.String("data")
	var dataURL string
	if b, err := os.ReadFile(filepath.Join(data, "admin.url")); err == nil {
		dataURL = strings.TrimSpace(string(b))
	}
	if base == "" {
		base = dataURL
	}
	// The data directory's token only goes to the data directory's server:
	// never send a local token to a URL given elsewhere.
	if token == "" && base != "" && normalizeBase(base) == normalizeBase(dataURL) {
		if b, err := os.ReadFile(filepath.Join(data, "admin.token")); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	if base != "" && token == "" && dataURL != "" {
		return nil, fmt.Errorf("no admin token for %s: set GATEHOUSE_ADMIN_TOKEN or --token (%s is only sent to the server named in %s)",
			base, filepath.Join(data, "admin.token"), filepath.Join(data, "admin.url"))
	}
	if base == "" || token == "" {
		var missing []string
		if base == "" {
			missing = append(missing, "admin URL")
		}
		if token == "" {
			missing = append(missing, "admin token")
		}
		return nil, fmt.Errorf("no %s: run `gatehouse serve` (it writes %s and %s), or set GATEHOUSE_ADMIN_URL and GATEHOUSE_ADMIN_TOKEN (or --admin-url and --token, or --data to point at the server's data directory)",
			strings.Join(missing, " and "), filepath.Join(data, "admin.url"), filepath.Join(data, "admin.token"))
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("admin URL %q: want http(s)://HOST[:PORT]", base)}
	}
	return &adminClient{base: normalizeBase(base), token: token, hc: &http.Client{Timeout: 5 * time.Minute}, errw: e.errw}, nil
}

// normalizeBase returns the admin API base URL, ending in /admin/v1.
func normalizeBase(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	if u != "" && !strings.HasSuffix(u, adminPrefix) {
		u += adminPrefix
	}
	return u
}

// client talks to the admin API.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
	errw  io.Writer
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status  int
	Code    string
	Message string
	Fields  []fieldError
}

type fieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Path, f.Message)
	}
	return b.String()
}

// request is one call of the admin API.
type adminRequest struct {
	method      string
	path        string // under /admin/v1, already escaped
	query       url.Values
	body        io.Reader
	size        int64
	contentType string
	accept      string
}

// send runs r and returns the answer's body; answers of 400 and more are
// returned as *apiError.
func (c *adminClient) send(r adminRequest) ([]byte, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, u, r.body)
	if err != nil {
		return nil, err
	}
	if r.size > 0 {
		req.ContentLength = r.size
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the admin API at %s: %v (is `gatehouse serve` running?)", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %v", r.method, r.path, err)
	}
	if resp.StatusCode >= 400 {
		return nil, decodeError(resp.StatusCode, body)
	}
	return body, nil
}

func decodeError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code    string       `json:"code"`
			Message string       `json:"message"`
			Fields  []fieldError `json:"fields"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return &apiError{Status: status, Code: e.Error.Code, Message: e.Error.Message, Fields: e.Error.Fields}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &apiError{Status: status, Message: fmt.Sprintf("HTTP %d: %s", status, msg)}
}

// call sends a JSON body (nil for none) and returns the raw JSON answer.
func (c *adminClient) call(method, path string, query url.Values, in any) ([]byte, error) {
	r := adminRequest{method: method, path: path, query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		r.body, r.size, r.contentType = bytes.NewReader(b), int64(len(b)), "application/json"
	}
	return c.send(r)
}

// seg escapes one path segment.
func pathSeg(s string) string { return url.PathEscape(s) }
