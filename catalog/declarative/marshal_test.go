package declarative

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// marshalWhole is Marshal as it was: the whole document through one
// encoder. It is the oracle of the chunked Marshal.
func marshalWhole(d *Document) ([]byte, error) {
	out := struct {
		Version       int             `yaml:"version"`
		APIs          *[]API          `yaml:"apis,omitempty"`
		Products      *[]Product      `yaml:"products,omitempty"`
		Groups        *[]Group        `yaml:"groups,omitempty"`
		Users         *[]User         `yaml:"users,omitempty"`
		Subscriptions *[]Subscription `yaml:"subscriptions,omitempty"`
		NamedValues   *[]NamedValue   `yaml:"namedValues,omitempty"`
		GlobalPolicy  *Policy         `yaml:"globalPolicy,omitempty"`
	}{Version: d.Version, GlobalPolicy: d.GlobalPolicy}
	if d.APIs != nil {
		out.APIs = &d.APIs
	}
	if d.Products != nil {
		out.Products = &d.Products
	}
	if d.Groups != nil {
		out.Groups = &d.Groups
	}
	if d.Users != nil {
		out.Users = &d.Users
	}
	if d.Subscriptions != nil {
		out.Subscriptions = &d.Subscriptions
	}
	if d.NamedValues != nil {
		out.NamedValues = &d.NamedValues
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The chunked Marshal writes exactly what one encoder over the whole
// document writes, for awkward strings too (multi-line with blank lines,
// long ones, leading spaces, quotes, YAML look-alikes).
func TestMarshalChunked(t *testing.T) {
	odd := []string{"", "plain", "multi\nline\n\nwith a blank line\n", "  leading spaces", "trailing  ", "tab\there",
		strings.Repeat("a long description with spaces ", 12), "yes", "null", "- dash", "key: value", "#hash", "'quoted'",
		`"double"`, "ünïcødé ✓", "12", "1e3", "{a: b}", "[x]", "line\r\nwindows", "   \n  indented\n lines"}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	req := false
	v := "secret value\nwith lines"
	d := &Document{Version: 1, Groups: []Group{}, Users: nil}
	for i, s := range odd {
		in := []Entry{{Base: true}, {Module: "builtin", Policy: "set-header", Config: map[string]any{"name": s, "value": s,
			"nested": map[string]any{"list": []any{s, int64(i), 2.5, true, nil}}}}}
		out := []Entry{}
		d.APIs = append(d.APIs, API{ID: fmt.Sprintf("api-%d", i), Name: s, PathPrefix: "/p", BackendURL: "http://x", Version: s,
			SubscriptionRequired: &req, EgressAllow: []string{s, "x"}, Policy: &Policy{Inbound: &in, Outbound: &out},
			Operations: []Operation{{Name: s, Method: "GET", URLTemplate: "/a"}, {ID: "o", Name: "n", Method: "POST", URLTemplate: "/b", Policy: &Policy{Inbound: &in}}}})
		d.Products = append(d.Products, Product{ID: fmt.Sprintf("p%d", i), Name: s, Description: s, APIs: []string{"api-1"}})
		d.Subscriptions = append(d.Subscriptions, Subscription{ID: fmt.Sprintf("s%d", i), UserID: "u", Name: s, Scope: "product", ScopeID: "p", ExpiresAt: &exp})
		d.NamedValues = append(d.NamedValues, NamedValue{Name: fmt.Sprintf("n%d", i), Value: &v})
	}
	d.GlobalPolicy = &Policy{}
	for _, doc := range []*Document{d, {Version: 1}, {Version: 1, APIs: []API{}, GlobalPolicy: &Policy{}}} {
		want, err := marshalWhole(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("line %d: got %q, want %q", i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("got %d lines, want %d", len(gl), len(wl))
		}
		var back map[string]any
		if err := yaml.Unmarshal(got, &back); err != nil {
			t.Fatalf("the output is not YAML: %v", err)
		}
	}
}
