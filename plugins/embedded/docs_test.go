package embedded_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/embedded"
)

var (
	// A row of a docs/policies config table: | `field` | … | default | … |
	tableRow = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|(.*)$")
	// A field of the commented config block copied from a package doc.
	blockField = regexp.MustCompile(`^ {4,}"([a-z0-9_]+)":`)
)

// TestDocFields checks that each docs/policies page documents exactly the
// fields of its schema, and marks as required exactly the required ones
// (where the page has a table with a default column).
func TestDocFields(t *testing.T) {
	for _, p := range embedded.Policies() {
		b, err := os.ReadFile("../../docs/policies/" + p.Name + ".md")
		if err != nil {
			t.Error(err)
			continue
		}
		var s struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		if err := json.Unmarshal(p.ConfigSchema, &s); err != nil {
			t.Fatal(err)
		}
		var props []string
		for k := range s.Properties {
			props = append(props, k)
		}
		sort.Strings(props)

		var fields, required []string
		inTable, inBlock, sawTable := false, false, false
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "| field |"):
				inTable, sawTable = true, true
			case inTable && !strings.HasPrefix(line, "|"):
				inTable = false
			case inTable:
				if m := tableRow.FindStringSubmatch(line); m != nil {
					fields = append(fields, m[1])
					for _, cell := range strings.Split(m[2], "|") {
						if strings.TrimSpace(cell) == "required" {
							required = append(required, m[1])
						}
					}
				}
			case line == "Config:":
				inBlock = true
			case inBlock && strings.TrimSpace(line) == "}":
				inBlock = false
			case inBlock:
				if m := blockField.FindStringSubmatch(line); m != nil && !sawTable {
					fields = append(fields, m[1])
					if strings.Contains(line, "// required") && !strings.Contains(line, "// required unless") {
						required = append(required, m[1])
					}
				}
			}
		}
		sort.Strings(fields)
		sort.Strings(required)
		want := slices.Clone(s.Required)
		sort.Strings(want)
		if !slices.Equal(fields, props) {
			t.Errorf("%s: the page documents %v, the schema has %v", p.Name, fields, props)
		}
		if !slices.Equal(required, want) {
			t.Errorf("%s: the page marks %v required, the schema %v", p.Name, required, want)
		}
	}
}
