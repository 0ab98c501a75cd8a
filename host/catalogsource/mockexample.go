package catalogsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// MockResponsePolicy is the built-in policy answering with an example.
const MockResponsePolicy = "mock-response"

// maxMockExample is the largest example the mock-response policy accepts
// (plugins/mockresponse.MaxExample); a larger document example is not
// filled in, so the policy still loads (with an empty body).
const maxMockExample = 1 << 20

// apiGetter is the part of *sqlite.Store that reads an API with its
// OpenAPI document (Store.ListAPIs leaves documents out). A store without
// it gets no document examples.
type apiGetter interface {
	GetAPI(ctx context.Context, id string) (catalog.API, error)
}

// mockAPIs returns the IDs of the APIs that have an operation whose
// policy document has a built-in mock-response entry without an example.
func mockAPIs(ops []catalog.Operation, docs []catalog.PolicyDoc) []string {
	apiOf := make(map[string]string, len(ops))
	for _, o := range ops {
		apiOf[o.ID] = o.APIID
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		if d.Scope != catalog.ScopeOperation {
			continue
		}
		api, ok := apiOf[d.ScopeID]
		if !ok || seen[api] {
			continue
		}
		for _, sec := range [][]catalog.PolicyEntry{d.Inbound, d.Backend, d.Outbound, d.OnError} {
			for _, e := range sec {
				if e.Base || e.Policy != MockResponsePolicy {
					continue
				}
				if name, _, err := catalog.ParseModuleRef(e.Module); err != nil || name != BuiltinModule {
					continue
				}
				if _, ok := mockConfig(e.Config); ok && !seen[api] {
					seen[api] = true
					out = append(out, api)
				}
			}
		}
	}
	return out
}

// loadExamples reads the OpenAPI documents of apis and returns them loaded,
// by API ID. A document is parsed once per SHA-256 of its bytes; the cache
// keeps the documents of this call only.
func (s *Source) loadExamples(ctx context.Context, apis []string) (map[string]*oasimport.Examples, error) {
	out, _, err := s.loadExamplesReusing(ctx, apis, nil, nil)
	return out, err
}

// loadExamplesReusing is loadExamples taking the documents of the APIs
// in prevKeys (API ID → SHA-256 key of the document the last load read)
// but not in changed from the cache instead of the store. It also returns
// the keys of this call's documents.
func (s *Source) loadExamplesReusing(ctx context.Context, apis []string, prevKeys map[string]string, changed map[string]bool) (map[string]*oasimport.Examples, map[string]string, error) {
	getter, ok := s.store.(apiGetter)
	if !ok || len(apis) == 0 {
		if len(apis) == 0 {
			s.exMu.Lock()
			clear(s.examples)
			s.exMu.Unlock()
		}
		return nil, nil, nil
	}
	out := make(map[string]*oasimport.Examples, len(apis))
	keys := make(map[string]string, len(apis))
	keep := make(map[string]*oasimport.Examples, len(apis))
	for _, id := range apis {
		key, reuse := prevKeys[id]
		if reuse && !changed[id] {
			s.exMu.Lock()
			x, cached := s.examples[key]
			s.exMu.Unlock()
			if cached {
				keys[id], keep[key] = key, x
				if x != nil {
					out[id] = x
				}
				continue
			}
		}
		a, err := getter.GetAPI(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // deleted since ListAPIs: the next version reloads
		}
		if err != nil {
			return nil, nil, err
		}
		if len(a.OpenAPIDoc) == 0 {
			continue
		}
		sum := sha256.Sum256(a.OpenAPIDoc)
		key = hex.EncodeToString(sum[:])
		s.exMu.Lock()
		x, cached := s.examples[key]
		s.exMu.Unlock()
		if !cached {
			x, _ = oasimport.LoadExamples(a.OpenAPIDoc) // nil when it does not load
		}
		keys[id], keep[key] = key, x
		if x != nil {
			out[id] = x
		}
	}
	s.exMu.Lock()
	s.examples = keep
	s.exMu.Unlock()
	return out, keys, nil
}

// fillMockExamples gives the built-in mock-response steps of an
// operation's policy the operation's example (see fillMockExample).
func (m *mapper) fillMockExamples(p *gateway.Policy, apiID, method, tmpl string) {
	x := m.examples[apiID]
	if x == nil {
		return
	}
	for _, sec := range sections(p) {
		for i := range *sec {
			st := &(*sec)[i]
			if st.Base || st.Module != "" || st.Policy != MockResponsePolicy {
				continue
			}
			if cfg, ok := fillMockExample(st.Config, x, method, tmpl); ok {
				st.Config = cfg
			}
		}
	}
}

// mockConfig decodes a mock-response config that has no "example" field
// (any case, as encoding/json matches names); ok is false when it has one
// or is not a JSON object.
func mockConfig(config json.RawMessage) (map[string]json.RawMessage, bool) {
	fields := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(config); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		if err := json.Unmarshal(t, &fields); err != nil || fields == nil {
			return nil, false
		}
	}
	for k := range fields {
		if strings.EqualFold(k, "example") {
			return nil, false
		}
	}
	return fields, true
}

// fillMockExample returns config with "example" set to the example of the
// operation's response for its status_code (default 200) and, when config
// has no content_type, "content_type" set to the example's media type. A
// given content_type selects the media type ("" keeps sending none and
// prefers JSON). ok is false, and config is to be kept, when config has an
// example, does not decode, or the document has no usable example.
func fillMockExample(config json.RawMessage, x *oasimport.Examples, method, tmpl string) (json.RawMessage, bool) {
	fields, ok := mockConfig(config)
	if !ok {
		return nil, false
	}
	status := 200
	var want string
	hasType := false
	for k, v := range fields {
		switch strings.ToLower(k) {
		case "status_code":
			if json.Unmarshal(v, &status) != nil {
				return nil, false
			}
		case "content_type":
			hasType = true
			if json.Unmarshal(v, &want) != nil {
				return nil, false
			}
		}
	}
	body, mt, ok := x.Example(method, tmpl, status, want)
	if !ok || len(body) > maxMockExample || !utf8.Valid(body) {
		return nil, false
	}
	fields["example"], _ = json.Marshal(string(body))
	if !hasType && !strings.ContainsAny(mt, "\r\n\x00") {
		fields["content_type"], _ = json.Marshal(mt)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, false
	}
	return out, true
}
