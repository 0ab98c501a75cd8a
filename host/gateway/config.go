package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/abi/egress"
)

// Config is one complete, immutable description of what the gateway serves.
// It is what a Source produces: from a YAML file today, from the SQLite
// catalog next. The gateway builds a snapshot from it and never mutates it.
type Config struct {
	// Version changes whenever anything in the config changes.
	Version int64 `yaml:"-" json:"version"`
	// Modules are the policy modules available to steps, besides "builtin".
	Modules []ModuleSpec `yaml:"modules" json:"modules"`
	// Policies is the global scope.
	Policies Policy `yaml:"policies" json:"policies"`
	APIs     []API  `yaml:"apis" json:"apis"`
	// Subscriptions is a static key list for running without a catalog
	// (demo and tests). Keys here are plaintext: use the catalog in production.
	Subscriptions []StaticSubscription `yaml:"subscriptions" json:"subscriptions"`
	// SecretValues are the values of secret named values that the policies'
	// {{name}} references were resolved to (the catalog fills it): console
	// traces redact them wherever they appear. Never read from a file.
	SecretValues []string `yaml:"-" json:"-"`
	// EgressAllow is the config's global egress allow-list (abi/egress
	// entries: CIDRs, addresses, host[:port], *.domain), merged into every
	// API's; serve --egress-allow adds to it.
	EgressAllow []string `yaml:"egress_allow" json:"egress_allow,omitempty"`
	// Edge replaces Options.Edge (serve's flags) when present.
	Edge *EdgeConfig `yaml:"edge" json:"edge,omitempty"`

	// Unchanged, set by a Source, says that this config is the one its
	// previous Load returned under a new Version (only entities looked up
	// per request changed, such as subscriptions): the gateway keeps its
	// snapshot and records the version, building nothing.
	Unchanged bool `yaml:"-" json:"-"`
	// Immutable, set by a Source, promises that neither the source nor
	// anyone else changes this config, or anything it references, after
	// Load returned it: the gateway then keeps the APIs' slices and
	// documents as they are instead of deep copies (build.go: the catalog
	// at 10,000 APIs held its config twice). Without it every API is
	// copied, so a source may change its config in place.
	Immutable bool `yaml:"-" json:"-"`
}

// ModuleSpec names a module version and where its bytes come from.
type ModuleSpec struct {
	Name    string `yaml:"name" json:"name"`
	Version string `yaml:"version" json:"version"`
	// Path of a .wasm file (relative to the config file's directory).
	Path string `yaml:"path" json:"path"`
	// Wasm is the module itself (set by catalogs and tests, not YAML).
	Wasm []byte `yaml:"-" json:"-"`
	// MinInstances / MaxInstances bound the instance pool (1 / 4).
	MinInstances int `yaml:"min_instances" json:"min_instances"`
	MaxInstances int `yaml:"max_instances" json:"max_instances"`
	// Granted lists the capability groups the module may import (an
	// admin's grant); absent (nil) means not enforced. See
	// engine.LoadOptions.Granted.
	Granted []string `yaml:"granted" json:"granted,omitempty"`
	// GrantedEgress lists the destinations an admin granted the module
	// (abi/egress allow-list entries): they are added to the egress
	// allow-list of every API whose chains use the module.
	GrantedEgress []string `yaml:"granted_egress" json:"granted_egress,omitempty"`

	trusted bool // only the embedded built-ins (see Options.GuardBuiltin)

	// Namespace is the namespace of the module's cache, counter, semaphore
	// and fill-lease keys ("" = its name). Giving two modules the same
	// namespace is how an admin lets them share that state; never by default.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	builtin   bool   // the embedded built-ins: their own namespace
}

// API is a set of operations under a path prefix, proxied to one backend.
type API struct {
	Name       string `yaml:"name" json:"name"`
	PathPrefix string `yaml:"path" json:"path"`
	Backend    string `yaml:"backend" json:"backend"`
	// BodyLimit caps request bodies in bytes (1 MiB); larger → 413.
	BodyLimit int64 `yaml:"body_limit" json:"body_limit"`
	// BackendTimeout bounds the wait for the backend's response head (30s).
	BackendTimeout Duration    `yaml:"backend_timeout" json:"backend_timeout"`
	Operations     []Operation `yaml:"operations" json:"operations"`
	Policies       Policy      `yaml:"policies" json:"policies"`
	// AllowPrivateBackend allows every address for this API's egress
	// (module-set backends, redirects), as the allow entries 0.0.0.0/0 and
	// ::/0 would; metadata addresses still need an entry naming them (off).
	AllowPrivateBackend bool `yaml:"allow_private_backend" json:"allow_private_backend"`
	// EgressAllow lists what a backend a policy sets, or a redirect, may
	// reach beyond public addresses and this API's own backend (abi/egress
	// entries).
	EgressAllow []string `yaml:"egress_allow" json:"egress_allow,omitempty"`
	// SensitiveQuery names query parameters whose values the request log
	// redacts, in addition to DefaultSensitiveQueryParams.
	SensitiveQuery []string `yaml:"sensitive_query" json:"sensitive_query,omitempty"`
	// ConsoleTraceDisabled: the gateway records no console trace for this
	// API, whatever token a call carries (trace.go).
	ConsoleTraceDisabled bool `yaml:"console_trace_disabled" json:"console_trace_disabled,omitempty"`
	// WebSocket limits this API's WebSocket connections (websocket.go).
	WebSocket WebSocketConfig `yaml:"websocket" json:"websocket,omitzero"`
	// BackendProtocol is http1 (default), h2 (HTTP/2 over TLS, https
	// backends) or h2c (HTTP/2 without TLS, http backends): gRPC backends
	// need h2 or h2c (backendtls.go).
	BackendProtocol string `yaml:"backend_protocol" json:"backend_protocol,omitempty"`
	// BackendTLS: CA bundle, client certificate, SNI override and minimum
	// version for an https backend (backendtls.go).
	BackendTLS *BackendTLS `yaml:"backend_tls" json:"backend_tls,omitempty"`
	// ClientCertificate, when set, makes every call of the API present a
	// client certificate that it accepts (clientcert.go).
	ClientCertificate *ClientCertificate `yaml:"client_certificate" json:"client_certificate,omitempty"`
}

// Operation is a method and URL template (relative to the API's prefix).
type Operation struct {
	ID       string `yaml:"id" json:"id"`
	Method   string `yaml:"method" json:"method"`
	Template string `yaml:"template" json:"template"`
	Policies Policy `yaml:"policies" json:"policies"`
}

// Policy is a policy document of one scope: four sections of ordered steps.
// A section that is absent behaves as [base]; a section without a base step
// replaces the parent scope's section, as in Azure API Management.
type Policy struct {
	Inbound  []Step `yaml:"inbound" json:"inbound"`
	Backend  []Step `yaml:"backend" json:"backend"`
	Outbound []Step `yaml:"outbound" json:"outbound"`
	OnError  []Step `yaml:"on-error" json:"on-error"`
}

// Step is one entry of a section: either `base` or a policy attachment.
type Step struct {
	Base bool `json:"base,omitempty"`
	// Module providing the policy ("builtin" when empty).
	Module string `json:"module,omitempty"`
	// Policy name within the module.
	Policy string `json:"policy,omitempty"`
	// Config is the attachment's JSON config.
	Config json.RawMessage `json:"config,omitempty"`
	// FailMode: "closed" (default), "open", or "fallback".
	FailMode string `json:"fail_mode,omitempty"`
	// Fallback is the answer in fallback mode.
	Fallback *Fallback `json:"fallback,omitempty"`
	// Timeout is the policy deadline per call (50ms).
	Timeout Duration `json:"timeout,omitempty"`
	// MaxMemoryPages caps the instance's memory after a call (256 = 16 MiB).
	MaxMemoryPages uint32 `json:"max_memory_pages,omitempty"`
	// MaxBodyBytes caps the body this policy may read (the API's body_limit).
	MaxBodyBytes int `json:"max_body_bytes,omitempty"`
	// MaxOutputBytes caps a body this policy sets or answers with (1 MiB).
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
	// Products, when set, runs the step only for calls whose subscription
	// (identified by an earlier subscription check) belongs to one of these
	// products: how product-scope policies apply. ExceptProducts skips the
	// step for calls of those products (a product policy without base).
	// Set by the catalog source; not part of the YAML format.
	Products       []string `json:"products,omitempty" yaml:"-"`
	ExceptProducts []string `json:"except_products,omitempty" yaml:"-"`

	// scope is where the step was attached (global, product, api,
	// operation), for console traces; set by the snapshot build.
	scope string
}

// Fallback is a fixed answer used when a fail-mode "fallback" policy fails.
type Fallback struct {
	Status      int    `yaml:"status" json:"status"`
	Body        string `yaml:"body" json:"body"`
	ContentType string `yaml:"content_type" json:"content_type"`
}

// StaticSubscription is a subscription key in a config file.
type StaticSubscription struct {
	ID      string   `yaml:"id" json:"id"`
	Key     string   `yaml:"key" json:"key"`
	State   string   `yaml:"state" json:"state"`
	Product string   `yaml:"product" json:"product"`
	User    string   `yaml:"user" json:"user"`
	APIs    []string `yaml:"apis" json:"apis"` // empty: all APIs
}

// Duration is a time.Duration written as "50ms" / "2s" in YAML and JSON.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

type stepYAML struct {
	Module         string    `yaml:"module"`
	Policy         string    `yaml:"policy"`
	Config         yaml.Node `yaml:"config"`
	FailMode       string    `yaml:"fail_mode"`
	Fallback       *Fallback `yaml:"fallback"`
	Timeout        Duration  `yaml:"timeout"`
	MaxMemoryPages uint32    `yaml:"max_memory_pages"`
	MaxBodyBytes   int       `yaml:"max_body_bytes"`
	MaxOutputBytes int       `yaml:"max_output_bytes"`
}

// UnmarshalYAML accepts `- base` or a mapping.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "base" {
			*s = Step{Base: true}
			return nil
		}
		return fmt.Errorf("line %d: a step is `base` or a mapping with `policy:`, not %q", n.Line, n.Value)
	}
	var y stepYAML
	if err := n.Decode(&y); err != nil {
		return err
	}
	*s = Step{Module: y.Module, Policy: y.Policy, FailMode: y.FailMode, Fallback: y.Fallback, Timeout: y.Timeout, MaxMemoryPages: y.MaxMemoryPages, MaxBodyBytes: y.MaxBodyBytes, MaxOutputBytes: y.MaxOutputBytes}
	if y.Config.Kind != 0 {
		var v any
		if err := y.Config.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: config: %v", y.Config.Line, err)
		}
		s.Config = b
	}
	return nil
}

// ParseYAML decodes a YAML config strictly (unknown fields are errors).
func ParseYAML(b []byte) (*Config, error) {
	if len(b) > 16<<20 {
		return nil, errors.New("config: file larger than 16 MiB")
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// Validate checks a config and returns every problem found, each with its path.
type stepPath struct {
	path, section string
	i             int
}

func (p stepPath) String() string { return fmt.Sprintf("%s.%s[%d]", p.path, p.section, p.i) }

func (c *Config) Validate() error { return c.validate(nil) }

// validate is Validate skipping the checks of each API i with same[i]
// (same nil: none) other than its name and path prefix being unique: the
// build passes the APIs equal to the ones of the serving snapshot, under
// the same global policy, egress and module names, which were checked then
// (build.go).
func (c *Config) validate(same []bool) error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	mods := map[string]bool{"builtin": true}
	for i, m := range c.Modules {
		p := fmt.Sprintf("modules[%d]", i)
		if m.Name == "" {
			add(p+".name", "required")
		} else if mods[m.Name] {
			add(p+".name", "duplicate module %q", m.Name)
		}
		if m.Path == "" && m.Wasm == nil {
			add(p+".path", "required")
		}
		for j, g := range m.Granted {
			if !knownCapability(g) {
				add(fmt.Sprintf("%s.granted[%d]", p, j), "unknown capability %q", g)
			}
		}
		mods[m.Name] = true
	}
	checkPolicy := func(path string, pol Policy) {
		for i, sec := range [numSections][]Step{pol.Inbound, pol.Backend, pol.Outbound, pol.OnError} {
			name := sectionNames[i]
			bases := 0
			for j, s := range sec {
				// The step's path, built only for an error (50,000
				// operations' worth of Sprintf was most of a rebuild's
				// allocations).
				sp := stepPath{path, name, j}
				if s.Base {
					bases++
					continue
				}
				if s.Policy == "" {
					add(sp.String()+".policy", "required")
				}
				mod := s.Module
				if mod == "" {
					mod = "builtin"
				}
				if !mods[mod] {
					add(sp.String()+".module", "unknown module %q", mod)
				}
				switch s.FailMode {
				case "", "closed", "open":
				case "fallback":
					if s.Fallback == nil || s.Fallback.Status < 100 || s.Fallback.Status > 599 {
						add(sp.String()+".fallback.status", "fail_mode fallback needs a fallback status 100-599")
					}
				default:
					add(sp.String()+".fail_mode", "must be closed, open or fallback, not %q", s.FailMode)
				}
				if s.Timeout < 0 || time.Duration(s.Timeout) > 30*time.Second {
					add(sp.String()+".timeout", "must be between 0 and 30s")
				}
				if s.MaxMemoryPages > 1024 {
					add(sp.String()+".max_memory_pages", "at most 1024")
				}
				if s.MaxBodyBytes < 0 || s.MaxBodyBytes > 1<<30 {
					add(sp.String()+".max_body_bytes", "must be between 0 and 1 GiB")
				}
				if s.MaxOutputBytes < 0 || s.MaxOutputBytes > 64<<20 {
					add(sp.String()+".max_output_bytes", "must be between 0 and 64 MiB")
				}
				if len(s.Config) > 0 && !json.Valid(s.Config) {
					add(sp.String()+".config", "not valid JSON")
				}
			}
			if bases > 1 {
				add(path+"."+name, "base appears %d times", bases)
			}
		}
	}
	checkPolicy("policies", c.Policies)
	global, err := egress.ParseAllowList(c.EgressAllow)
	if err != nil {
		add("egress_allow", "%v", err)
	}
	names := map[string]bool{}
	prefixes := map[string]bool{}
	for i, a := range c.APIs {
		p := fmt.Sprintf("apis[%d]", i)
		if a.Name == "" {
			add(p+".name", "required")
		} else if names[a.Name] {
			add(p+".name", "duplicate API %q", a.Name)
		}
		names[a.Name] = true
		if !strings.HasPrefix(a.PathPrefix, "/") || strings.Contains(a.PathPrefix, "//") || strings.ContainsAny(a.PathPrefix, "{}?#%\\") {
			add(p+".path", "must start with / and contain no //, {}, ?, #, %% or \\ (got %q)", a.PathPrefix)
		} else if prefixes[strings.TrimSuffix(a.PathPrefix, "/")] {
			add(p+".path", "duplicate path prefix %q", a.PathPrefix)
		}
		prefixes[strings.TrimSuffix(a.PathPrefix, "/")] = true
		if same != nil && same[i] {
			continue
		}
		if allow, err := a.egressAllow(global); err != nil {
			add(p+".egress_allow", "%v", err)
		} else if _, err := egress.CheckBackend(a.Backend, allow); err != nil {
			add(p+".backend", "%v", err)
		}
		a.checkBackend(add, p)
		if a.BodyLimit < 0 || a.BodyLimit > 1<<30 {
			add(p+".body_limit", "must be between 0 and 1 GiB")
		}
		checkPolicy(p+".policies", a.Policies)
		ops := map[string]bool{}
		for j, o := range a.Operations {
			op := fmt.Sprintf("%s.operations[%d]", p, j)
			if o.ID == "" {
				add(op+".id", "required")
			} else if ops[o.ID] {
				add(op+".id", "duplicate operation %q", o.ID)
			}
			ops[o.ID] = true
			switch strings.ToUpper(o.Method) {
			case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "*":
			default:
				add(op+".method", "unsupported method %q", o.Method)
			}
			if !strings.HasPrefix(o.Template, "/") {
				add(op+".template", "must start with /")
			}
			checkPolicy(op+".policies", o.Policies)
		}
	}
	for i, s := range c.Subscriptions {
		if s.Key == "" || s.ID == "" {
			add(fmt.Sprintf("subscriptions[%d]", i), "id and key are required")
		}
	}
	return errors.Join(errs...)
}

// egressAllow is the API's allow-list: its own entries, the config's
// global ones, and everything with allow_private_backend.
func (a *API) egressAllow(global egress.AllowList) (egress.AllowList, error) {
	entries := a.EgressAllow
	if a.AllowPrivateBackend {
		entries = append(slices.Clip(entries), "0.0.0.0/0", "::/0")
	}
	al, err := egress.ParseAllowList(entries)
	if err != nil {
		return egress.AllowList{}, err
	}
	return al.Merge(global), nil
}
