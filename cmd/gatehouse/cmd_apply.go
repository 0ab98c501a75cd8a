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

	"github.com/gatehouse/gatehouse/catalog/declarative"
)

func applyCommand() *cli.Command {
	return leaf("apply", "make the catalog match a declarative document (see docs/declarative.md)", "", []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "catalog document, YAML or JSON (- for stdin)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "only print the changes"},
		&cli.BoolFlag{Name: "prune", Usage: "also delete what the document does not list"},
	}, func(e *cmdEnv) error {
		if err := e.want(0, 0); err != nil {
			return err
		}
		file := e.c.String("file")
		if file == "" {
			return usageError{fmt.Errorf("apply: -f FILE is required")}
		}
		b, err := readInput(file, declarative.MaxDocumentSize)
		if err != nil {
			return err
		}
		ct := "application/yaml"
		if ext := strings.ToLower(filepath.Ext(file)); ext == ".json" || (ext != ".yaml" && ext != ".yml" && json.Valid(b)) {
			ct = "application/json"
		}
		// Certificates' keyFile: read here, next to the document, and sent
		// inline (the admin API never reads files a request names).
		dir := ""
		if file != "-" {
			dir = filepath.Dir(file)
		}
		if rb, changed, err := declarative.ResolveKeyFiles(b, dir); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		} else if changed {
			b, ct = rb, "application/yaml"
		}
		q := url.Values{"dryRun": {strconv.FormatBool(e.c.Bool("dry-run"))}, "prune": {strconv.FormatBool(e.c.Bool("prune"))}}
		cl, err := e.client()
		if err != nil {
			return err
		}
		label := "applying"
		if e.c.Bool("dry-run") {
			label = "planning"
		}
		stop := spinner(e.errw, label)
		raw, err := cl.send(adminRequest{method: "POST", path: "/apply", query: q, body: bytes.NewReader(b), size: int64(len(b)), contentType: ct})
		stop()
		if err != nil {
			return err
		}
		return e.emit(raw, func(w io.Writer) error {
			var res struct {
				Changes []struct {
					Action string `json:"action"`
					Kind   string `json:"kind"`
					Key    string `json:"key"`
					Diff   string `json:"diff"`
				} `json:"changes"`
				Applied bool `json:"applied"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("the admin API answered an unexpected apply admResult: %v", err)
			}
			for _, c := range res.Changes {
				fmt.Fprintf(w, "%s\t%s\t%s\n", c.Action, c.Kind, c.Key)
				for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
					if l != "" {
						fmt.Fprintf(w, "\t\t  %s\n", l)
					}
				}
			}
			switch {
			case len(res.Changes) == 0:
				fmt.Fprintln(w, "no changes: the catalog matches the document")
			case res.Applied:
				fmt.Fprintf(w, "%d changes applied\n", len(res.Changes))
			default:
				fmt.Fprintf(w, "%d changes planned (dry run: nothing applied)\n", len(res.Changes))
			}
			return nil
		})
	})
}

func exportCommand() *cli.Command {
	return leaf("export", "print the catalog as a declarative document (YAML unless -o json)", "", nil, func(e *cmdEnv) error {
		if err := e.want(0, 0); err != nil {
			return err
		}
		accept := "application/yaml"
		if e.format == "json" {
			accept = "application/json"
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		raw, err := cl.send(adminRequest{method: "GET", path: "/export", accept: accept})
		if err != nil {
			return err
		}
		if e.format == "json" && json.Valid(raw) {
			return printJSON(e.out, raw)
		}
		_, err = e.out.Write(raw)
		if err == nil && len(raw) > 0 && raw[len(raw)-1] != '\n' {
			_, err = io.WriteString(e.out, "\n")
		}
		return err
	})
}

func auditCommand() *cli.Command {
	return leaf("audit", "show the newest catalog writes", "", []cli.Flag{
		&cli.IntFlag{Name: "limit", Value: 100, Usage: "how many entries (at most 1000)"},
	}, func(e *cmdEnv) error {
		if err := e.want(0, 0); err != nil {
			return err
		}
		if n := e.c.Int("limit"); n < 1 || n > 1000 {
			return usageError{fmt.Errorf("--limit must be between 1 and 1000, not %d", n)}
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		raw, err := cl.call("GET", "/audit", url.Values{"limit": {strconv.Itoa(e.c.Int("limit"))}}, nil)
		if err != nil {
			return err
		}
		return e.list(raw, tableCols("ID", "id", "AT", "at", "ACTOR", "actor", "ACTION", "action", "ENTITY", "entity", "ENTITY ID", "entityId", "VERSION", "version", "DETAIL", "detail"))
	})
}

func catalogVersionCommand() *cli.Command {
	return leaf("catalog-version", "print the catalog version (bumped by every write)", "", nil, func(e *cmdEnv) error {
		if err := e.want(0, 0); err != nil {
			return err
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		raw, err := cl.call("GET", "/version", nil, nil)
		if err != nil {
			return err
		}
		return e.emit(raw, func(w io.Writer) error {
			var v struct {
				Version int64 `json:"version"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			fmt.Fprintln(w, v.Version)
			return nil
		})
	})
}
