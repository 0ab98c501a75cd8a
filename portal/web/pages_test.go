package web

import (
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func TestPagesParseAndWrite(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/layout.html": {Data: []byte(`<title>{{.T}}</title>{{template "body" .}}`)},
		"templates/home.html":   {Data: []byte(`{{define "body"}}<p>{{.T}}</p>{{end}}`)},
		"templates/broken.html": {Data: []byte(`{{define "body"}}{{call .F}}{{end}}`)},
	}
	p, err := ParsePages(fsys, template.FuncMap{}, "test portal")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.files["layout"]; ok || p.files["home"] == "" || p.files["broken"] == "" {
		t.Fatal("pages: the layout is not a page of its own, every other file is")
	}
	if len(p.set) != 0 {
		t.Fatalf("%d page sets kept before any visit", len(p.set))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	w := httptest.NewRecorder()
	p.Write(w, log, "test portal", "home", 201, struct{ T string }{"<b>x</b>"})
	if w.Code != 201 || w.Body.String() != "<title>&lt;b&gt;x&lt;/b&gt;</title><p>&lt;b&gt;x&lt;/b&gt;</p>" {
		t.Fatalf("home: %d %q", w.Code, w.Body.String())
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}

	// An error while executing answers a clean 500: no half page.
	w = httptest.NewRecorder()
	p.Write(w, log, "test portal", "broken", 200, struct {
		T string
		F func() (string, error)
	}{"t", func() (string, error) { return "", io.ErrUnexpectedEOF }})
	if w.Code != 500 || strings.Contains(w.Body.String(), "<title>") {
		t.Fatalf("broken: %d %q", w.Code, w.Body.String())
	}

	if len(p.set) != 2 {
		t.Fatalf("%d page sets kept after visiting two pages", len(p.set))
	}

	w = httptest.NewRecorder()
	p.Write(w, log, "test portal", "missing", 200, nil)
	if w.Code != 500 {
		t.Fatalf("missing page: %d", w.Code)
	}

	// First visits from many goroutines at once, to two pages (one
	// parsed from the layout while the other executes): each page is
	// parsed once (run under -race).
	fsys["templates/other.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}<i>{{.T}}</i>{{end}}`)}
	p, err = ParsePages(fsys, template.FuncMap{}, "test portal")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pages := []string{"home", "other"}
			if i%2 == 1 {
				pages[0], pages[1] = pages[1], pages[0]
			}
			for _, page := range pages {
				w := httptest.NewRecorder()
				p.Write(w, log, "test portal", page, 200, struct{ T string }{"x"})
				want := map[string]string{"home": "<title>x</title><p>x</p>", "other": "<title>x</title><i>x</i>"}[page]
				if w.Code != 200 || w.Body.String() != want {
					t.Errorf("concurrent %s: %d %q", page, w.Code, w.Body.String())
				}
			}
		})
	}
	wg.Wait()
	if len(p.set) != 2 {
		t.Fatalf("%d page sets after concurrent visits to two pages", len(p.set))
	}
	delete(fsys, "templates/other.html")

	fsys["templates/bad.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}{{.T`)}
	if _, err := ParsePages(fsys, template.FuncMap{}, "test portal"); err == nil || !strings.Contains(err.Error(), "test portal: template bad.html") {
		t.Fatalf("a bad template: %v", err)
	}
}
