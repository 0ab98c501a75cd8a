package vcache

import (
	"fmt"
	"net/url"

	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/host/edge"
)

// Purger removes stored responses of the built-in response cache
// (cache-lookup / cache-store, keys in abi/respcache) from a Cache: the
// admin API's and the CLI's purge (adminapi.CachePurger).
type Purger struct{ C *Cache }

// PurgeAPI removes every stored response of the API (its name as the
// gateway serves it: the catalog ID) and returns how many entries went.
// The URLs' records stay (they hold no response).
func (p Purger) PurgeAPI(api string) int {
	part := respcache.APIPart(api)
	return p.C.DeleteFunc(func(key string) bool {
		k, ok := respcache.Parse(key)
		return ok && k.Variant && k.API == part
	})
}

// PurgeURL removes every stored response of an absolute http(s) URL — the
// URL's record and every variant (any query, API, Vary value) of its host
// and canonical path — and returns how many entries went.
func (p Purger) PurgeURL(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	path, err := edge.CanonicalPath(u.EscapedPath())
	if err != nil {
		return 0, err
	}
	part := respcache.URLPart(u.Host, path)
	return p.C.DeleteFunc(func(key string) bool {
		k, ok := respcache.Parse(key)
		return ok && k.URL == part
	}), nil
}
