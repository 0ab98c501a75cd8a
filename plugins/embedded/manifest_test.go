package embedded_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/plugins/cachelookup"
	"github.com/gatehouse/gatehouse/plugins/cachelookupvalue"
	"github.com/gatehouse/gatehouse/plugins/cacheremovevalue"
	"github.com/gatehouse/gatehouse/plugins/cachestore"
	"github.com/gatehouse/gatehouse/plugins/cachestorevalue"
	"github.com/gatehouse/gatehouse/plugins/checkheader"
	"github.com/gatehouse/gatehouse/plugins/cors"
	"github.com/gatehouse/gatehouse/plugins/embedded"
	"github.com/gatehouse/gatehouse/plugins/findandreplace"
	"github.com/gatehouse/gatehouse/plugins/forwardrequest"
	"github.com/gatehouse/gatehouse/plugins/ipfilter"
	"github.com/gatehouse/gatehouse/plugins/jsontoxml"
	"github.com/gatehouse/gatehouse/plugins/limitconcurrency"
	"github.com/gatehouse/gatehouse/plugins/mockresponse"
	"github.com/gatehouse/gatehouse/plugins/quota"
	"github.com/gatehouse/gatehouse/plugins/quotabykey"
	"github.com/gatehouse/gatehouse/plugins/ratelimit"
	"github.com/gatehouse/gatehouse/plugins/ratelimitbykey"
	"github.com/gatehouse/gatehouse/plugins/retry"
	"github.com/gatehouse/gatehouse/plugins/returnresponse"
	"github.com/gatehouse/gatehouse/plugins/rewriteuri"
	"github.com/gatehouse/gatehouse/plugins/setbackendservice"
	"github.com/gatehouse/gatehouse/plugins/setbody"
	"github.com/gatehouse/gatehouse/plugins/setheader"
	"github.com/gatehouse/gatehouse/plugins/setmethod"
	"github.com/gatehouse/gatehouse/plugins/setqueryparameter"
	"github.com/gatehouse/gatehouse/plugins/setstatus"
	"github.com/gatehouse/gatehouse/plugins/setvariable"
	"github.com/gatehouse/gatehouse/plugins/subscriptionkey"
	"github.com/gatehouse/gatehouse/plugins/validatejwt"
	"github.com/gatehouse/gatehouse/plugins/xmltojson"
	"github.com/gatehouse/gatehouse/sdk"
)

// builtin is the policy table of plugins/builtin/main.go, by package: the
// name and the factory the guest registers. TestRegistrations checks it
// against main.go.
var builtin = map[string]struct {
	name string
	new  sdk.Factory
}{
	"cachelookup":       {cachelookup.Name, cachelookup.New},
	"cachestore":        {cachestore.Name, cachestore.New},
	"checkheader":       {checkheader.Name, checkheader.New},
	"cors":              {cors.Name, cors.New},
	"ipfilter":          {ipfilter.Name, ipfilter.New},
	"quota":             {quota.Name, quota.New},
	"quotabykey":        {quotabykey.Name, quotabykey.New},
	"ratelimit":         {ratelimit.Name, ratelimit.New},
	"returnresponse":    {returnresponse.Name, returnresponse.New},
	"rewriteuri":        {rewriteuri.Name, rewriteuri.New},
	"setbody":           {setbody.Name, setbody.New},
	"setheader":         {setheader.Name, setheader.New},
	"setmethod":         {setmethod.Name, setmethod.New},
	"setqueryparameter": {setqueryparameter.Name, setqueryparameter.New},
	"setstatus":         {setstatus.Name, setstatus.New},
	"setvariable":       {setvariable.Name, setvariable.New},
	"subscriptionkey":   {subscriptionkey.Name, subscriptionkey.New},
	"validatejwt":       {validatejwt.Name, validatejwt.New},
	"findandreplace":    {findandreplace.Name, findandreplace.New},
	"jsontoxml":         {jsontoxml.Name, jsontoxml.New},
	"xmltojson":         {xmltojson.Name, xmltojson.New},
	"mockresponse":      {mockresponse.Name, mockresponse.New},
	"cachelookupvalue":  {cachelookupvalue.Name, cachelookupvalue.New},
	"cachestorevalue":   {cachestorevalue.Name, cachestorevalue.New},
	"cacheremovevalue":  {cacheremovevalue.Name, cacheremovevalue.New},
	"ratelimitbykey":    {ratelimitbykey.Name, ratelimitbykey.New},
	"setbackendservice": {setbackendservice.Name, setbackendservice.New},
	"forwardrequest":    {forwardrequest.Name, forwardrequest.New},
	"retry":             {retry.Name, retry.New},
	"limitconcurrency":  {limitconcurrency.Name, limitconcurrency.New},
}

// factory returns the factory of the policy called name.
func factory(t *testing.T, name string) sdk.Factory {
	t.Helper()
	for _, b := range builtin {
		if b.name == name {
			return b.new
		}
	}
	t.Fatalf("no built-in policy %q", name)
	return nil
}

// compiled compiles every schema of Policies once.
var compiled = map[string]*jsonschema.Schema{}

func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	if s, ok := compiled[name]; ok {
		return s
	}
	for _, p := range embedded.Policies() {
		if p.Name != name {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.ConfigSchema))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := jsonschema.NewCompiler()
		url := "urn:gatehouse:builtin:" + name
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		compiled[name] = s
		return s
	}
	t.Fatalf("no schema for %q", name)
	return nil
}

// validate checks the JSON config against the policy's schema.
func validate(t *testing.T, name, config string) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(config))
	if err != nil {
		t.Fatalf("%s: bad test JSON %s: %v", name, config, err)
	}
	return schema(t, name).Validate(inst)
}

// TestRegistrations checks that the policies with a manifest are exactly
// those plugins/builtin/main.go registers, with the same names.
func TestRegistrations(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../builtin/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Register" || len(call.Args) != 2 {
			return true
		}
		name, ok1 := call.Args[0].(*ast.SelectorExpr)
		fn, ok2 := call.Args[1].(*ast.SelectorExpr)
		if !ok1 || !ok2 || name.Sel.Name != "Name" || fn.Sel.Name != "New" ||
			name.X.(*ast.Ident).Name != fn.X.(*ast.Ident).Name {
			t.Errorf("main.go: unexpected registration %v", call)
			return true
		}
		registered = append(registered, name.X.(*ast.Ident).Name)
		return true
	})
	sort.Strings(registered)
	var pkgs, names []string
	for pkg, b := range builtin {
		pkgs = append(pkgs, pkg)
		names = append(names, b.name)
	}
	sort.Strings(pkgs)
	sort.Strings(names)
	if !slices.Equal(registered, pkgs) {
		t.Errorf("plugins/builtin/main.go registers %v, this test knows %v", registered, pkgs)
	}
	var manifests []string
	for _, p := range embedded.Policies() {
		manifests = append(manifests, p.Name)
	}
	if !slices.Equal(manifests, names) {
		t.Errorf("Policies() = %v, want %v", manifests, names)
	}
	if len(manifests) != len(builtin) {
		t.Errorf("%d policies, want %d", len(manifests), len(builtin))
	}
}

// TestManifest checks the manifests and that the catalog accepts them.
func TestManifest(t *testing.T) {
	ps := embedded.Policies()
	if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name }) {
		t.Error("Policies() is not sorted by name")
	}
	for _, p := range ps {
		if p.Version != "0.1.0" {
			t.Errorf("%s: version %q", p.Name, p.Version)
		}
		if v := embedded.BuiltinVersion(); v != "" && !strings.HasPrefix(v, p.Version+"+") {
			t.Errorf("%s: version %q, the module is %q", p.Name, p.Version, v)
		}
		var s struct {
			Schema      string                     `json:"$schema"`
			Title       string                     `json:"title"`
			Description string                     `json:"description"`
			Type        string                     `json:"type"`
			Additional  *bool                      `json:"additionalProperties"`
			Properties  map[string]json.RawMessage `json:"properties"`
			Required    []string                   `json:"required"`
		}
		if err := json.Unmarshal(p.ConfigSchema, &s); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Title != p.Name || s.Type != "object" ||
			s.Description == "" || s.Description != p.Description {
			t.Errorf("%s: $schema %q, title %q, type %q, description %q", p.Name, s.Schema, s.Title, s.Type, s.Description)
		}
		// Every parser decodes with conf.Decode, which refuses unknown fields.
		if s.Additional == nil || *s.Additional {
			t.Errorf("%s: additionalProperties must be false", p.Name)
		}
		for prop, raw := range s.Properties {
			var d map[string]any
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			if d["description"] == nil {
				t.Errorf("%s: %s has no description", p.Name, prop)
			}
			_, hasDefault := d["default"]
			// Required properties have no default; nor have those that are
			// required under conditions (a "value" without a default), nor
			// those whose absence means "the host's value" or "off"
			// (forward-request's timeouts, retry's backoff fields).
			conditional := map[string]bool{"set-header.value": true,
				"set-query-parameter.value": true, "set-query-parameter.values": true,
				"quota.calls": true, "quota.bandwidth": true, "quota-by-key.calls": true, "quota-by-key.bandwidth": true,
				"forward-request.timeout": true, "forward-request.timeout_ms": true,
				"retry.max_interval": true, "retry.delta": true,
				"cache-lookup.vary_by_query_parameters": true}[p.Name+"."+prop]
			if slices.Contains(s.Required, prop) || conditional {
				if hasDefault {
					t.Errorf("%s: %s is required but has a default", p.Name, prop)
				}
			} else if !hasDefault {
				t.Errorf("%s: %s has no default", p.Name, prop)
			}
		}
		schema(t, p.Name) // compiles
	}
	m := catalog.Module{Name: "builtin", Version: "0.1.0", Wasm: []byte("\x00asm"), Manifest: embedded.Manifest()}
	if err := m.Validate(); err != nil {
		t.Errorf("catalog refuses the manifest: %v", err)
	}
	if m.Manifest.ABIVersion != 1 || len(m.Manifest.Policies) != len(builtin) {
		t.Errorf("Manifest() = %+v", m.Manifest)
	}
	for _, p := range ps {
		got, ok := m.Manifest.PolicySchema("builtin", p.Name)
		if !ok || !bytes.Equal(got, p.ConfigSchema) {
			t.Errorf("PolicySchema(%s) = %v", p.Name, ok)
		}
	}
}

var fence = regexp.MustCompile("(?ms)^```(json|yaml)\n(.*?)^```")

// TestDocExamples checks that every config of docs/policies is accepted by
// its policy's schema and factory.
var namedValueRef = regexp.MustCompile(`\{\{[A-Za-z0-9._-]+\}\}`)

func TestDocExamples(t *testing.T) {
	pages, err := filepath.Glob("../../docs/policies/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/policies pages: %v", err)
	}
	for _, page := range pages {
		policy := strings.TrimSuffix(filepath.Base(page), ".md")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		own := 0
		for _, m := range fence.FindAllStringSubmatch(string(b), -1) {
			var doc any
			var err error
			if m[1] == "json" {
				err = json.Unmarshal([]byte(m[2]), &doc)
			} else {
				err = yaml.Unmarshal([]byte(m[2]), &doc)
			}
			if err != nil {
				t.Errorf("%s: %s block does not parse: %v\n%s", page, m[1], err, m[2])
				continue
			}
			configs := attachments(doc)
			if m[1] == "json" && len(configs) == 0 {
				// A bare config of the page's policy.
				configs = [][2]any{{policy, doc}}
			}
			for _, a := range configs {
				name := a[0].(string)
				cfg := a[1]
				if cfg == nil {
					cfg = map[string]any{}
				}
				js, err := json.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				// A {{name}} reference to a named value is substituted by the
				// gateway when it builds its snapshot: check the example with
				// a value standing in for it, as the admin API does.
				js = namedValueRef.ReplaceAll(js, []byte("example-named-value-of-32-bytes-or-more"))
				if name == policy {
					own++
				}
				if err := validate(t, name, string(js)); err != nil {
					t.Errorf("%s: %s config %s: schema: %v", page, name, js, err)
				}
				if _, err := factory(t, name)(js); err != nil {
					t.Errorf("%s: %s config %s: factory: %v", page, name, js, err)
				}
			}
		}
		if own == 0 {
			t.Errorf("%s has no example config of %s", page, policy)
		}
	}
}

// attachments finds the policy attachments ({policy: name, config: …}) in
// a parsed YAML or JSON document.
func attachments(v any) (out [][2]any) {
	switch v := v.(type) {
	case map[string]any:
		if name, ok := v["policy"].(string); ok {
			return [][2]any{{name, v["config"]}}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, attachments(v[k])...)
		}
	case []any:
		for _, e := range v {
			out = append(out, attachments(e)...)
		}
	}
	return out
}
