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
	"sync"
)

// Pages is one template set per page of a portal: its layout plus the
// page, keyed by the page's file name without ".html".
//
// Every page is parsed once by ParsePages, so a broken template stops the
// start as before, but only the layout is kept: a page's set (a copy of
// the layout's parse tree plus the page, ≈ 30 KB, 32 pages between the
// two portals) is parsed again on its first visit and kept from then on.
// A gateway whose portals nobody opens holds none of them (RATIONALE.md
// "Less per request ...": the idle demo's heap).
type Pages struct {
	fsys   fs.FS
	layout *template.Template
	files  map[string]string // page name → file

	mu  sync.Mutex
	set map[string]*template.Template
}

// ParsePages parses templates/layout.html of fsys and, for every other
// templates/*.html, a clone of the layout with that page. who names the
// portal in errors.
func ParsePages(fsys fs.FS, funcs template.FuncMap, who string) (*Pages, error) {
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("%s: layout: %w", who, err)
	}
	p := &Pages{fsys: fsys, layout: layout, files: map[string]string{}, set: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		if _, err := p.parse(n); err != nil {
			return nil, fmt.Errorf("%s: template %s: %w", who, base, err)
		}
		p.files[strings.TrimSuffix(base, ".html")] = n
	}
	return p, nil
}

func (p *Pages) parse(file string) (*template.Template, error) {
	t, err := p.layout.Clone()
	if err != nil {
		return nil, err
	}
	return t.ParseFS(p.fsys, file)
}

// page is name's template set, parsed on its first use.
func (p *Pages) page(name string) (*template.Template, error) {
	file, ok := p.files[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.set[name]; t != nil {
		return t, nil
	}
	t, err := p.parse(file)
	if err != nil {
		return nil, err
	}
	p.set[name] = t
	return t, nil
}

// Write renders page name (its layout with v) into a buffer first, so a
// template error answers a clean 500 (logged with who) instead of half a
// page; the page is never cached.
func (p *Pages) Write(w http.ResponseWriter, log *slog.Logger, who, name string, status int, v any) {
	t, err := p.page(name)
	if err != nil {
		log.Error(who+": no template", "name", name, "err", err)
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
