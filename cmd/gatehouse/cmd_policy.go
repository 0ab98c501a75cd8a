package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
)

var policySections = []string{"inbound", "backend", "outbound", "onError"}

func sectionFlag() cli.Flag {
	return &cli.StringFlag{Name: "section", Value: "inbound", Usage: "inbound, backend, outbound or onError"}
}

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "manage policy documents (SCOPE is global, product ID, api ID or operation ID)",
		Subcommands: []*cli.Command{
			leaf("list", "list every policy document", "", nil, func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := e.listPaged(cl, "/policies", nil)
				if err != nil {
					return err
				}
				arr, ms, err := listItems(raw)
				if err != nil {
					return err
				}
				return e.emit(arr, func(w io.Writer) error {
					for _, m := range ms {
						for _, s := range policySections {
							l, _ := m[s].([]any)
							m[s] = int64(len(l))
						}
					}
					printTable(w, ms, tableCols("SCOPE", "scope", "SCOPE ID", "scopeId", "INBOUND", "inbound", "BACKEND", "backend", "OUTBOUND", "outbound", "ON ERROR", "onError"))
					return nil
				})
			}),
			leaf("get", "show the policy document of a scope", "SCOPE [ID]", nil, func(e *cmdEnv) error {
				path, _, err := scopeArgs(e, nil)
				if err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", path, nil, nil)
				if err != nil {
					return err
				}
				return e.policy(raw)
			}),
			leaf("set", "replace the policy document of a scope", "SCOPE [ID]", []cli.Flag{
				&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "policy document, YAML or JSON (- for stdin)"},
			}, policySet),
			leaf("delete", "delete the policy document of a scope", "SCOPE [ID]", nil, func(e *cmdEnv) error {
				path, _, err := scopeArgs(e, nil)
				if err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("DELETE", path, nil, nil)
				if err != nil {
					return err
				}
				return e.done(raw, "deleted the policy of %s", strings.Join(e.args, " "))
			}),
			leaf("attach", "add one entry to a section", "SCOPE [ID]", []cli.Flag{
				sectionFlag(),
				&cli.StringFlag{Name: "module", Usage: "module reference, name or name@version (builtin for the built-in policies)"},
				&cli.StringFlag{Name: "policy", Usage: "policy of the module (default: its default policy)"},
				&cli.StringFlag{Name: "config", Usage: "policy config as JSON (or @FILE, JSON or YAML)"},
				&cli.IntFlag{Name: "position", Usage: "insert at this index (default: append)"},
				&cli.StringFlag{Name: "fail-mode", Usage: "closed (default), open or fallback"},
				&cli.StringFlag{Name: "fallback", Usage: "module reference run when fail mode is fallback"},
				&cli.BoolFlag{Name: "base", Usage: "attach a base entry (where the parent scope's section runs)"},
			}, policyAttach),
			leaf("detach", "remove the entry at INDEX from a section", "SCOPE [ID] INDEX", []cli.Flag{sectionFlag()}, func(e *cmdEnv) error {
				path, idx, err := scopeArgs(e, []string{"INDEX"})
				if err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("DELETE", path+"/"+pathSeg(e.c.String("section"))+"/"+idx[0], nil, nil)
				if err != nil {
					return err
				}
				return e.policyOrDone(raw, "detached %s[%s]", e.c.String("section"), idx[0])
			}),
			leaf("move", "move the entry at INDEX of a section to --to", "SCOPE [ID] INDEX", []cli.Flag{
				sectionFlag(),
				&cli.IntFlag{Name: "to", Usage: "new index"},
			}, func(e *cmdEnv) error {
				path, idx, err := scopeArgs(e, []string{"INDEX"})
				if err != nil {
					return err
				}
				if !e.c.IsSet("to") {
					return usageError{fmt.Errorf("policy move: --to is required")}
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("POST", path+"/"+pathSeg(e.c.String("section"))+"/"+idx[0]+"/move", nil, map[string]any{"to": e.c.Int("to")})
				if err != nil {
					return err
				}
				return e.policyOrDone(raw, "moved %s[%s] to %d", e.c.String("section"), idx[0], e.c.Int("to"))
			}),
			leaf("effective", "show the merged policy an operation runs", "API OPERATION", []cli.Flag{
				&cli.StringFlag{Name: "product", Usage: "as called through this product's subscription"},
			}, func(e *cmdEnv) error {
				if err := e.want(2, 2); err != nil {
					return err
				}
				q := url.Values{}
				if p := e.c.String("product"); p != "" {
					q.Set("productId", p)
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", "/apis/"+pathSeg(e.args[0])+"/operations/"+pathSeg(e.args[1])+"/effective-policy", q, nil)
				if err != nil {
					return err
				}
				return e.policy(raw)
			}),
		},
	}
}

// scopeArgs parses SCOPE [ID] followed by the named extra arguments and
// returns the policy document's path.
func scopeArgs(e *cmdEnv, extra []string) (string, []string, error) {
	bad := func(format string, a ...any) error {
		return usageError{fmt.Errorf("%s: %s", e.c.Command.FullName(), fmt.Sprintf(format, a...))}
	}
	if len(e.args) == 0 {
		return "", nil, bad("want %s", e.c.Command.ArgsUsage)
	}
	var path string
	rest := e.args[1:]
	switch scope := e.args[0]; scope {
	case "global":
		path = "/policies/global"
	case "product", "api", "operation":
		if len(rest) == 0 {
			return "", nil, bad("scope %s needs an ID", scope)
		}
		path = "/policies/" + scope + "/" + pathSeg(rest[0])
		rest = rest[1:]
	default:
		return "", nil, bad("scope must be global, product, api or operation, not %q", scope)
	}
	if len(rest) != len(extra) {
		return "", nil, bad("want %s, got %d arguments", e.c.Command.ArgsUsage, len(e.args))
	}
	for i, name := range extra {
		if name == "INDEX" {
			if _, err := strconv.Atoi(rest[i]); err != nil {
				return "", nil, bad("INDEX must be a number, not %q", rest[i])
			}
		}
	}
	if s := e.c.String("section"); e.c.Command.Name != "get" && findFlag(e.c.Command.Flags, "section") != nil && !hasString(policySections, s) {
		return "", nil, bad("--section must be inbound, backend, outbound or onError, not %q", s)
	}
	return path, rest, nil
}

// policy prints a policy document (or an effective policy) as one table
// row per entry.
func (e *cmdEnv) policy(raw []byte) error {
	return e.emit(raw, func(w io.Writer) error {
		v, err := decodeGeneric(raw)
		if err != nil {
			return err
		}
		doc, _ := v.(map[string]any)
		if doc == nil {
			return fmt.Errorf("the admin API answered %q, not a policy document", clip(string(raw), 80))
		}
		if s, ok := doc["scope"].(string); ok {
			fmt.Fprintf(w, "scope:\t%s", s)
			if id, _ := doc["scopeId"].(string); id != "" {
				fmt.Fprintf(w, " %s", id)
			}
			fmt.Fprintln(w)
		}
		for _, k := range []string{"apiId", "operationId", "productId"} {
			if id, _ := doc[k].(string); id != "" {
				fmt.Fprintf(w, "%s:\t%s\n", k, id)
			}
		}
		var rows []map[string]any
		withScope := false
		for _, s := range policySections {
			l, _ := doc[s].([]any)
			for i, x := range l {
				m, _ := x.(map[string]any)
				if m == nil {
					continue
				}
				row := map[string]any{"section": s, "index": int64(i), "module": m["module"], "policy": m["policy"], "failMode": m["failMode"]}
				if b, _ := m["base"].(bool); b {
					row["module"] = "(base)"
				}
				if fb, _ := m["fallback"].(string); fb != "" {
					row["failMode"] = cellText(m["failMode"]) + " -> " + fb
				}
				if c, ok := m["config"]; ok {
					b, _ := json.Marshal(c)
					row["config"] = clip(string(b), 60)
				}
				if sc, ok := m["scope"].(string); ok {
					withScope = true
					if id, _ := m["scopeId"].(string); id != "" {
						sc += " " + id
					}
					row["from"] = sc
				}
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			fmt.Fprintln(w, "(no policy entries)")
			return nil
		}
		c := tableCols("SECTION", "section", "#", "index")
		if withScope {
			c = append(c, tableCol{"FROM", "from"})
		}
		c = append(c, tableCols("MODULE", "module", "POLICY", "policy", "FAIL MODE", "failMode", "CONFIG", "config")...)
		printTable(w, rows, c)
		return nil
	})
}

// policyOrDone prints the answer of a policy edit: the document when the
// server answers one, else msg.
func (e *cmdEnv) policyOrDone(raw []byte, msg string, args ...any) error {
	if len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{' {
		return e.policy(raw)
	}
	return e.done(raw, msg, args...)
}

// toJSON returns b as JSON, converting YAML.
func toJSON(b []byte, name string) ([]byte, error) {
	if json.Valid(b) {
		return b, nil
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: neither JSON nor YAML: %v", name, err)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return json.Marshal(v)
}

// jsonable turns YAML-decoded values into values encoding/json accepts.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("mapping key %v is not a string", k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = j
		}
		return m, nil
	case []any:
		for i, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
	}
	return v, nil
}

func policySet(e *cmdEnv) error {
	path, _, err := scopeArgs(e, nil)
	if err != nil {
		return err
	}
	file := e.c.String("file")
	if file == "" {
		return usageError{fmt.Errorf("policy set: -f FILE is required")}
	}
	b, err := readInput(file, 1<<20)
	if err != nil {
		return err
	}
	if ext := strings.ToLower(filepath.Ext(file)); ext == ".yaml" || ext == ".yml" || !json.Valid(b) {
		if b, err = toJSON(b, file); err != nil {
			return err
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc == nil {
		return fmt.Errorf("%s: a policy document must be an object with inbound, backend, outbound and onError lists", file)
	}
	// The scope comes from the arguments when the file does not name it.
	if _, ok := doc["scope"]; !ok {
		doc["scope"] = e.args[0]
		if e.args[0] != "global" {
			doc["scopeId"] = e.args[1]
		}
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("PUT", path, nil, doc)
	if err != nil {
		return err
	}
	return e.policyOrDone(raw, "policy of %s set", strings.Join(e.args, " "))
}

func policyAttach(e *cmdEnv) error {
	path, _, err := scopeArgs(e, nil)
	if err != nil {
		return err
	}
	entry := map[string]any{}
	if e.c.Bool("base") {
		if e.c.String("module") != "" {
			return usageError{fmt.Errorf("policy attach: --base and --module exclude each other")}
		}
		entry["base"] = true
	} else if e.c.String("module") == "" {
		return usageError{fmt.Errorf("policy attach: --module (or --base) is required")}
	}
	setFlags(e.c, entry, map[string]string{"module": "module", "policy": "policy", "fail-mode": "failMode", "fallback": "fallback"})
	if cfg := e.c.String("config"); cfg != "" {
		b := []byte(cfg)
		name := "--config"
		if strings.HasPrefix(cfg, "@") {
			name = cfg[1:]
			if b, err = readInput(name, 1<<20); err != nil {
				return err
			}
		}
		if b, err = toJSON(b, name); err != nil {
			return usageError{err}
		}
		entry["config"] = json.RawMessage(b)
	}
	body := map[string]any{"entry": entry}
	if e.c.IsSet("position") {
		body["position"] = e.c.Int("position")
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("POST", path+"/"+pathSeg(e.c.String("section")), nil, body)
	if err != nil {
		return err
	}
	return e.policyOrDone(raw, "attached to %s", e.c.String("section"))
}
