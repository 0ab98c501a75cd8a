package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// maxModule is the size limit of an uploaded module, as on the server.
const maxModule = 32 << 20

var moduleCols = tableCols("NAME", "name", "VERSION", "version", "ABI", "abiVersion", "REQUESTED", "capabilities", "GRANTED", "granted", "MISSING", "missingGrants", "SHA256", "sha256", "CREATED", "createdAt")

func pluginListCommand() *cli.Command {
	return leaf("list", "list the modules uploaded to the admin API", "", nil, func(e *cmdEnv) error {
		if err := e.want(0, 0); err != nil {
			return err
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		raw, err := e.listPaged(cl, "/modules", nil)
		if err != nil {
			return err
		}
		arr, ms, err := listItems(raw)
		if err != nil {
			return err
		}
		return e.emit(arr, func(w io.Writer) error {
			for _, m := range ms {
				man, _ := m["manifest"].(map[string]any)
				m["abiVersion"], m["capabilities"] = man["abiVersion"], man["capabilities"]
				if eg, _ := man["egress"].([]any); len(eg) > 0 {
					m["capabilities"] = append(anyList(man["capabilities"]), prefixed("egress:", eg)...)
				}
				g, _ := m["grant"].(map[string]any)
				m["granted"] = append(anyList(g["capabilities"]), prefixed("egress:", anyList(g["egress"]))...)
				if s, _ := m["sha256"].(string); len(s) > 12 {
					m["sha256"] = s[:12]
				}
			}
			printTable(w, ms, moduleCols)
			// Then every policy the modules provide (a multi-policy module
			// such as builtin lists its policies in its manifest).
			var pols []map[string]any
			for _, m := range ms {
				ref := fmt.Sprint(m["name"], "@", m["version"])
				man, _ := m["manifest"].(map[string]any)
				list, _ := man["policies"].([]any)
				if len(list) == 0 {
					pols = append(pols, map[string]any{"policy": m["name"], "version": m["version"], "module": ref})
					continue
				}
				for _, p := range list {
					p, _ := p.(map[string]any)
					v := p["version"]
					if v == nil || v == "" {
						v = m["version"]
					}
					desc, _ := p["description"].(string)
					if i := strings.Index(desc, ". "); i > 0 {
						desc = desc[:i+1]
					}
					if len(desc) > 72 {
						desc = desc[:69] + "..."
					}
					pols = append(pols, map[string]any{"policy": p["name"], "version": v, "module": ref, "description": desc})
				}
			}
			fmt.Fprintln(w)
			printTable(w, pols, []tableCol{{"POLICY", "policy"}, {"VERSION", "version"}, {"MODULE", "module"}, {"DESCRIPTION", "description"}})
			return nil
		})
	})
}

func pluginUploadCommand() *cli.Command {
	return leaf("upload", "upload a .wasm policy module to the admin API", "FILE.wasm", []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "module name"},
		&cli.StringFlag{Name: "version", Usage: "module version (MAJOR.MINOR.PATCH)"},
		&cli.StringFlag{Name: "manifest", Usage: "manifest file (JSON: configSchema, limits, egress)"},
		&cli.StringFlag{Name: "grant", Usage: "grant at upload: all (every capability and egress the module requests) or capabilities separated by commas"},
	}, func(e *cmdEnv) error {
		if err := e.want(1, 1); err != nil {
			return err
		}
		name, ver := e.c.String("name"), e.c.String("version")
		if name == "" || ver == "" {
			return usageError{fmt.Errorf("plugin upload: --name and --version are required")}
		}
		path := e.args[0]
		wasm, err := readInput(path, maxModule)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("name", name)
		mw.WriteField("version", ver)
		if g := e.c.String("grant"); g != "" {
			mw.WriteField("grant", g)
		}
		if mf := e.c.String("manifest"); mf != "" {
			b, err := readInput(mf, 1<<20)
			if err != nil {
				return err
			}
			if !json.Valid(b) {
				return fmt.Errorf("%s: the manifest is not valid JSON", mf)
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="manifest"`)
			h.Set("Content-Type", "application/json")
			pw, _ := mw.CreatePart(h)
			pw.Write(b)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="wasm"; filename=%q`, filepath.Base(path)))
		h.Set("Content-Type", "application/wasm")
		pw, _ := mw.CreatePart(h)
		pw.Write(wasm)
		if err := mw.Close(); err != nil {
			return err
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		size := int64(buf.Len())
		body := newProgressReader(&buf, e.errw, "uploading "+name+"@"+ver, size)
		raw, err := cl.send(adminRequest{method: "POST", path: "/modules", body: body, size: size, contentType: mw.FormDataContentType()})
		if err != nil {
			return err
		}
		return e.object(raw)
	})
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func prefixed(p string, l []any) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = p + fmt.Sprint(v)
	}
	return out
}
