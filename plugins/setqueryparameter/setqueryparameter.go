// Package setqueryparameter is the set-query-parameter policy (Azure API
// Management's set-query-parameter): it sets, appends, skips or deletes a
// query parameter of the request sent to the backend.
//
// Config:
//
//	{
//	  "name": "api-version",        // required: the parameter name (unescaped)
//	  "value": "2024-01-01",        // one value (unescaped), or
//	  "values": ["a", "b"],         // several; one of value/values is required unless exists_action is "delete"
//	  "exists_action": "override"   // override (default) | skip | append | delete
//	}
//
// override removes every occurrence of the parameter and adds the values;
// skip leaves the query unchanged when the parameter is present (and adds
// the values when it is absent); append adds the values after the existing
// ones; delete removes every occurrence. The name and values are
// percent-encoded once, when the config is loaded; the other parameters of
// the raw query are kept byte for byte, never decoded and re-encoded. A
// parameter is matched by its raw name or by its unescaped name (so
// "api%2Dversion" is "api-version"). It acts in the request phase only.
package setqueryparameter

import (
	"fmt"
	"net/url"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "set-query-parameter"

// Config is the policy's JSON config.
type Config struct {
	// Name is the parameter's name, unescaped.
	Name string `json:"name"`
	// Value is one value, unescaped.
	Value *string `json:"value"`
	// Values are several values, unescaped.
	Values []string `json:"values"`
	// ExistsAction: "override" (default), "skip", "append" or "delete".
	ExistsAction string `json:"exists_action"`
}

// Policy is a configured set-query-parameter.
type Policy struct {
	sdk.Base
	name   string // unescaped
	pairs  string // "name=v1&name=v2", escaped
	action conf.Action
	q, out []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	p := &Policy{name: c.Name}
	var err error
	if p.action, err = conf.ExistsAction(c.ExistsAction); err != nil {
		return nil, err
	}
	values := c.Values
	switch {
	case c.Value != nil && c.Values != nil:
		return nil, fmt.Errorf("value and values are exclusive")
	case c.Value != nil:
		values = []string{*c.Value}
	}
	switch {
	case p.action == conf.Delete && (c.Value != nil || c.Values != nil):
		return nil, fmt.Errorf(`value and values must not be set when exists_action is "delete"`)
	case p.action != conf.Delete && len(values) == 0:
		return nil, fmt.Errorf(`value or values is required (unless exists_action is "delete")`)
	}
	var b strings.Builder
	for _, v := range values {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(c.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	p.pairs = b.String()
	if len(p.pairs) > 8<<10 {
		return nil, fmt.Errorf("values: the query would exceed 8 KiB")
	}
	return p, nil
}

// OnRequest edits the query.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.q = c.AppendField(p.q[:0], sdk.FieldQuery)
	q := bstr(p.q)
	present := has(q, p.name)
	out := p.out[:0]
	switch p.action {
	case conf.Skip:
		if present {
			return sdk.Continue
		}
		out = appendPart(append(out, q...), p.pairs)
	case conf.Append:
		out = appendPart(append(out, q...), p.pairs)
	case conf.Override:
		out = appendPart(without(out, q, p.name), p.pairs)
	case conf.Delete:
		if !present {
			return sdk.Continue
		}
		out = without(out, q, p.name)
	}
	p.out = out
	if err := c.Request().SetQuery(bstr(out)); err != nil {
		return c.Fail(fmt.Errorf("query parameter %s: %w", p.name, err))
	}
	return sdk.Continue
}

func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func appendPart(dst []byte, part string) []byte {
	if len(dst) > 0 && part != "" {
		dst = append(dst, '&')
	}
	return append(dst, part...)
}

// matches reports whether the raw key k is name, as is or unescaped.
func matches(k, name string) bool {
	if k == name {
		return true
	}
	if !strings.ContainsAny(k, "%+") {
		return false
	}
	uk, err := url.QueryUnescape(k)
	return err == nil && uk == name
}

func has(q, name string) bool {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(part, "=")
		if matches(k, name) {
			return true
		}
	}
	return false
}

// without appends q without the parameter name to dst; the other parts are
// copied as they are.
func without(dst []byte, q, name string) []byte {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(part, "=")
		if part == "" || matches(k, name) {
			continue
		}
		dst = appendPart(dst, part)
	}
	return dst
}
