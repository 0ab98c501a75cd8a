package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

// Pages is one template set per page of a portal: its layout plus the
// page, keyed by the page's file name without ".html".
type Pages map[string]*template.Template

// ParsePages parses templates/layout.html of fsys and, for every other
// templates/*.html, a clone of the layout with that page. who names the
// portal in errors.
func ParsePages(fsys fs.FS, funcs template.FuncMap, who string) (Pages, error) {
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("%s: layout: %w", who, err)
	}
	p := Pages{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("%s: template %s: %w", who, base, err)
		}
		p[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// Write renders page name (its layout with v) into a buffer first, so a
// template error answers a clean 500 (logged with who) instead of half a
// page; the page is never cached.
func (p Pages) Write(w http.ResponseWriter, log *slog.Logger, who, name string, status int, v any) {
	t := p[name]
	if t == nil {
		log.Error(who+": no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		log.Error(who+": rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
