package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// maxDocument is the size limit of an OpenAPI document, as on the server.
const maxDocument = 8 << 20

var apiCols = tableCols("ID", "id", "NAME", "name", "PATH", "pathPrefix", "BACKEND", "backendUrl", "SUBSCRIPTION", "subscriptionRequired", "REVISION", "revision")

var opCols = tableCols("ID", "id", "METHOD", "method", "URL TEMPLATE", "urlTemplate", "NAME", "name")

func apiCommand() *cli.Command {
	return &cli.Command{
		Name:  "api",
		Usage: "manage APIs",
		Subcommands: []*cli.Command{
			leaf("list", "list APIs", "", nil, func(e *cmdEnv) error {
				return listCmd(e, "/apis", apiCols)
			}),
			leaf("get", "show one API", "ID", nil, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", "/apis/"+pathSeg(e.args[0]), nil, nil)
				if err != nil {
					return err
				}
				return apiObject(e, raw)
			}),
			leaf("delete", "delete an API", "ID", nil, func(e *cmdEnv) error {
				return deleteCmd(e, "/apis/", "api")
			}),
			leaf("create", "create an API", "", apiFlags(), func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				body := map[string]any{}
				setFlags(e.c, body, apiFields)
				if err := applyTransportFlags(e.c, body); err != nil { // cmd_api_transport.go
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("POST", "/apis", nil, body)
				if err != nil {
					return err
				}
				return apiObject(e, raw)
			}),
			leaf("update", "change an API (only the given flags)", "ID", apiFlags()[1:], apiUpdate),
			leaf("import", "import an OpenAPI document (creates the API, or re-imports into --id)", "", append([]cli.Flag{
				&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "OpenAPI document (JSON or YAML; - for stdin)"},
				&cli.StringFlag{Name: "url", Usage: "fetch the OpenAPI document from this URL"},
				&cli.StringFlag{Name: "id", Usage: "re-import into this existing API (default: create a new API)"},
				&cli.StringFlag{Name: "name", Usage: "API name (default: the document's title)"},
				&cli.StringFlag{Name: "path", Usage: "path prefix"},
				&cli.StringFlag{Name: "backend", Usage: "backend URL (default: the document's first server)"},
				&cli.BoolFlag{Name: "subscription-required", Usage: "require a subscription key"},
			}, transportFlags()...), apiImport), // transport flags: cmd_api_transport.go
			leaf("operations", "list the operations of an API", "ID", nil, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				return listCmd(e, "/apis/"+pathSeg(e.args[0])+"/operations", opCols)
			}),
		},
	}
}

var apiFields = map[string]string{
	"id": "id", "name": "name", "path": "pathPrefix", "backend": "backendUrl", "version": "version",
	"subscription-required": "subscriptionRequired", "key-header": "keyHeader", "key-query": "keyQuery", "allow-query-key": "allowQueryKey",
	"egress-allow": "egressAllow",
	// inverted: --console-trace=false stores consoleTraceDisabled: true
	"console-trace": "!consoleTraceDisabled",
}

func apiFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "id", Usage: "API ID (generated when omitted)"},
		&cli.StringFlag{Name: "name", Usage: "API name"},
		&cli.StringFlag{Name: "path", Usage: "path prefix, e.g. /orders"},
		&cli.StringFlag{Name: "backend", Usage: "backend base URL"},
		&cli.StringFlag{Name: "version", Usage: "API version label"},
		&cli.BoolFlag{Name: "subscription-required", Usage: "require a subscription key"},
		&cli.StringFlag{Name: "key-header", Usage: "header carrying the subscription key"},
		&cli.StringFlag{Name: "key-query", Usage: "query parameter carrying the subscription key"},
		&cli.BoolFlag{Name: "allow-query-key", Usage: "accept the key in the query"},
		&cli.StringSliceFlag{Name: "egress-allow", Usage: "what backends set by this API's policies, and redirects, may reach on private networks: CIDR, address, host[:port] or *.domain (repeat; replaces the list; docs/egress.md)"},
		&cli.BoolFlag{Name: "console-trace", Usage: "let developer portal console calls ask for a policy trace (default true; --console-trace=false switches it off)"},
	}, transportFlags()...)
}

// setFlags copies the flags that were set into body under their JSON names.
func setFlags(c *cli.Context, body map[string]any, names map[string]string) {
	for flag, field := range names {
		if !c.IsSet(flag) {
			continue
		}
		switch f := findFlag(c.Command.Flags, flag).(type) {
		case *cli.BoolFlag:
			if inv, ok := strings.CutPrefix(field, "!"); ok {
				body[inv] = !c.Bool(flag)
				continue
			}
			body[field] = c.Bool(flag)
		case *cli.IntFlag:
			body[field] = c.Int(flag)
		case *cli.StringSliceFlag:
			body[field] = c.StringSlice(flag)
		default:
			_ = f
			body[field] = c.String(flag)
		}
	}
}

func listCmd(e *cmdEnv, path string, columns []tableCol) error {
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := e.listPaged(cl, path, nil)
	if err != nil {
		return err
	}
	return e.list(raw, columns)
}

// getCmd shows the entity at prefix + the first argument.
func getCmd(e *cmdEnv, prefix string, skip ...string) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("GET", prefix+pathSeg(e.args[0]), nil, nil)
	if err != nil {
		return err
	}
	return e.object(raw, skip...)
}

func deleteCmd(e *cmdEnv, prefix, what string) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("DELETE", prefix+pathSeg(e.args[0]), nil, nil)
	if err != nil {
		return err
	}
	return e.done(raw, "deleted %s %s", what, e.args[0])
}

// readInput reads a file, or stdin for "-", up to limit bytes.
func readInput(path string, limit int64) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, limit>>20)
	}
	return b, nil
}

// fetchDocument downloads a document with a 10 s timeout and an 8 MiB cap.
func fetchDocument(u string) ([]byte, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(u)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %v", u, err)
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("fetching %s: document larger than 8 MiB", u)
	}
	return b, nil
}

func apiImport(e *cmdEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	file, u := e.c.String("file"), e.c.String("url")
	if (file == "") == (u == "") {
		return usageError{fmt.Errorf("api import: give exactly one of -f FILE and --url URL")}
	}
	var doc []byte
	var err error
	if file != "" {
		doc, err = readInput(file, maxDocument)
	} else {
		doc, err = fetchDocument(u)
	}
	if err != nil {
		return err
	}
	body := map[string]any{"document": string(doc)}
	setFlags(e.c, body, map[string]string{"id": "apiId", "name": "name", "path": "pathPrefix", "backend": "backendUrl", "subscription-required": "subscriptionRequired"})
	if _, err := checkTransportFlags(e.c); err != nil {
		return err // before any call
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	if err := importTransport(e.c, cl, body); err != nil {
		return err
	}
	raw, err := cl.call("POST", "/apis/import", nil, body)
	if err != nil {
		return err
	}
	return e.emit(raw, func(w io.Writer) error {
		var res struct {
			API map[string]any `json:"api"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		fmt.Fprintf(w, "api %s (%s) at %s -> %s\n", cellText(res.API["id"]), cellText(res.API["name"]), cellText(res.API["pathPrefix"]), cellText(res.API["backendUrl"]))
		var ms []map[string]any
		for _, k := range []string{"created", "updated", "deleted"} {
			for _, op := range opsOf(raw, k) {
				op["change"] = k
				ms = append(ms, op)
			}
		}
		fmt.Fprintf(w, "%d operations created, %d updated, %d deleted\n", len(opsOf(raw, "created")), len(opsOf(raw, "updated")), len(opsOf(raw, "deleted")))
		if len(ms) > 0 {
			printTable(w, ms, tableCols("CHANGE", "change", "ID", "id", "METHOD", "method", "URL TEMPLATE", "urlTemplate", "NAME", "name"))
		}
		return nil
	})
}

// opsOf returns the operations listed under key in an import answer.
func opsOf(raw []byte, key string) []map[string]any {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	v, _ := decodeGeneric(m[key])
	arr, _ := v.([]any)
	var out []map[string]any
	for _, x := range arr {
		if o, ok := x.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}
