// Package declarative describes the catalog as one YAML (or JSON) document
// and makes the catalog match such a document, GitOps style, as Kong decK
// and Azure APIOps do: Export writes the document, Plan computes the
// changes a document implies, Apply makes them. The format is described in
// docs/declarative.md.
//
// A document may describe a part of the catalog. A kind (apis, products,
// groups, users, subscriptions, namedValues, certificates, globalPolicy)
// that is absent
// (or null) is not looked at at all. For kinds that are present, entities
// are matched by ID and created or updated; with prune, entities of those
// kinds that the document omits are deleted. The same holds inside an
// entity: an API's operations, a product's apis, a group's users and any
// policy are left alone when absent, compared when present, and their
// omitted members deleted only with prune.
//
// Modules (binary), subscription keys, secret named values and the private
// keys of certificates are not carried: policy entries reference modules
// already uploaded, new subscriptions get fresh keys, a secret named value
// without a value is left unchanged, and a certificate without its key
// keeps the stored key (certificates.go).
package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog"
)

// FormatVersion is the only document version understood.
const FormatVersion = 1

// MaxDocumentSize bounds a document given to Parse: room for about 50,000
// APIs in JSON, while the parse tree (tens of times the text) stays
// within a few hundred MiB.
const MaxDocumentSize = 32 << 20

// Document is a declarative description of (part of) the catalog. A nil
// slice (or nil GlobalPolicy) means "this kind is not described"; an empty
// one means "there are none" (which, with prune, deletes them all).
type Document struct {
	Version       int            `yaml:"version" json:"version"`
	APIs          []API          `yaml:"apis" json:"apis"`
	Products      []Product      `yaml:"products" json:"products"`
	Groups        []Group        `yaml:"groups" json:"groups"`
	Users         []User         `yaml:"users" json:"users"`
	Subscriptions []Subscription `yaml:"subscriptions" json:"subscriptions"`
	NamedValues   []NamedValue   `yaml:"namedValues" json:"namedValues"`
	Certificates  []Certificate  `yaml:"certificates" json:"certificates"`
	GlobalPolicy  *Policy        `yaml:"globalPolicy,omitempty" json:"globalPolicy,omitempty"`
}

// API is a catalog API with its operations and policy.
type API struct {
	ID         string `yaml:"id" json:"id"`
	Name       string `yaml:"name" json:"name"`
	PathPrefix string `yaml:"pathPrefix" json:"pathPrefix"`
	BackendURL string `yaml:"backendUrl" json:"backendUrl"`
	Version    string `yaml:"version,omitempty" json:"version,omitempty"`
	// SubscriptionRequired defaults to true, as in APIM.
	SubscriptionRequired *bool       `yaml:"subscriptionRequired,omitempty" json:"subscriptionRequired,omitempty"`
	KeyHeader            string      `yaml:"keyHeader,omitempty" json:"keyHeader,omitempty"`
	KeyQuery             string      `yaml:"keyQuery,omitempty" json:"keyQuery,omitempty"`
	AllowQueryKey        bool        `yaml:"allowQueryKey,omitempty" json:"allowQueryKey,omitempty"`
	EgressAllow          []string    `yaml:"egressAllow,omitempty" json:"egressAllow,omitempty"`
	ConsoleTraceDisabled bool        `yaml:"consoleTraceDisabled,omitempty" json:"consoleTraceDisabled,omitempty"`
	Operations           []Operation `yaml:"operations,omitempty" json:"operations,omitempty"`
	Policy               *Policy     `yaml:"policy,omitempty" json:"policy,omitempty"`

	// Transport settings (catalog.APITransport): backendProtocol,
	// backendTls, clientCertificate, websocket.
	catalog.APITransport `yaml:",inline"`
}

// Operation is an API operation. Without ID it is matched by method and
// URL template within its API.
type Operation struct {
	ID          string  `yaml:"id,omitempty" json:"id,omitempty"`
	Name        string  `yaml:"name" json:"name"`
	Method      string  `yaml:"method" json:"method"`
	URLTemplate string  `yaml:"urlTemplate" json:"urlTemplate"`
	Policy      *Policy `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// Product is a catalog product with the IDs of its APIs.
type Product struct {
	ID                 string   `yaml:"id" json:"id"`
	Name               string   `yaml:"name" json:"name"`
	Description        string   `yaml:"description,omitempty" json:"description,omitempty"`
	Published          bool     `yaml:"published" json:"published"`
	ApprovalRequired   bool     `yaml:"approvalRequired,omitempty" json:"approvalRequired,omitempty"`
	SubscriptionsLimit int      `yaml:"subscriptionsLimit,omitempty" json:"subscriptionsLimit,omitempty"`
	APIs               []string `yaml:"apis,omitempty" json:"apis,omitempty"`
	Policy             *Policy  `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// Group is a group with the IDs of its users.
type Group struct {
	ID          string   `yaml:"id" json:"id"`
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Users       []string `yaml:"users,omitempty" json:"users,omitempty"`
}

// User is a developer.
type User struct {
	ID    string `yaml:"id" json:"id"`
	Email string `yaml:"email" json:"email"`
	Name  string `yaml:"name" json:"name"`
	State string `yaml:"state,omitempty" json:"state,omitempty"`
}

// Subscription is a subscription without its keys. Only State and
// ExpiresAt of an existing subscription can change.
type Subscription struct {
	ID        string     `yaml:"id" json:"id"`
	UserID    string     `yaml:"userId" json:"userId"`
	Name      string     `yaml:"name,omitempty" json:"name,omitempty"`
	Scope     string     `yaml:"scope" json:"scope"`
	ScopeID   string     `yaml:"scopeId,omitempty" json:"scopeId,omitempty"`
	State     string     `yaml:"state,omitempty" json:"state,omitempty"`
	ExpiresAt *time.Time `yaml:"expiresAt,omitempty" json:"expiresAt,omitempty"`
}

// NamedValue is a named value. Export omits the value of a secret one;
// Apply leaves the stored value of a secret named value given without a
// value unchanged.
type NamedValue struct {
	Name   string  `yaml:"name" json:"name"`
	Value  *string `yaml:"value,omitempty" json:"value,omitempty"`
	Secret bool    `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// Policy is a policy document without its scope (given by where it is).
//
// A section that is absent inherits the parent scope's section unchanged;
// an empty one (`outbound: []`) replaces it with nothing, as in the catalog.
type Policy struct {
	Inbound  *[]Entry `yaml:"inbound,omitempty" json:"inbound,omitempty"`
	Backend  *[]Entry `yaml:"backend,omitempty" json:"backend,omitempty"`
	Outbound *[]Entry `yaml:"outbound,omitempty" json:"outbound,omitempty"`
	OnError  *[]Entry `yaml:"onError,omitempty" json:"onError,omitempty"`
}

// Entry is a catalog.PolicyEntry whose config is any YAML/JSON value.
type Entry struct {
	Base     bool   `yaml:"base,omitempty" json:"base,omitempty"`
	Module   string `yaml:"module,omitempty" json:"module,omitempty"`
	Policy   string `yaml:"policy,omitempty" json:"policy,omitempty"`
	Config   any    `yaml:"config,omitempty" json:"config,omitempty"`
	FailMode string `yaml:"failMode,omitempty" json:"failMode,omitempty"`
	Fallback string `yaml:"fallback,omitempty" json:"fallback,omitempty"`
}

// Change is one planned or applied change. Action is "create", "update"
// or "delete"; Kind is api, operation, product, product-api, group,
// group-user, user, subscription, named-value or policy; Diff lists the
// changed fields of an update as "field: old → new".
type Change struct {
	Action string `json:"action"`
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Diff   string `json:"diff,omitempty"`
}

func invalid(path, format string, args ...any) error {
	return &catalog.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a YAML or JSON document strictly: unknown fields, a wrong
// version, trailing documents and invalid entities are refused with a
// *catalog.FieldError (wrapping catalog.ErrInvalid) naming the path, e.g.
// "apis[0].backendUrl". References to other entities and modules are
// checked by Plan, against the store.
func Parse(b []byte) (d *Document, err error) {
	defer func() {
		if r := recover(); r != nil { // never let a malformed document crash the caller
			d, err = nil, invalid("", "cannot be parsed: %v", r)
		}
	}()
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("", "the document is empty")
	}
	if len(b) > MaxDocumentSize {
		return nil, invalid("", "the document is larger than %d MiB", MaxDocumentSize>>20)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		return nil, invalid("", "not YAML or JSON: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, invalid("", "only one document is allowed")
	}
	if err := checkFields(&n, reflect.TypeOf(Document{}), ""); err != nil {
		return nil, err
	}
	d = new(Document)
	if err := n.Decode(d); err != nil {
		return nil, invalid("", "%s", strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	if d.Version != FormatVersion {
		return nil, invalid("version", "must be %d", FormatVersion)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// checkFields refuses mapping keys that are not fields of t, naming their
// path.
func checkFields(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if err := checkFields(c, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return invalid(path, "YAML aliases are not supported")
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) || n.Kind != yaml.MappingNode {
			return nil // the decoder reports type mismatches
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Anonymous && opts == "inline" { // API's catalog.APITransport
				for j := 0; j < f.Type.NumField(); j++ {
					name, _, _ := strings.Cut(f.Type.Field(j).Tag.Get("yaml"), ",")
					fields[name] = f.Type.Field(j).Type
				}
				continue
			}
			fields[name] = f.Type
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				return invalid(p, "unknown field")
			}
			if seen[k] {
				return invalid(p, "repeated field")
			}
			seen[k] = true
			if err := checkFields(n.Content[i+1], ft, p); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := checkFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Interface: // config: any value, but no aliases (billion laughs)
		var walk func(*yaml.Node) error
		walk = func(c *yaml.Node) error {
			if c.Kind == yaml.AliasNode {
				return invalid(path, "YAML aliases are not supported")
			}
			for _, cc := range c.Content {
				if err := walk(cc); err != nil {
					return err
				}
			}
			return nil
		}
		return walk(n)
	}
	return nil
}

// Marshal renders d as YAML: kinds in a fixed order, entities in the order
// of d (Export sorts them by ID), an empty kind as [] and an absent one
// omitted. Each entity is encoded on its own and indented under its kind:
// the YAML encoder's cost grows faster than the document (its event queue
// is never trimmed), and a 10,000-API catalog took minutes in one piece.
// The text is the same as encoding the whole document at once
// (TestMarshalChunked).
func Marshal(d *Document) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "version: %d\n", d.Version)
	for _, err := range []error{
		yamlSeq(&buf, "apis", d.APIs),
		yamlSeq(&buf, "products", d.Products),
		yamlSeq(&buf, "groups", d.Groups),
		yamlSeq(&buf, "users", d.Users),
		yamlSeq(&buf, "subscriptions", d.Subscriptions),
		yamlSeq(&buf, "namedValues", d.NamedValues),
		yamlSeq(&buf, "certificates", d.Certificates),
	} {
		if err != nil {
			return nil, err
		}
	}
	if d.GlobalPolicy != nil {
		b, err := yamlEncode(struct {
			GlobalPolicy *Policy `yaml:"globalPolicy"`
		}{d.GlobalPolicy})
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// yamlSeq writes key and items as a block sequence indented by 2 (as the
// encoder indents a sequence under a key), one item encoded at a time.
func yamlSeq[T any](buf *bytes.Buffer, key string, items []T) error {
	if items == nil {
		return nil // absent kind
	}
	if len(items) == 0 {
		buf.WriteString(key + ": []\n")
		return nil
	}
	buf.WriteString(key + ":\n")
	for i := range items {
		b, err := yamlEncode(items[i : i+1])
		if err != nil {
			return err
		}
		for len(b) > 0 {
			line, rest, _ := bytes.Cut(b, []byte("\n"))
			if len(line) > 0 {
				buf.WriteString("  ")
			}
			buf.Write(line)
			buf.WriteByte('\n')
			b = rest
		}
	}
	return nil
}

func yamlEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// validate checks every entity on its own and IDs for duplicates, with
// paths into the document.
func (d *Document) validate() error {
	at := func(path string, err error) error {
		var fe *catalog.FieldError
		if errors.As(err, &fe) {
			return invalid(path+"."+fe.Path, "%s", fe.Msg)
		}
		return err
	}
	dup := func(kind string) func(path, id string) error {
		seen := map[string]bool{}
		return func(path, id string) error {
			if seen[id] {
				return invalid(path, "%s %q appears twice", kind, id)
			}
			seen[id] = true
			return nil
		}
	}
	apiDup := dup("api")
	for i, a := range d.APIs {
		p := fmt.Sprintf("apis[%d]", i)
		ca := a.toCatalog()
		ca.ApplyDefaults()
		if err := ca.Validate(); err != nil {
			return at(p, err)
		}
		if err := apiDup(p+".id", a.ID); err != nil {
			return err
		}
		opDup, keyDup, nameDup := dup("operation"), dup("operation"), dup("operation name")
		for j, o := range a.Operations {
			op := fmt.Sprintf("%s.operations[%d]", p, j)
			co := o.toCatalog(a.ID)
			if co.ID == "" {
				co.ID = "placeholder"
			} else if err := opDup(op+".id", o.ID); err != nil {
				return err
			}
			if err := co.Validate(); err != nil {
				return at(op, err)
			}
			if err := keyDup(op+".urlTemplate", o.Method+" "+o.URLTemplate); err != nil {
				return err
			}
			if err := nameDup(op+".name", o.Name); err != nil {
				return err
			}
			if err := o.Policy.validate(op+".policy", catalog.ScopeOperation); err != nil {
				return err
			}
		}
		if err := a.Policy.validate(p+".policy", catalog.ScopeAPI); err != nil {
			return err
		}
	}
	prodDup := dup("product")
	for i, pr := range d.Products {
		p := fmt.Sprintf("products[%d]", i)
		cp := pr.toCatalog()
		if err := cp.Validate(); err != nil {
			return at(p, err)
		}
		if err := prodDup(p+".id", pr.ID); err != nil {
			return err
		}
		linkDup := dup("api")
		for j, id := range pr.APIs {
			if err := catalog.ValidateID(fmt.Sprintf("%s.apis[%d]", p, j), id); err != nil {
				return err
			}
			if err := linkDup(fmt.Sprintf("%s.apis[%d]", p, j), id); err != nil {
				return err
			}
		}
		if err := pr.Policy.validate(p+".policy", catalog.ScopeProduct); err != nil {
			return err
		}
	}
	groupDup := dup("group")
	for i, g := range d.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		cg := catalog.Group{ID: g.ID, Name: g.Name, Description: g.Description}
		if err := cg.Validate(); err != nil {
			return at(p, err)
		}
		if err := groupDup(p+".id", g.ID); err != nil {
			return err
		}
		memberDup := dup("user")
		for j, id := range g.Users {
			if err := catalog.ValidateID(fmt.Sprintf("%s.users[%d]", p, j), id); err != nil {
				return err
			}
			if err := memberDup(fmt.Sprintf("%s.users[%d]", p, j), id); err != nil {
				return err
			}
		}
	}
	userDup := dup("user")
	for i, u := range d.Users {
		p := fmt.Sprintf("users[%d]", i)
		cu := u.toCatalog()
		if err := cu.Validate(); err != nil {
			return at(p, err)
		}
		if err := userDup(p+".id", u.ID); err != nil {
			return err
		}
	}
	subDup := dup("subscription")
	for i, s := range d.Subscriptions {
		p := fmt.Sprintf("subscriptions[%d]", i)
		cs := s.toCatalog()
		if err := cs.Validate(); err != nil {
			return at(p, err)
		}
		if err := subDup(p+".id", s.ID); err != nil {
			return err
		}
	}
	nvDup := dup("named value")
	for i, n := range d.NamedValues {
		p := fmt.Sprintf("namedValues[%d]", i)
		cn := catalog.NamedValue{Name: n.Name, Secret: n.Secret}
		if n.Value != nil {
			cn.Value = *n.Value
		} else if !n.Secret {
			return invalid(p+".value", "must be given for a named value that is not secret")
		}
		if err := cn.Validate(); err != nil {
			return at(p, err)
		}
		if err := nvDup(p+".name", n.Name); err != nil {
			return err
		}
	}
	certDup := dup("certificate")
	for i := range d.Certificates {
		p := fmt.Sprintf("certificates[%d]", i)
		if err := d.Certificates[i].validate(p); err != nil {
			return err
		}
		if err := certDup(p+".id", d.Certificates[i].ID); err != nil {
			return err
		}
	}
	return d.GlobalPolicy.validate("globalPolicy", catalog.ScopeGlobal)
}

func (a *API) toCatalog() catalog.API {
	ca := catalog.API{ID: a.ID, Name: a.Name, PathPrefix: a.PathPrefix, BackendURL: a.BackendURL, Version: a.Version,
		SubscriptionRequired: true, KeyHeader: a.KeyHeader, KeyQuery: a.KeyQuery, AllowQueryKey: a.AllowQueryKey,
		EgressAllow: a.EgressAllow, ConsoleTraceDisabled: a.ConsoleTraceDisabled, APITransport: a.APITransport}
	if a.SubscriptionRequired != nil {
		ca.SubscriptionRequired = *a.SubscriptionRequired
	}
	return ca
}

func (o *Operation) toCatalog(apiID string) catalog.Operation {
	return catalog.Operation{ID: o.ID, APIID: apiID, Name: o.Name, Method: o.Method, URLTemplate: o.URLTemplate}
}

func (p *Product) toCatalog() catalog.Product {
	return catalog.Product{ID: p.ID, Name: p.Name, Description: p.Description, Published: p.Published,
		ApprovalRequired: p.ApprovalRequired, SubscriptionsLimit: p.SubscriptionsLimit}
}

func (u *User) toCatalog() catalog.User {
	cu := catalog.User{ID: u.ID, Email: u.Email, Name: u.Name, State: u.State}
	cu.ApplyDefaults()
	return cu
}

func (s *Subscription) toCatalog() catalog.Subscription {
	return catalog.Subscription{ID: s.ID, UserID: s.UserID, Name: s.Name, Scope: catalog.Scope(s.Scope),
		ScopeID: s.ScopeID, State: catalog.SubscriptionState(s.State), ExpiresAt: s.ExpiresAt}
}

// toCatalog converts p into a policy document of scope/id. Configs are
// converted from YAML values to JSON.
func (p *Policy) toCatalog(scope catalog.Scope, id string) (catalog.PolicyDoc, error) {
	d := catalog.PolicyDoc{Scope: scope, ScopeID: id}
	conv := func(sec string, pin *[]Entry) ([]catalog.PolicyEntry, error) {
		if pin == nil {
			return nil, nil // absent: inherits
		}
		out := []catalog.PolicyEntry{}
		for i, e := range *pin {
			ce := catalog.PolicyEntry{Base: e.Base, Module: e.Module, Policy: e.Policy, FailMode: e.FailMode, Fallback: e.Fallback}
			if e.Config != nil {
				b, err := json.Marshal(jsonable(e.Config))
				if err != nil {
					return nil, invalid(fmt.Sprintf("%s[%d].config", sec, i), "cannot be converted to JSON: %v", err)
				}
				ce.Config = b
			}
			out = append(out, ce)
		}
		return out, nil
	}
	var err error
	if d.Inbound, err = conv("inbound", p.Inbound); err != nil {
		return d, err
	}
	if d.Backend, err = conv("backend", p.Backend); err != nil {
		return d, err
	}
	if d.Outbound, err = conv("outbound", p.Outbound); err != nil {
		return d, err
	}
	d.OnError, err = conv("onError", p.OnError)
	return d, err
}

func (p *Policy) validate(path string, scope catalog.Scope) error {
	if p == nil {
		return nil
	}
	id := ""
	if scope != catalog.ScopeGlobal {
		id = "placeholder"
	}
	d, err := p.toCatalog(scope, id)
	if err == nil {
		err = d.Validate()
	}
	var fe *catalog.FieldError
	if errors.As(err, &fe) {
		return invalid(path+"."+fe.Path, "%s", fe.Msg)
	}
	return err
}

// policyFromCatalog converts a stored policy document.
func policyFromCatalog(d catalog.PolicyDoc) *Policy {
	conv := func(in []catalog.PolicyEntry) *[]Entry {
		if in == nil {
			return nil
		}
		out := []Entry{}
		for _, e := range in {
			out = append(out, Entry{Base: e.Base, Module: e.Module, Policy: e.Policy, FailMode: e.FailMode,
				Fallback: e.Fallback, Config: fromJSON(e.Config)})
		}
		return &out
	}
	return &Policy{Inbound: conv(d.Inbound), Backend: conv(d.Backend), Outbound: conv(d.Outbound), OnError: conv(d.OnError)}
}

// fromJSON decodes a config into plain values, integers as int64 so that
// YAML writes them as integers.
func fromJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var fix func(any) any
	fix = func(v any) any {
		switch v := v.(type) {
		case json.Number:
			if i, err := v.Int64(); err == nil {
				return i
			}
			f, _ := v.Float64()
			return f
		case map[string]any:
			for k, e := range v {
				v[k] = fix(e)
			}
		case []any:
			for i, e := range v {
				v[i] = fix(e)
			}
		}
		return v
	}
	return fix(v)
}

// jsonable converts YAML-decoded values into values encoding/json accepts.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = jsonable(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = jsonable(e)
		}
		return s
	}
	return v
}
