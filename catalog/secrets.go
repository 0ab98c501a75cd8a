package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Named value references. A policy config may reference a named value as
// {{name}} anywhere inside a JSON string ("Bearer {{backend-token}}"); the
// gateway substitutes the value when it builds its snapshot, so the stored
// config (and every answer showing it) carries the reference, never the
// value.
var namedValueRefRe = regexp.MustCompile(`\{\{([A-Za-z0-9][A-Za-z0-9._-]*)\}\}`)

// Mask replaces a secret in answers.
const Mask = "***"

// NamedValueRefs returns the names config references, sorted, without
// repeats (nil for none or for a config that is not JSON).
func NamedValueRefs(config json.RawMessage) []string {
	if !bytes.Contains(config, []byte("{{")) {
		return nil
	}
	var v any
	if json.Unmarshal(config, &v) != nil {
		return nil
	}
	seen := map[string]bool{}
	walkStrings(v, func(s string) string {
		for _, m := range namedValueRefRe.FindAllStringSubmatch(s, -1) {
			seen[m[1]] = true
		}
		return s
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UnknownNamedValueError names the references of a config to named values
// that do not exist.
type UnknownNamedValueError struct{ Names []string }

func (e *UnknownNamedValueError) Error() string {
	q := make([]string, len(e.Names))
	for i, n := range e.Names {
		q[i] = fmt.Sprintf("%q", n)
	}
	s := ""
	if len(q) > 1 {
		s = "s"
	}
	return fmt.Sprintf("references unknown named value%s %s (create it: gatehouse named-value set)", s, strings.Join(q, ", "))
}

// Is reports whether target is ErrInvalid.
func (e *UnknownNamedValueError) Is(target error) bool { return target == ErrInvalid }

// ResolveNamedValues returns config with every {{name}} inside its JSON
// strings replaced by values[name]; a config without references is
// returned as is. An unknown name fails with *UnknownNamedValueError.
func ResolveNamedValues(config json.RawMessage, values map[string]string) (json.RawMessage, error) {
	refs := NamedValueRefs(config)
	if len(refs) == 0 {
		return config, nil
	}
	var unknown []string
	for _, n := range refs {
		if _, ok := values[n]; !ok {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownNamedValueError{Names: unknown}
	}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = walkStrings(v, func(s string) string {
		return namedValueRefRe.ReplaceAllStringFunc(s, func(ref string) string { return values[ref[2:len(ref)-2]] })
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// walkStrings applies f to every string value (not object keys) of a
// decoded JSON value, in place, and returns the result.
func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = walkStrings(x[i], f)
		}
	case map[string]any:
		for k := range x {
			x[k] = walkStrings(x[k], f)
		}
	}
	return v
}

// secretFields returns the config fields of a built-in policy that hold a
// secret when written inline: validate-jwt's HMAC secrets, and set-header's
// value when it sets a credential header.
func secretFields(e PolicyEntry, cfg map[string]any) []string {
	name, _, _ := strings.Cut(e.Module, "@")
	if name != BuiltinModuleName {
		return nil
	}
	switch e.Policy {
	case "validate-jwt":
		return []string{"hmac_secret", "hmac_secret_base64"}
	case "set-header":
		h, _ := cfg["name"].(string)
		switch strings.ToLower(h) {
		case "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", strings.ToLower(DefaultKeyHeader):
			return []string{"value"}
		}
	}
	return nil
}

// MaskEntrySecrets returns e with every inline secret of its config (see
// secretFields) replaced by Mask. A value that references a named value
// ({{name}}) is shown as is: the reference is not the secret.
func MaskEntrySecrets(e PolicyEntry) PolicyEntry {
	if len(e.Config) == 0 {
		return e
	}
	var cfg map[string]any
	if json.Unmarshal(e.Config, &cfg) != nil {
		return e
	}
	changed := false
	for _, f := range secretFields(e, cfg) {
		s, ok := cfg[f].(string)
		if !ok || s == "" || s == Mask || namedValueRefRe.MatchString(s) {
			continue
		}
		cfg[f], changed = Mask, true
	}
	if !changed {
		return e
	}
	e.Config, _ = json.Marshal(cfg)
	return e
}

// MaskPolicySecrets returns a copy of d with MaskEntrySecrets applied to
// every entry.
func MaskPolicySecrets(d PolicyDoc) PolicyDoc {
	for _, sec := range []*[]PolicyEntry{&d.Inbound, &d.Backend, &d.Outbound, &d.OnError} {
		if *sec == nil {
			continue
		}
		out := make([]PolicyEntry, len(*sec))
		for i, e := range *sec {
			out[i] = MaskEntrySecrets(e)
		}
		*sec = out
	}
	return d
}

// UnmaskPolicySecrets undoes masking for a document read, edited and
// written back: an entry of d whose config still carries Mask in a secret
// field takes the config of the stored entry (of stored, same module and
// policy) that masks to exactly the same config. An entry left with a
// mask fails with a *FieldError: the value was changed around a secret
// the writer never saw, so give the value or a {{name}} reference.
func UnmaskPolicySecrets(d, stored PolicyDoc) (PolicyDoc, error) {
	var old []PolicyEntry
	for _, sec := range [][]PolicyEntry{stored.Inbound, stored.Backend, stored.Outbound, stored.OnError} {
		old = append(old, sec...)
	}
	for _, sec := range []struct {
		name    string
		entries *[]PolicyEntry
	}{{"inbound", &d.Inbound}, {"backend", &d.Backend}, {"outbound", &d.Outbound}, {"onError", &d.OnError}} {
		if *sec.entries == nil {
			continue
		}
		out := make([]PolicyEntry, len(*sec.entries))
		copy(out, *sec.entries)
		for i, e := range out {
			field := maskedField(e)
			if field == "" {
				continue
			}
			want := canonicalJSON(e.Config)
			for _, o := range old {
				if o.Module == e.Module && o.Policy == e.Policy && canonicalJSON(MaskEntrySecrets(o).Config) == want {
					out[i].Config = o.Config
					field = ""
					break
				}
			}
			if field != "" {
				return d, &FieldError{Path: fmt.Sprintf("%s[%d].config.%s", sec.name, i, field),
					Msg: fmt.Sprintf("is the mask %q of a secret that does not match a stored entry; give the value or reference a named value as {{name}}", Mask)}
			}
		}
		*sec.entries = out
	}
	return d, nil
}

// maskedField returns the first secret field of e whose value is Mask.
func maskedField(e PolicyEntry) string {
	if !bytes.Contains(e.Config, []byte(Mask)) {
		return ""
	}
	var cfg map[string]any
	if json.Unmarshal(e.Config, &cfg) != nil {
		return ""
	}
	for _, f := range secretFields(e, cfg) {
		if cfg[f] == Mask {
			return f
		}
	}
	return ""
}

func canonicalJSON(b json.RawMessage) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
