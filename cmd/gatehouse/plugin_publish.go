package main

// `gatehouse plugin publish` and `gatehouse plugin rollback`: a plugin
// project's module to a running admin API as name@version, with its sha256
// checked, and attachments pinned to that version (or back to an older one).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/catalog"
)

func pluginPublishCommand() *cli.Command {
	return leaf("publish", "build a plugin project, upload it as name@version (sha256 checked) and pin attachments to that version", "[DIR]", []cli.Flag{
		&cli.StringFlag{Name: "grant", Usage: "grant at upload: all (every capability and egress the module requests) or capabilities separated by commas"},
		&cli.StringSliceFlag{Name: "attach", Usage: "attach to (or re-pin in) this scope: global, api/ID, product/ID or operation/ID (repeatable)"},
		&cli.StringFlag{Name: "section", Value: "inbound", Usage: "section of a new attachment: inbound, backend, outbound or onError"},
		&cli.StringFlag{Name: "config", Usage: "config (JSON) of a new attachment; re-pinned attachments keep theirs unless given"},
		&cli.StringFlag{Name: "wasm", Usage: "publish this built module instead of building DIR"},
		&cli.BoolFlag{Name: "no-build", Usage: "publish DIR/NAME.wasm as built"},
	}, func(e *cmdEnv) error {
		if err := e.want(0, 1); err != nil {
			return err
		}
		dir := "."
		if len(e.args) == 1 {
			dir = e.args[0]
		}
		p, err := loadPluginProject(dir)
		if err != nil {
			return err
		}
		if s := e.c.String("section"); !hasString(policySections, s) {
			return usageError{fmt.Errorf("plugin publish: --section must be inbound, backend, outbound or onError, not %q", s)}
		}
		var cfg json.RawMessage
		if c := e.c.String("config"); c != "" {
			if !json.Valid([]byte(c)) {
				return usageError{fmt.Errorf("plugin publish: --config is not valid JSON")}
			}
			cfg = json.RawMessage(c)
		}
		var scopes []string
		for _, a := range e.c.StringSlice("attach") {
			path, err := scopePath(a)
			if err != nil {
				return usageError{fmt.Errorf("plugin publish: --attach %v", err)}
			}
			scopes = append(scopes, path)
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		wasm, err := moduleForProject(e.c, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(wasm)
		local := hex.EncodeToString(sum[:])
		ref := p.man.Name + "@" + p.man.Version

		// The manifest the server keeps: what plugin.json says beyond the
		// name and version (the server derives capabilities from imports).
		man := map[string]any{}
		if len(p.man.ConfigSchema) > 0 {
			man["configSchema"] = p.man.ConfigSchema
		}
		if len(p.man.Egress) > 0 {
			man["egress"] = p.man.Egress
		}
		if len(p.man.Limits) > 0 {
			man["limits"] = p.man.Limits
		}
		manJSON, _ := json.Marshal(man)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("name", p.man.Name)
		mw.WriteField("version", p.man.Version)
		if g := e.c.String("grant"); g != "" {
			mw.WriteField("grant", g)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="manifest"`)
		h.Set("Content-Type", "application/json")
		pw, _ := mw.CreatePart(h)
		pw.Write(manJSON)
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="wasm"; filename=%q`, p.man.Name+".wasm"))
		h.Set("Content-Type", "application/wasm")
		pw, _ = mw.CreatePart(h)
		pw.Write(wasm)
		if err := mw.Close(); err != nil {
			return err
		}
		size := int64(buf.Len())
		raw, err := cl.send(adminRequest{method: "POST", path: "/modules", body: &buf, size: size, contentType: mw.FormDataContentType()})
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusConflict:
			// The version exists: the same bytes are a no-op (publish is
			// re-runnable), other bytes are refused.
			raw, err = cl.call("GET", "/modules/"+pathSeg(p.man.Name)+"/"+pathSeg(p.man.Version), nil, nil)
			if err != nil {
				return err
			}
			var m struct{ SHA256 string }
			json.Unmarshal(raw, &m)
			if m.SHA256 != local {
				return fmt.Errorf("plugin publish: %s is already published with other bytes (sha256 %s, this build %s): raise \"version\" in plugin.json", ref, short(m.SHA256), short(local))
			}
			fmt.Fprintf(e.errw, "%s is already published with these bytes (sha256 %s)\n", ref, short(local))
		case err != nil:
			return err
		default:
			var m struct {
				SHA256        string
				MissingGrants []string `json:"missingGrants"`
			}
			json.Unmarshal(raw, &m)
			if m.SHA256 != local {
				return fmt.Errorf("plugin publish: the server stored %s with sha256 %s, but this build is %s: the upload was altered", ref, m.SHA256, local)
			}
			fmt.Fprintf(e.out, "published %s (%d bytes, sha256 %s)\n", ref, len(wasm), local)
			if len(m.MissingGrants) > 0 {
				fmt.Fprintf(e.errw, "warning: %s is not granted %s: attachments are refused until an admin grants them (gatehouse plugin grant %s %s …, or publish with --grant all)\n",
					ref, strings.Join(m.MissingGrants, ", "), p.man.Name, p.man.Version)
			}
		}
		for _, path := range scopes {
			msg, err := pinInScope(cl, path, p.man.Name, p.man.Version, p.policy(), e.c.String("section"), cfg, true)
			if err != nil {
				return fmt.Errorf("plugin publish: %s is published, but attaching it at %s failed: %w", ref, strings.TrimPrefix(path, "/policies/"), err)
			}
			fmt.Fprintln(e.out, msg)
		}
		return nil
	})
}

func pluginRollbackCommand() *cli.Command {
	return leaf("rollback", "pin every attachment of module NAME, in every scope, to VERSION (an earlier published version)", "NAME VERSION", nil, func(e *cmdEnv) error {
		if err := e.want(2, 2); err != nil {
			return err
		}
		name, ver := e.args[0], e.args[1]
		if err := catalog.ValidateSemver("version", ver); err != nil {
			return usageError{fmt.Errorf("plugin rollback: %v", err)}
		}
		cl, err := e.client()
		if err != nil {
			return err
		}
		if _, err := cl.call("GET", "/modules/"+pathSeg(name)+"/"+pathSeg(ver), nil, nil); err != nil {
			return fmt.Errorf("plugin rollback: %s@%s: %w", name, ver, err)
		}
		raw, err := cl.call("GET", "/policies", nil, nil)
		if err != nil {
			return err
		}
		_, docs, err := listItems(raw)
		if err != nil {
			return err
		}
		n := 0
		for _, d := range docs {
			path := "/policies/global"
			if s, _ := d["scope"].(string); s != "global" {
				id, _ := d["scopeId"].(string)
				path = "/policies/" + s + "/" + pathSeg(id)
			}
			msg, err := pinInScope(cl, path, name, ver, "", "", nil, false)
			if err != nil {
				return fmt.Errorf("plugin rollback: %s: %w", strings.TrimPrefix(path, "/policies/"), err)
			}
			if msg != "" {
				fmt.Fprintln(e.out, msg)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("plugin rollback: no policy document attaches %s", name)
		}
		return nil
	})
}

// scopePath turns global, api/ID, product/ID or operation/ID into the
// admin API path of the scope's policy document.
func scopePath(s string) (string, error) {
	if s == "global" {
		return "/policies/global", nil
	}
	scope, id, ok := strings.Cut(s, "/")
	if !ok || id == "" || (scope != "api" && scope != "product" && scope != "operation") {
		return "", fmt.Errorf("%q: want global, api/ID, product/ID or operation/ID", s)
	}
	return "/policies/" + scope + "/" + pathSeg(id), nil
}

// pinInScope points every entry of module name in the scope's document at
// name@version. With add, a document without one gets a new entry in
// section (created when the scope has no document). It returns what it did
// ("" when nothing).
func pinInScope(cl *adminClient, path, name, version, policy, section string, cfg json.RawMessage, add bool) (string, error) {
	raw, err := cl.call("GET", path, nil, nil)
	var ae *apiError
	var doc map[string]json.RawMessage
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound && add:
		doc = map[string]json.RawMessage{}
	case err != nil:
		return "", err
	default:
		if err := json.Unmarshal(raw, &doc); err != nil {
			return "", fmt.Errorf("the policy document is not JSON: %v", err)
		}
	}
	ref := name + "@" + version
	var changed []string
	found := false
	for _, sec := range policySections {
		if len(doc[sec]) == 0 || string(doc[sec]) == "null" {
			continue
		}
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(doc[sec], &entries); err != nil {
			return "", fmt.Errorf("section %s is not a list of entries: %v", sec, err)
		}
		touched := false
		for i, en := range entries {
			var mod string
			json.Unmarshal(en["module"], &mod)
			if n, _, _ := strings.Cut(mod, "@"); n != name {
				continue
			}
			found = true
			if cfg != nil {
				en["config"] = cfg
				touched = true
			}
			if mod == ref {
				continue
			}
			en["module"], _ = json.Marshal(ref)
			changed = append(changed, fmt.Sprintf("%s[%d] %s → %s", sec, i, mod, ref))
			touched = true
		}
		if touched {
			doc[sec], _ = json.Marshal(entries)
		}
	}
	where := strings.TrimPrefix(path, "/policies/")
	if !found {
		if !add {
			return "", nil
		}
		var entries []map[string]any
		if b := doc[section]; len(b) > 0 && string(b) != "null" {
			if err := json.Unmarshal(b, &entries); err != nil {
				return "", fmt.Errorf("section %s is not a list of entries: %v", section, err)
			}
		} else {
			// A section that was absent inherited the parent scope's: keep
			// inheriting it, before the new entry.
			entries = []map[string]any{{"base": true}}
		}
		en := map[string]any{"module": ref, "policy": policy}
		if cfg != nil {
			en["config"] = cfg
		}
		entries = append(entries, en)
		doc[section], _ = json.Marshal(entries)
		changed = append(changed, fmt.Sprintf("%s: attached %s (policy %s)", section, ref, policy))
	}
	if len(changed) == 0 && cfg == nil {
		return fmt.Sprintf("%s: already pinned to %s", where, ref), nil
	}
	if _, err := cl.call("PUT", path, nil, doc); err != nil {
		return "", err
	}
	if len(changed) == 0 {
		return fmt.Sprintf("%s: config of %s updated", where, ref), nil
	}
	return where + ": " + strings.Join(changed, "; "), nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
