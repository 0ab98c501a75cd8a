package portal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
)

var (
	// Raw HTML in Markdown renders as escaped text (rawHTMLAsText), and
	// the output goes through bluemonday's user-content policy anyway.
	md = goldmark.New(goldmark.WithExtensions(extension.GFM),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(rawHTMLAsText{}, 100))))
	sanitizer = bluemonday.UGCPolicy()
)

// maxRendered bounds one rendered schema or example.
const maxRendered = 32 << 10

// renderMarkdown renders untrusted Markdown (API and product descriptions
// come from imported documents) to sanitised HTML.
func renderMarkdown(src string) template.HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	if len(src) > 256<<10 {
		src = src[:256<<10]
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(sanitizer.SanitizeBytes(buf.Bytes()))
}

// apiDoc is an API's OpenAPI document prepared for the reference and the
// console.
type apiDoc struct {
	Title, Version string
	Description    template.HTML
	Tags           []tagGroup
	Error          string
	ops            map[string]*opView // "METHOD /path" -> operation
}

type tagGroup struct {
	Name        string
	Description template.HTML
	Ops         []*opView
}

type opView struct {
	Anchor      string
	Method      string
	Path        string
	OperationID string
	Summary     string
	Description template.HTML
	Deprecated  bool
	Params      []paramView
	Body        []mediaView
	BodyExample string
	BodyType    string
	Responses   []respView
}

type paramView struct {
	Name, In, Type, Example string
	Required                bool
	Description             template.HTML
}

type mediaView struct {
	ContentType, Schema, Example string
}

type respView struct {
	Status      string
	Description template.HTML
	Media       []mediaView
}

// doc returns the prepared document of a, cached by its content; nil when
// a has none.
func (s *Server) doc(a catalog.API) *apiDoc {
	if len(a.OpenAPIDoc) == 0 {
		return nil
	}
	sum := sha256.Sum256(a.OpenAPIDoc)
	key := a.ID + ":" + hex.EncodeToString(sum[:])
	if d, ok := s.docs.Get(key); ok {
		return d
	}
	d := buildDoc(a.OpenAPIDoc)
	s.docs.Add(key, d)
	return d
}

func buildDoc(raw []byte) *apiDoc {
	t, err := oasimport.Load(raw)
	if err != nil {
		return &apiDoc{Error: "The API's OpenAPI document cannot be read: " + err.Error(), ops: map[string]*opView{}}
	}
	d := &apiDoc{ops: map[string]*opView{}}
	if t.Info != nil {
		d.Title, d.Version = t.Info.Title, t.Info.Version
		d.Description = renderMarkdown(t.Info.Description)
	}
	tagDesc := map[string]string{}
	var tagOrder []string
	for _, tg := range t.Tags {
		if tg != nil {
			tagDesc[tg.Name] = tg.Description
			tagOrder = append(tagOrder, tg.Name)
		}
	}
	groups := map[string]*tagGroup{}
	group := func(name string) *tagGroup {
		g := groups[name]
		if g == nil {
			g = &tagGroup{Name: name, Description: renderMarkdown(tagDesc[name])}
			groups[name] = g
		}
		return g
	}
	if t.Paths != nil {
		paths := t.Paths.Map()
		keys := make([]string, 0, len(paths))
		for k := range paths {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, p := range keys {
			item := paths[p]
			if item == nil {
				continue
			}
			ops := item.Operations()
			methods := make([]string, 0, len(ops))
			for m := range ops {
				methods = append(methods, m)
			}
			sort.Strings(methods)
			for _, m := range methods {
				op := ops[m]
				if op == nil {
					continue
				}
				ov := buildOp(strings.ToUpper(m), p, item.Parameters, op)
				d.ops[ov.Method+" "+ov.Path] = ov
				tags := op.Tags
				if len(tags) == 0 {
					tags = []string{"Operations"}
				}
				for _, tg := range tags {
					g := group(tg)
					g.Ops = append(g.Ops, ov)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range tagOrder {
		if g := groups[n]; g != nil && !seen[n] {
			d.Tags = append(d.Tags, *g)
			seen[n] = true
		}
	}
	var rest []string
	for n := range groups {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		d.Tags = append(d.Tags, *groups[n])
	}
	return d
}

func buildOp(method, path string, common openapi3.Parameters, op *openapi3.Operation) *opView {
	ov := &opView{Anchor: "op-" + strings.ToLower(method) + "-" + safeFileName(path), Method: method, Path: path, OperationID: op.OperationID, Summary: op.Summary,
		Description: renderMarkdown(op.Description), Deprecated: op.Deprecated}
	params := map[string]*openapi3.Parameter{}
	var order []string
	for _, list := range []openapi3.Parameters{common, op.Parameters} {
		for _, pr := range list {
			if pr == nil || pr.Value == nil {
				continue
			}
			k := pr.Value.In + ":" + pr.Value.Name
			if _, ok := params[k]; !ok {
				order = append(order, k)
			}
			params[k] = pr.Value
		}
	}
	for _, k := range order {
		p := params[k]
		pv := paramView{Name: p.Name, In: p.In, Required: p.Required, Description: renderMarkdown(p.Description)}
		if p.Schema != nil && p.Schema.Value != nil {
			pv.Type = schemaType(p.Schema.Value)
			if p.Schema.Value.Example != nil {
				pv.Example = scalar(p.Schema.Value.Example)
			} else if p.Schema.Value.Default != nil {
				pv.Example = scalar(p.Schema.Value.Default)
			}
		}
		if p.Example != nil {
			pv.Example = scalar(p.Example)
		}
		ov.Params = append(ov.Params, pv)
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		ov.Body = media(op.RequestBody.Value.Content)
		for _, m := range ov.Body {
			if ov.BodyType == "" || strings.Contains(m.ContentType, "json") {
				ov.BodyType, ov.BodyExample = m.ContentType, m.Example
			}
		}
		if ov.BodyExample == "" && strings.Contains(ov.BodyType, "json") {
			ov.BodyExample = "{}"
		}
	}
	if op.Responses != nil {
		codes := op.Responses.Map()
		keys := make([]string, 0, len(codes))
		for k := range codes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, c := range keys {
			r := codes[c]
			if r == nil || r.Value == nil {
				continue
			}
			rv := respView{Status: c, Media: media(r.Value.Content)}
			if r.Value.Description != nil {
				rv.Description = renderMarkdown(*r.Value.Description)
			}
			ov.Responses = append(ov.Responses, rv)
		}
	}
	return ov
}

func media(c openapi3.Content) []mediaView {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []mediaView
	for _, k := range keys {
		m := c[k]
		if m == nil {
			continue
		}
		mv := mediaView{ContentType: k}
		if m.Schema != nil && m.Schema.Value != nil {
			mv.Schema = pretty(m.Schema.Value)
		}
		switch {
		case m.Example != nil:
			mv.Example = example(m.Example)
		case len(m.Examples) > 0:
			names := make([]string, 0, len(m.Examples))
			for n := range m.Examples {
				names = append(names, n)
			}
			sort.Strings(names)
			if e := m.Examples[names[0]]; e != nil && e.Value != nil {
				mv.Example = example(e.Value.Value)
			}
		case m.Schema != nil && m.Schema.Value != nil && m.Schema.Value.Example != nil:
			mv.Example = example(m.Schema.Value.Example)
		}
		out = append(out, mv)
	}
	return out
}

func schemaType(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return ""
	}
	t := strings.Join(*s.Type, "|")
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	return t
}

func scalar(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func example(v any) string {
	if s, ok := v.(string); ok {
		return clip(s)
	}
	return pretty(v)
}

func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return clip(string(b))
}

func clip(s string) string {
	if len(s) > maxRendered {
		return s[:maxRendered] + "\n… (cut)"
	}
	return s
}

// publishedAPI returns a published API by ID; others are ErrNotFound.
func (s *Server) publishedAPI(ctx context.Context, id string) (catalog.API, *catalogView, error) {
	cv, err := s.published(ctx)
	if err != nil {
		return catalog.API{}, nil, err
	}
	if _, ok := cv.apiByID[id]; !ok {
		return catalog.API{}, nil, errNotFound
	}
	// ListAPIs leaves the documents out; read this one whole.
	a, err := s.st.GetAPI(ctx, id)
	if err != nil {
		return catalog.API{}, nil, err
	}
	return a, cv, nil
}

func (s *Server) apis(w http.ResponseWriter, r *http.Request) error {
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	count, err := s.opCounts(r.Context(), cv)
	if err != nil {
		return err
	}
	type item struct {
		API catalog.API
		Ops int
	}
	var items []item
	for _, a := range cv.apis {
		items = append(items, item{API: a, Ops: count[a.ID]})
	}
	s.render(w, r, http.StatusOK, "apis", map[string]any{"Title": "APIs", "APIs": items})
	return nil
}

// opCounts counts each API's operations, once per catalog version.
func (s *Server) opCounts(ctx context.Context, cv *catalogView) (map[string]int, error) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.opCount != nil {
		return cv.opCount, nil
	}
	ops, err := s.st.ListOperations(ctx, "")
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, o := range ops {
		count[o.APIID]++
	}
	cv.opCount = count
	return count, nil
}

func (s *Server) apiReference(w http.ResponseWriter, r *http.Request) error {
	a, cv, err := s.publishedAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ops, err := s.st.ListOperations(r.Context(), a.ID)
	if err != nil {
		return err
	}
	d := s.doc(a)
	if d == nil {
		d = &apiDoc{ops: map[string]*opView{}}
	}
	// Operations the catalog has but the document lacks still get a row
	// (and a console link).
	type row struct {
		Op   catalog.Operation
		View *opView
	}
	catalogIDs := map[string]string{}
	var bare []catalog.Operation
	for _, o := range ops {
		if _, ok := d.ops[o.Method+" "+o.URLTemplate]; ok {
			catalogIDs[o.Method+" "+o.URLTemplate] = o.ID
		} else {
			bare = append(bare, o)
		}
	}
	var products []catalog.Product
	for _, pid := range cv.apiProduct[a.ID] {
		if p, ok := cv.product(pid); ok {
			products = append(products, p)
		}
	}
	keyHeader := a.KeyHeader
	if keyHeader == "" {
		keyHeader = catalog.DefaultKeyHeader
	}
	s.render(w, r, http.StatusOK, "reference", map[string]any{"Title": a.Name, "API": a, "Doc": d,
		"CatalogIDs": catalogIDs, "Bare": bare, "Products": products, "KeyHeader": keyHeader})
	return nil
}

func (s *Server) downloadDoc(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.publishedAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(a.OpenAPIDoc) == 0 {
		return &statusError{http.StatusNotFound, "This API has no OpenAPI document."}
	}
	ct, ext := "application/yaml", "yaml"
	if t := bytes.TrimSpace(a.OpenAPIDoc); len(t) > 0 && t[0] == '{' {
		ct, ext = "application/json", "json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(a.ID)+`-openapi.`+ext+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(a.OpenAPIDoc)
	return nil
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// consolePage is the interactive console for one operation: inputs
// prefilled from the document, a choice among the viewer's active
// subscriptions that cover the API (keys never in the page), Send.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	a, cv, err := s.publishedAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	op, err := s.st.GetOperation(r.Context(), r.PathValue("op"))
	if err != nil || op.APIID != a.ID {
		return errNotFound
	}
	ov := &opView{Method: op.Method, Path: op.URLTemplate, OperationID: op.Name}
	if d := s.doc(a); d != nil {
		if dv, ok := d.ops[op.Method+" "+op.URLTemplate]; ok {
			ov = dv
		}
	}
	items, err := s.mySubscriptions(r.Context(), v.user.ID, cv)
	if err != nil {
		return err
	}
	var usable []subItem
	for _, it := range items {
		if it.Sub.State != catalog.StateActive {
			continue
		}
		for _, x := range it.APIs {
			if x.ID == a.ID {
				usable = append(usable, it)
				break
			}
		}
	}
	// Path parameters named in the template but not described.
	have := map[string]bool{}
	for _, p := range ov.Params {
		if p.In == "path" {
			have[p.Name] = true
		}
	}
	params := append([]paramView(nil), ov.Params...)
	for _, seg := range strings.Split(op.URLTemplate, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && !have[seg[1:len(seg)-1]] {
			params = append(params, paramView{Name: seg[1 : len(seg)-1], In: "path", Required: true})
		}
	}
	s.render(w, r, http.StatusOK, "console", map[string]any{"Title": "Try " + op.Name, "API": a, "Op": op, "View": ov,
		"Params": params, "Subs": usable, "NeedsKey": a.SubscriptionRequired})
	return nil
}
