package adminapi

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// compileSchema compiles a JSON Schema (draft 2020-12 unless it says
// otherwise). Remote references are not loaded.
func compileSchema(raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	const loc = "mem:///config.schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// noLoader refuses every external schema reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not supported (%s)", url)
}

// schemaCache caches compiled config schemas by module sha256 + policy.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*jsonschema.Schema
}

func (c *schemaCache) get(key string, raw []byte) (*jsonschema.Schema, error) {
	c.mu.Lock()
	sch, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return sch, nil
	}
	sch, err := compileSchema(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*jsonschema.Schema{}
	}
	c.m[key] = sch
	c.mu.Unlock()
	return sch, nil
}

// validateConfig validates config against sch; failures are field
// messages with paths under base (e.g. "inbound[0].config.limit").
func validateConfig(sch *jsonschema.Schema, base string, config []byte) []fieldMsg {
	if len(config) == 0 {
		config = []byte("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(config))
	if err != nil {
		return []fieldMsg{{Path: base, Message: "must be valid JSON"}}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []fieldMsg{{Path: base, Message: err.Error()}}
	}
	var out []fieldMsg
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, fieldMsg{Path: instancePath(base, e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

var identRe = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*$`)

// instancePath renders a JSON pointer's tokens as a dotted path.
func instancePath(base string, loc []string) string {
	p := base
	for _, t := range loc {
		switch {
		case isIndex(t):
			p += "[" + t + "]"
		case identRe.MatchString(t):
			p += "." + t
		default:
			p += "[" + strconv.Quote(t) + "]"
		}
	}
	return p
}

func isIndex(t string) bool {
	if t == "" {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
