package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestResolveNamedValues(t *testing.T) {
	vals := map[string]string{"tok": `s3"cr\et`, "host": "example.com", "a.b-c_1": "x"}
	for _, c := range []struct {
		in, want string
		refs     string
	}{
		{`{"value":"Bearer {{tok}}"}`, `{"value":"Bearer s3\"cr\\et"}`, "tok"},
		{`{"a":["{{host}}/{{host}}",1,true,null],"n":{"k":"{{a.b-c_1}}"}}`, `{"a":["example.com/example.com",1,true,null],"n":{"k":"x"}}`, "a.b-c_1,host"},
		{`{"{{tok}}":"keys are not values"}`, `{"{{tok}}":"keys are not values"}`, ""},
		{`{"n":12345678901234567890}`, `{"n":12345678901234567890}`, ""},
		{`{"x":"{{ tok }}","y":"{tok}","z":"<{{tok}}>"}`, `{"x":"{{ tok }}","y":"{tok}","z":"<s3\"cr\\et>"}`, "tok"},
	} {
		if got := strings.Join(catalog.NamedValueRefs(json.RawMessage(c.in)), ","); got != c.refs {
			t.Errorf("refs of %s = %q, want %q", c.in, got, c.refs)
		}
		got, err := catalog.ResolveNamedValues(json.RawMessage(c.in), vals)
		if err != nil || string(got) != c.want && !(c.refs == "" && string(got) == c.in) {
			t.Errorf("resolve %s = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	_, err := catalog.ResolveNamedValues(json.RawMessage(`{"a":"{{tok}} {{nope}} {{zz}}"}`), vals)
	var un *catalog.UnknownNamedValueError
	if !errors.As(err, &un) || !errors.Is(err, catalog.ErrInvalid) || strings.Join(un.Names, ",") != "nope,zz" {
		t.Errorf("unknown names: %v", err)
	}
}

func TestMaskAndUnmaskSecrets(t *testing.T) {
	entry := func(policy, cfg string) catalog.PolicyEntry {
		return catalog.PolicyEntry{Module: "builtin", Policy: policy, Config: json.RawMessage(cfg)}
	}
	stored := catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "a", Inbound: []catalog.PolicyEntry{
		entry("validate-jwt", `{"algorithms":["HS256"],"hmac_secret":"0123456789abcdef0123456789abcdef"}`),
		entry("set-header", `{"name":"authorization","value":"Basic c2VjcmV0"}`),
		entry("set-header", `{"name":"Authorization","value":"Bearer {{tok}}"}`),
		entry("set-header", `{"name":"X-Plain","value":"visible"}`),
		{Module: "other", Policy: "validate-jwt", Config: json.RawMessage(`{"hmac_secret":"not ours to mask"}`)},
	}}
	m := catalog.MaskPolicySecrets(stored)
	b, _ := json.Marshal(m)
	for _, leak := range []string{"0123456789abcdef", "c2VjcmV0"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("masked document holds %q: %s", leak, b)
		}
	}
	for _, keep := range []string{"{{tok}}", "visible", "not ours to mask"} {
		if !strings.Contains(string(b), keep) {
			t.Errorf("masked document lost %q: %s", keep, b)
		}
	}
	if string(stored.Inbound[0].Config) == string(m.Inbound[0].Config) {
		t.Error("MaskPolicySecrets changed its argument or did not mask")
	}
	// Written back unchanged (and reordered): the secrets come back.
	m.Inbound[0], m.Inbound[1] = m.Inbound[1], m.Inbound[0]
	got, err := catalog.UnmaskPolicySecrets(m, stored)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Inbound[1].Config) != string(stored.Inbound[0].Config) || string(got.Inbound[0].Config) != string(stored.Inbound[1].Config) {
		t.Errorf("unmask: %s / %s", got.Inbound[0].Config, got.Inbound[1].Config)
	}
	// Edited around the mask: refused, naming the field.
	m.Inbound[0].Config = json.RawMessage(`{"name":"authorization","value":"***","exists_action":"skip"}`)
	_, err = catalog.UnmaskPolicySecrets(m, stored)
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Path != "inbound[0].config.value" {
		t.Errorf("edited masked entry: %v", err)
	}
	// A new document with a mask and nothing stored: refused too.
	if _, err := catalog.UnmaskPolicySecrets(catalog.PolicyDoc{Inbound: []catalog.PolicyEntry{entry("validate-jwt", `{"hmac_secret":"***"}`)}}, catalog.PolicyDoc{}); err == nil {
		t.Error("a mask with nothing stored was accepted")
	}
}

// FuzzNamedValueConfig: reference parsing, resolution, masking and
// unmasking of arbitrary configs never panic; a resolved config is valid
// JSON without references to known names; a masked config never holds a
// masked secret's value.
func FuzzNamedValueConfig(f *testing.F) {
	for _, s := range []string{
		`{"value":"Bearer {{tok}}"}`, `{"name":"Authorization","value":"Basic abc"}`, `{"hmac_secret":"{{k}}{{k}}"}`,
		`{"a":[{"b":"{{x.y-z}}"}]}`, `{{tok}}`, `"{{tok}}"`, `[1,"{{tok}}"]`, `{"value":"{{`, `{"value":"}}{{tok"}`, `null`,
	} {
		f.Add(s, "set-header")
		f.Add(s, "validate-jwt")
	}
	f.Fuzz(func(t *testing.T, cfg, policy string) {
		vals := map[string]string{"tok": "SECRET-VALUE", "k": "K", "x.y-z": "{{tok}}"}
		catalog.NamedValueRefs(json.RawMessage(cfg))
		out, err := catalog.ResolveNamedValues(json.RawMessage(cfg), vals)
		if err == nil && len(catalog.NamedValueRefs(json.RawMessage(cfg))) > 0 {
			if !json.Valid(out) {
				t.Fatalf("resolved %q to invalid JSON %q", cfg, out)
			}
		}
		e := catalog.PolicyEntry{Module: "builtin", Policy: policy, Config: json.RawMessage(cfg)}
		m := catalog.MaskEntrySecrets(e)
		d := catalog.PolicyDoc{Inbound: []catalog.PolicyEntry{m}}
		if got, err := catalog.UnmaskPolicySecrets(d, catalog.PolicyDoc{Inbound: []catalog.PolicyEntry{e}}); err != nil {
			t.Fatalf("unmask of the masked entry itself: %v", err)
		} else if string(m.Config) != string(e.Config) && string(got.Inbound[0].Config) != string(e.Config) {
			t.Fatalf("unmask gave %q, want %q", got.Inbound[0].Config, e.Config)
		}
	})
}

// The snapshot builder resolves every config; most have no reference.
func BenchmarkResolveNamedValues(b *testing.B) {
	vals := map[string]string{"tok": "0123456789abcdef0123456789abcdef"}
	for _, c := range []struct{ name, cfg string }{
		{"none", `{"name":"X-Powered-By","value":"Gatehouse","phase":"response"}`},
		{"one", `{"name":"Authorization","value":"Bearer {{tok}}","phase":"request"}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := json.RawMessage(c.cfg)
			for b.Loop() {
				if _, err := catalog.ResolveNamedValues(cfg, vals); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
