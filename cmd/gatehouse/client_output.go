package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// tableCol is one column of a table: a header and the JSON field it shows.
type tableCol struct {
	header string
	field  string
}

func tableCols(pairs ...string) []tableCol {
	out := make([]tableCol, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, tableCol{pairs[i], pairs[i+1]})
	}
	return out
}

// emit prints raw JSON in the json or yaml format; table calls table.
func (e *cmdEnv) emit(raw []byte, table func(w io.Writer) error) error {
	switch e.format {
	case "json":
		return printJSON(e.out, raw)
	case "yaml":
		return printYAML(e.out, raw)
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	if err := table(tw); err != nil {
		return err
	}
	return tw.Flush()
}

func printJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("null")
	}
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("the admin API answered invalid JSON: %v", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func printYAML(w io.Writer, raw []byte) error {
	v, err := decodeGeneric(raw)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// decodeGeneric decodes JSON keeping integers as integers.
func decodeGeneric(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the admin API answered invalid JSON: %v", err)
	}
	return jsonNumbers(v), nil
}

func jsonNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// items returns the "items" of a list answer.
func listItems(raw []byte) ([]byte, []map[string]any, error) {
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, nil, fmt.Errorf("the admin API answered an unexpected list: %v", err)
	}
	if len(l.Items) == 0 || string(l.Items) == "null" {
		l.Items = []byte("[]")
	}
	var ms []map[string]any
	v, err := decodeGeneric(l.Items)
	if err != nil {
		return nil, nil, err
	}
	arr, _ := v.([]any)
	for _, it := range arr {
		m, _ := it.(map[string]any)
		ms = append(ms, m)
	}
	return l.Items, ms, nil
}

// list prints a list answer: its items as a table with the given columns,
// or the items array in json and yaml.
func (e *cmdEnv) list(raw []byte, columns []tableCol) error {
	arr, ms, err := listItems(raw)
	if err != nil {
		return err
	}
	return e.emit(arr, func(w io.Writer) error {
		printTable(w, ms, columns)
		return nil
	})
}

func printTable(w io.Writer, ms []map[string]any, columns []tableCol) {
	hs := make([]string, len(columns))
	for i, c := range columns {
		hs[i] = c.header
	}
	fmt.Fprintln(w, strings.Join(hs, "\t"))
	for _, m := range ms {
		vs := make([]string, len(columns))
		for i, c := range columns {
			vs[i] = cellText(m[c.field])
		}
		fmt.Fprintln(w, strings.Join(vs, "\t"))
	}
}

// cell renders one value for a table.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		if len(x) == 0 {
			return "-"
		}
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = cellText(p)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// object prints one entity: "field: value" lines in the answer's order in
// a table, skipping the named fields.
func (e *cmdEnv) object(raw []byte, skip ...string) error {
	return e.emit(raw, func(w io.Writer) error { return printKV(w, raw, skip...) })
}

func printKV(w io.Writer, raw []byte, skip ...string) error {
	keys, vals, err := orderedFields(raw)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if hasString(skip, k) {
			continue
		}
		v, _ := decodeGeneric(vals[i])
		fmt.Fprintf(w, "%s:\t%s\n", k, cellText(v))
	}
	return nil
}

// orderedFields returns the top-level fields of a JSON object in order.
func orderedFields(raw []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("the admin API answered %q, not an object", clip(string(raw), 80))
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals, nil
}

func hasString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// done prints a confirmation of a write without a body to show: json and
// yaml print the answer when there is one.
func (e *cmdEnv) done(raw []byte, msg string, args ...any) error {
	if e.format != "table" && len(bytes.TrimSpace(raw)) > 0 {
		return e.emit(raw, nil)
	}
	if e.format != "table" {
		return nil
	}
	_, err := fmt.Fprintf(e.out, msg+"\n", args...)
	return err
}
