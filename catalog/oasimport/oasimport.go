// Package oasimport imports OpenAPI documents (Swagger 2.0, OpenAPI 3.0
// and OpenAPI 3.1, as JSON or YAML) into the catalog: the document becomes
// an API and each path + method one of its operations, as in Azure API
// Management's "import from OpenAPI".
//
// Documents are parsed with github.com/getkin/kin-openapi. Swagger 2.0 is
// converted to OpenAPI 3 with openapi2conv. kin-openapi v0.153 loads and
// validates OpenAPI 3.1 documents natively (type arrays, webhooks,
// jsonSchemaDialect, $ref siblings), so 3.1 needs no special handling;
// only paths are imported, webhooks are ignored.
//
// References are resolved within the document only: a $ref to another file
// or URL is refused, so an import never reads the local file system or the
// network.
package oasimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog"
)

// MaxDocumentSize bounds an imported document, as the admin API does.
const MaxDocumentSize = 8 << 20

// Document formats reported in Result.Format.
const (
	FormatSwagger20 = "swagger-2.0"
	FormatOpenAPI30 = "openapi-3.0"
	FormatOpenAPI31 = "openapi-3.1"
)

// Request asks Import to create an API from Document (APIID empty) or to
// re-import Document into the existing API APIID. Empty fields take their
// value from the document (Name from info.title, BackendURL from the first
// absolute http(s) server URL) or, on re-import, keep the stored one.
type Request struct {
	APIID, Name, PathPrefix, BackendURL string
	// SubscriptionRequired defaults to true on create, as in APIM, and is
	// left unchanged on re-import when nil.
	SubscriptionRequired *bool
	// Document is the JSON or YAML text; it is stored as the API's
	// OpenAPIDoc exactly as given.
	Document []byte
	// Transport holds transport settings for the API; only the fields
	// named in TransportFields (by their JSON names: backendProtocol,
	// backendTls, clientCertificate, websocket) are taken from it, a nil
	// or empty one clearing its field. The others are empty on create and
	// kept on re-import. They are checked with the API (API.Validate and
	// the store's client-key check).
	Transport       catalog.APITransport
	TransportFields []string
}

// TransportFieldNames are the JSON names of catalog.APITransport's
// fields, as TransportFields names them.
var TransportFieldNames = []string{"backendProtocol", "backendTls", "clientCertificate", "websocket"}

// setTransport copies the named transport fields of req onto t.
func setTransport(t *catalog.APITransport, req Request) error {
	for _, f := range req.TransportFields {
		switch f {
		case "backendProtocol":
			t.BackendProtocol = req.Transport.BackendProtocol
		case "backendTls":
			t.BackendTLS = req.Transport.BackendTLS
		case "clientCertificate":
			t.ClientCertificate = req.Transport.ClientCertificate
		case "websocket":
			t.WebSocket = req.Transport.WebSocket
		default:
			return &catalog.FieldError{Path: f, Msg: "is not a transport setting"}
		}
	}
	return nil
}

// Report describes what Import did. Updated lists the kept operations
// whose name changed.
type Report struct {
	API     catalog.API         `json:"api"`
	Created []catalog.Operation `json:"created"`
	Updated []catalog.Operation `json:"updated"`
	Deleted []catalog.Operation `json:"deleted"`
}

// Result is a parsed document. Operations have no ID and no APIID, are
// ordered by URL template then method, and have names unique within the
// document.
type Result struct {
	Format, Title, Version, Description string
	Servers                             []string
	Operations                          []catalog.Operation
}

func docErr(path, format string, args ...any) error {
	if path == "" {
		path = "document"
	} else {
		path = "document." + path
	}
	return &catalog.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses and validates an OpenAPI document. Every error is a
// *catalog.FieldError whose Path starts with "document".
func Parse(doc []byte) (res *Result, err error) {
	defer func() {
		// kin-openapi is large; never let a malformed document crash the caller.
		if r := recover(); r != nil {
			res, err = nil, docErr("", "cannot be parsed: %v", r)
		}
	}()
	d3, format, loader, err := load(doc)
	if err != nil {
		return nil, err
	}
	if d3.Paths == nil || d3.Paths.Len() == 0 {
		return nil, docErr("paths", "the document has no paths to import")
	}
	if err := d3.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, docErr("", "not a valid OpenAPI document: %v", err)
	}
	res = &Result{Format: format}
	if d3.Info != nil {
		res.Title, res.Version, res.Description = d3.Info.Title, d3.Info.Version, d3.Info.Description
	}
	for _, s := range d3.Servers {
		if s != nil {
			res.Servers = append(res.Servers, serverURL(s))
		}
	}
	if res.Operations, err = operations(d3.Paths); err != nil {
		return nil, err
	}
	return res, nil
}

// load reads a document into OpenAPI 3 (converting Swagger 2.0) without
// validating it. It may panic on hostile input; callers recover.
func load(doc []byte) (d3 *openapi3.T, format string, loader *openapi3.Loader, err error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, "", nil, docErr("", "is empty")
	}
	if len(doc) > MaxDocumentSize {
		return nil, "", nil, docErr("", "larger than %d MiB", MaxDocumentSize>>20)
	}
	// YAML is a superset of JSON: decode once to learn the version and to
	// hand kin-openapi (whose Swagger 2.0 types decode only JSON) JSON.
	var raw any
	if trimmed := bytes.TrimSpace(doc); trimmed[0] == '{' {
		// JSON: read it as such (YAML refuses some characters JSON allows).
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, "", nil, docErr("", "is not valid JSON: %v", err)
		}
		if dec.More() {
			return nil, "", nil, docErr("", "has data after the JSON object")
		}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(doc, &n); err != nil {
			return nil, "", nil, docErr("", "is neither JSON nor YAML: %v", err)
		}
		budget := 4 * len(doc) // nodes; bounds YAML alias expansion
		if raw, err = toJSONValue(&n, "", &budget); err != nil {
			return nil, "", nil, err
		}
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, "", nil, docErr("", "must be a JSON or YAML object")
	}
	js, err := json.Marshal(top)
	if err != nil {
		return nil, "", nil, docErr("", "cannot be converted to JSON: %v", err)
	}
	loader = openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	swagger, _ := top["swagger"].(string)
	oas, _ := top["openapi"].(string)
	switch {
	case swagger == "2.0":
		format = FormatSwagger20
		var d2 openapi2.T
		if err := json.Unmarshal(js, &d2); err != nil {
			return nil, "", nil, docErr("", "not a valid Swagger 2.0 document: %v", err)
		}
		if d3, err = openapi2conv.ToV3WithLoader(&d2, loader, nil); err != nil {
			return nil, "", nil, docErr("", "cannot convert Swagger 2.0 to OpenAPI 3: %v", err)
		}
	case strings.HasPrefix(oas, "3.0"):
		format = FormatOpenAPI30
	case strings.HasPrefix(oas, "3.1"):
		format = FormatOpenAPI31
	case swagger != "" || oas != "":
		return nil, "", nil, docErr("", "unsupported version %q; Swagger 2.0, OpenAPI 3.0 and 3.1 are supported", swagger+oas)
	default:
		return nil, "", nil, docErr("", "has neither a \"swagger\" nor an \"openapi\" version field")
	}
	if d3 == nil {
		if d3, err = loader.LoadFromData(js); err != nil {
			return nil, "", nil, docErr("", "not a valid OpenAPI document: %v", err)
		}
	}
	return d3, format, loader, nil
}

// operations lists one operation per path + method, in a stable order,
// with unique names.
func operations(paths *openapi3.Paths) ([]catalog.Operation, error) {
	m := paths.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ops []catalog.Operation
	for _, tmpl := range keys {
		item := m[tmpl]
		if item == nil {
			continue
		}
		methods := item.Operations()
		ms := make([]string, 0, len(methods))
		for meth := range methods {
			ms = append(ms, meth)
		}
		sort.Strings(ms)
		for _, meth := range ms {
			path := "paths." + tmpl + "." + strings.ToLower(meth)
			o := catalog.Operation{ID: "placeholder", APIID: "placeholder", Method: strings.ToUpper(meth), URLTemplate: tmpl}
			if op := methods[meth]; op != nil && strings.TrimSpace(op.OperationID) != "" {
				o.Name = strings.TrimSpace(op.OperationID)
			} else {
				o.Name = o.Method + " " + tmpl
			}
			if err := o.Validate(); err != nil {
				var fe *catalog.FieldError
				if errors.As(err, &fe) {
					return nil, docErr(path, "%s: %s", fe.Path, fe.Msg)
				}
				return nil, docErr(path, "%v", err)
			}
			o.ID, o.APIID = "", ""
			ops = append(ops, o)
		}
	}
	if len(ops) == 0 {
		return nil, docErr("paths", "the document has no operations to import")
	}
	// operationIds must be unique (OpenAPI requires it, and validation
	// checks it), but a fallback "METHOD /path" name may still equal
	// another operation's operationId: suffix the later one.
	seen := map[string]bool{}
	for i := range ops {
		o := &ops[i]
		if seen[o.Name] {
			o.Name = fmt.Sprintf("%s (%s %s)", o.Name, o.Method, o.URLTemplate)
			if seen[o.Name] || catalog.ValidateName("name", o.Name) != nil {
				return nil, docErr("paths."+o.URLTemplate+"."+strings.ToLower(o.Method), "operation name %q is used twice", o.Name)
			}
		}
		seen[o.Name] = true
	}
	return ops, nil
}

// serverURL returns a server URL with its variables replaced by their
// defaults.
func serverURL(s *openapi3.Server) string {
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return u
}

// toJSONValue converts a YAML node into values encoding/json accepts.
// Unquoted numbers under "swagger", "openapi" and "version" keep their
// literal text ("version: 1.0" is the string "1.0", as authors mean it).
func toJSONValue(n *yaml.Node, key string, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, docErr("", "too many YAML nodes (alias expansion)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toJSONValue(n.Content[0], key, budget)
	case yaml.AliasNode:
		return toJSONValue(n.Alias, key, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			v, err := toJSONValue(n.Content[i+1], k.Value, budget)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				if mm, ok := v.(map[string]any); ok {
					for mk, mv := range mm {
						if _, set := m[mk]; !set {
							m[mk] = mv
						}
					}
				}
				continue
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toJSONValue(c, "", budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	}
	switch key {
	case "swagger", "openapi", "version":
		if n.Tag == "!!int" || n.Tag == "!!float" {
			return n.Value, nil
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, docErr("", "line %d: %v", n.Line, err)
	}
	if _, ok := v.(time.Time); ok { // unquoted dates are strings in JSON
		return n.Value, nil
	}
	return v, nil
}

// backendFrom returns the first absolute http(s) server URL, without a
// trailing slash, or "".
func backendFrom(servers []string) string {
	for _, s := range servers {
		u, err := url.Parse(s)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return strings.TrimRight(s, "/")
		}
	}
	return ""
}

// slug turns a title into an entity ID: lower case letters and digits
// separated by single dashes, at most catalog.MaxIDLen characters.
// createOperation creates o with a readable ID, "<api>.<slug of name>"
// (e.g. echo.get-item), falling back to a generated one when that is too
// long or taken.
func createOperation(ctx context.Context, st catalog.Store, o catalog.Operation) (catalog.Operation, error) {
	if sl := slug(o.Name); sl != "" && o.ID == "" {
		id := o.APIID + "." + sl
		if catalog.ValidateID("id", id) == nil {
			o.ID = id
			created, err := st.CreateOperation(ctx, o)
			if !errors.Is(err, catalog.ErrConflict) {
				return created, err
			}
			o.ID = ""
		}
	}
	return st.CreateOperation(ctx, o)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
		if b.Len() >= catalog.MaxIDLen {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// version turns info.version into a valid API version (an ID-like string),
// or "" when nothing is left.
func version(v string) string {
	if catalog.ValidateID("version", v) == nil {
		return v
	}
	var b strings.Builder
	for _, r := range v {
		if r < 128 && (r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "._-")
	if len(out) > catalog.MaxIDLen {
		out = out[:catalog.MaxIDLen]
	}
	if catalog.ValidateID("version", out) != nil {
		return ""
	}
	return out
}

// Import creates an API from req.Document, or re-imports the document into
// the existing API req.APIID.
//
// The document and the resulting API and operations are validated before
// the first write, so invalid input changes nothing. The import itself is
// several writes, not one transaction: a failure in the middle (a store
// error, or a conflict such as a path prefix already in use, which only the
// store detects) may leave part of it applied. On create, Import then
// deletes the API it created; a re-import can simply be run again.
//
// A re-import matches existing operations by method + URL template and
// keeps their IDs, so their operation-scope policy documents survive;
// operations no longer in the document are deleted with their policy
// document.
func Import(ctx context.Context, st catalog.Store, req Request) (*Report, error) {
	res, err := Parse(req.Document)
	if err != nil {
		return nil, err
	}
	run := func(ctx context.Context) (*Report, error) {
		if req.APIID == "" {
			return create(ctx, st, req, res)
		}
		return reimport(ctx, st, req, res)
	}
	b, ok := st.(catalog.Batcher)
	if !ok {
		return run(ctx)
	}
	// One transaction: an import is all or nothing and bumps the catalog
	// version once (not at all when it changes nothing).
	var rep *Report
	if err := b.Batch(ctx, func(ctx context.Context) error {
		var err error
		rep, err = run(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	return rep, nil
}

func create(ctx context.Context, st catalog.Store, req Request, res *Result) (*Report, error) {
	a := catalog.API{
		Name:                 strings.TrimSpace(req.Name),
		PathPrefix:           req.PathPrefix,
		BackendURL:           req.BackendURL,
		Version:              version(res.Version),
		OpenAPIDoc:           req.Document,
		SubscriptionRequired: true,
	}
	if a.Name == "" {
		a.Name = strings.TrimSpace(res.Title)
	}
	if a.Name == "" {
		return nil, &catalog.FieldError{Path: "name", Msg: "must be given when the document has no info.title"}
	}
	if a.ID = slug(a.Name); a.ID == "" {
		return nil, &catalog.FieldError{Path: "name", Msg: "cannot derive an API ID from it; give apiId"}
	}
	if a.BackendURL == "" {
		if a.BackendURL = backendFrom(res.Servers); a.BackendURL == "" {
			return nil, &catalog.FieldError{Path: "backendUrl", Msg: "must be given when the document has no absolute http(s) server URL"}
		}
	}
	if req.SubscriptionRequired != nil {
		a.SubscriptionRequired = *req.SubscriptionRequired
	}
	if err := setTransport(&a.APITransport, req); err != nil {
		return nil, err
	}
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if _, err := st.GetAPI(ctx, a.ID); err == nil {
		return nil, catalog.Conflictf("api %q already exists; re-import with apiId %q or choose another name", a.ID, a.ID)
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return nil, err
	}
	a, err := st.CreateAPI(ctx, a)
	if err != nil {
		return nil, err
	}
	rep := &Report{API: a, Created: []catalog.Operation{}, Updated: []catalog.Operation{}, Deleted: []catalog.Operation{}}
	for _, o := range res.Operations {
		o.APIID = a.ID
		o, err := createOperation(ctx, st, o)
		if err != nil {
			_ = st.DeleteAPI(ctx, a.ID) // undo the partial import
			return nil, err
		}
		rep.Created = append(rep.Created, o)
	}
	return rep, nil
}

func opKey(o catalog.Operation) string { return o.Method + " " + o.URLTemplate }

func reimport(ctx context.Context, st catalog.Store, req Request, res *Result) (*Report, error) {
	a, err := st.GetAPI(ctx, req.APIID)
	if err != nil {
		return nil, err
	}
	stored := a
	if n := strings.TrimSpace(req.Name); n != "" {
		a.Name = n
	}
	if req.PathPrefix != "" {
		a.PathPrefix = req.PathPrefix
	}
	if req.BackendURL != "" {
		a.BackendURL = req.BackendURL
	}
	if req.SubscriptionRequired != nil {
		a.SubscriptionRequired = *req.SubscriptionRequired
	}
	a.Version = version(res.Version)
	a.OpenAPIDoc = req.Document
	if err := setTransport(&a.APITransport, req); err != nil {
		return nil, err
	}
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		return nil, err
	}
	existing, err := st.ListOperations(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	byKey := map[string]catalog.Operation{}
	for _, o := range existing {
		byKey[opKey(o)] = o
	}
	rep := &Report{Created: []catalog.Operation{}, Updated: []catalog.Operation{}, Deleted: []catalog.Operation{}}
	var creates, updates []catalog.Operation
	keep := map[string]bool{}
	for _, o := range res.Operations {
		o.APIID = a.ID
		if old, ok := byKey[opKey(o)]; ok {
			keep[old.ID] = true
			if old.Name != o.Name {
				o.ID = old.ID
				updates = append(updates, o)
			}
			continue
		}
		creates = append(creates, o)
	}
	var deletes []catalog.Operation
	for _, o := range existing {
		if !keep[o.ID] {
			deletes = append(deletes, o)
		}
	}

	// Writes. Deletes first, so new operations may take the names of
	// removed ones.
	if !reflect.DeepEqual(a, stored) { // the same document and settings again: nothing to write
		if a, err = st.UpdateAPI(ctx, a); err != nil {
			return nil, err
		}
	}
	rep.API = a
	for _, o := range deletes {
		if err := st.DeletePolicy(ctx, catalog.ScopeOperation, o.ID); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			return nil, err
		}
		if err := st.DeleteOperation(ctx, o.ID); err != nil {
			return nil, err
		}
		rep.Deleted = append(rep.Deleted, o)
	}
	// Renames may swap names between kept operations: when a new name is
	// still held by another kept operation, park the renamed ones on
	// their (unique) IDs first.
	held := map[string]string{} // name → ID, after the deletes
	for _, o := range existing {
		if keep[o.ID] {
			held[o.Name] = o.ID
		}
	}
	park := false
	for _, o := range updates {
		if id, ok := held[o.Name]; ok && id != o.ID {
			park = true
		}
	}
	if park {
		for _, o := range updates {
			o.Name = "~" + o.ID
			if _, err := st.UpdateOperation(ctx, o); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range updates {
		o, err := st.UpdateOperation(ctx, o)
		if err != nil {
			return nil, err
		}
		rep.Updated = append(rep.Updated, o)
	}
	for _, o := range creates {
		o, err := createOperation(ctx, st, o)
		if err != nil {
			return nil, err
		}
		rep.Created = append(rep.Created, o)
	}
	return rep, nil
}
