package adminapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// CachePurger reaches the running gateway's response cache (cmd/gatehouse
// wires it; the catalog never imports the host).
type CachePurger interface {
	// PurgeAPI removes every stored response of the API (by its ID, the
	// name the gateway serves it under) and returns how many entries went.
	PurgeAPI(api string) int
	// PurgeURL removes every stored response of an absolute http(s) URL
	// (all its queries and variants); a URL that is not one fails.
	PurgeURL(rawURL string) (int, error)
}

// cachePurge is the body of POST /cache/purge: exactly one of API and URL.
type cachePurge struct {
	API string `json:"api,omitempty"`
	URL string `json:"url,omitempty"`
}

func (s *server) cacheRoutes(r routes) {
	r.Handle("/cache/purge", s.h(s.purgeCache)).Methods(http.MethodPost)
}

func (s *server) purgeCache(w http.ResponseWriter, r *http.Request) error {
	var p cachePurge
	if err := decode(w, r, maxJSONBody, &p); err != nil {
		return err
	}
	switch {
	case p.API == "" && p.URL == "":
		return invalid("", "give api (an API ID) or url (an absolute URL)")
	case p.API != "" && p.URL != "":
		return invalid("", "give api or url, not both")
	}
	if s.cache == nil {
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "no response cache on this server"}
	}
	var n int
	if p.API != "" {
		if _, err := s.st.GetAPI(r.Context(), p.API); errors.Is(err, catalog.ErrNotFound) {
			return notFound("no API %q", p.API)
		} else if err != nil {
			return err
		}
		n = s.cache.PurgeAPI(p.API)
	} else {
		u, err := url.Parse(p.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasPrefix(u.EscapedPath(), "/") {
			return invalid("url", "must be an absolute http or https URL with a path, e.g. https://api.example.com/pets/1")
		}
		if n, err = s.cache.PurgeURL(p.URL); err != nil {
			return invalid("url", "%v", err)
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"purged": n})
	return nil
}
