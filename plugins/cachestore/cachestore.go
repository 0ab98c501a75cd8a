// Package cachestore is the cache-store policy (Azure API Management's
// cache-store): in the response phase it stores the backend's response in
// the gateway's response cache, under the key a cache-lookup policy chose
// for the request on a miss (the variable cacheentry.KeyVar). Attach
// cache-lookup in the inbound section and cache-store in the outbound one.
//
// Config:
//
//	{
//	  "duration": 300,          // required: seconds, 1 to 86400: the longest an entry is fresh and kept
//	  "mode": "http",           // http (default): the origin's freshness rules, duration the upper bound;
//	                            // fixed: APIM's behaviour, fresh for duration whatever the origin says
//	  "cache_response": false,  // also store statuses the mode does not store by default
//	  "max_body_bytes": 262144  // larger responses are not stored (default 256 KiB, at most 4 MiB)
//	}
//
// In http mode a response is stored as a shared cache may (RFC 9111 §3):
// not with no-store or private (private="X" and no-cache="X" drop the
// named fields instead), not Vary: *, not to a request with Authorization
// unless public, s-maxage or must-revalidate allow it, not 206 or 304, not
// with Set-Cookie (unless named by private= or no-cache=, then stripped),
// and only with a freshness lifetime (s-maxage, max-age, Expires, or the
// heuristic for heuristically cacheable statuses) or a validator (ETag,
// Last-Modified) to revalidate it with. In fixed mode only 200 responses
// (any with cache_response) are stored, fresh for duration, with the same
// no-store/private/Set-Cookie/Vary/Authorization refusals. Stored
// responses get the header X-Cache: MISS. Caching is best effort: a cache
// that is full or unavailable is logged and the response goes out as it is.
package cachestore

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/plugins/cachelookup"
	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/httpcache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-store"

// Limits of the config.
const (
	MaxDuration         = 24 * 60 * 60
	DefaultMaxBodyBytes = 256 << 10
	MaxBodyBytes        = 4 << 20
)

// Config is the policy's JSON config.
type Config struct {
	Duration      int64  `json:"duration"`
	Mode          string `json:"mode"`
	CacheResponse bool   `json:"cache_response"`
	MaxBodyBytes  *int   `json:"max_body_bytes"`
}

// Policy is a configured cache-store.
type Policy struct {
	sdk.Base
	ttl           time.Duration
	fixed         bool
	cacheResponse bool
	maxBody       int
	headers       []cacheentry.Header
	entry, buf    []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	if c.Duration < 1 || c.Duration > MaxDuration {
		return nil, fmt.Errorf("duration must be 1 to %d seconds, got %d", MaxDuration, c.Duration)
	}
	p := &Policy{ttl: time.Duration(c.Duration) * time.Second, maxBody: DefaultMaxBodyBytes, cacheResponse: c.CacheResponse}
	switch c.Mode {
	case "", "http":
	case "fixed":
		p.fixed = true
	default:
		return nil, fmt.Errorf("mode must be http or fixed, got %q", c.Mode)
	}
	if c.MaxBodyBytes != nil {
		if *c.MaxBodyBytes < 0 || *c.MaxBodyBytes > MaxBodyBytes {
			return nil, fmt.Errorf("max_body_bytes must be 0 to %d, got %d", MaxBodyBytes, *c.MaxBodyBytes)
		}
		p.maxBody = *c.MaxBodyBytes
	}
	return p, nil
}

// skipped are response headers never stored: per-connection or recomputed
// by the gateway, or set by the cache policies themselves.
var skipped = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true, "X-Cache": true, "Age": true, "X-Request-Id": true,
}

// OnResponse stores the response when cache-lookup missed, then sets the
// downstream Cache-Control cache-lookup asked for.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	act := p.store(c)
	if spec, ok := c.Vars().Get(cachelookup.DownstreamVar); ok && spec != "" {
		if err := cachelookup.SetDownstream(c, spec); err != nil {
			return c.Fail(err)
		}
	}
	return act
}

func (p *Policy) store(c *sdk.Context) sdk.Action {
	kv, ok := c.Vars().Get(cacheentry.KeyVar)
	if !ok || kv == "" {
		return sdk.Continue
	}
	pend, ok := cacheentry.DecodePending(kv)
	if !ok {
		return sdk.Continue
	}
	resp := c.Response()
	status := resp.Status()
	h := resp.Header()
	cc := httpcache.ParseCacheControl(h.Values("Cache-Control"))
	if cc.NoStore || cc.Private || status < 200 || status == 206 || status == 304 {
		return sdk.Continue
	}
	names, star := httpcache.VaryNames(h.Values("Vary"))
	if star {
		return sdk.Continue // Vary: * is never reused: do not store it
	}
	if pend.Auth && !cc.Public && cc.SMaxAge < 0 && !cc.MustRevalidate {
		return sdk.Continue // RFC 9111 §3.5
	}
	now := c.Now()
	e := cacheentry.Entry{Status: status, RequestTime: pend.RequestTime, ResponseTime: now.UnixMilli(),
		StoreSeconds: int64(p.ttl / time.Second), SWR: -1, SIE: -1}
	keep := p.ttl
	if p.fixed {
		if status != 200 && !p.cacheResponse {
			return sdk.Continue
		}
		e.Lifetime, e.Flags = p.ttl.Milliseconds(), cacheentry.FlagFixed
	} else {
		life, explicit, _ := httpcache.Lifetime(status, h, cc, now)
		if !httpcache.HeuristicallyCacheable(status) && !explicit && !cc.Public && !p.cacheResponse {
			return sdk.Continue
		}
		if life > p.ttl {
			life = p.ttl
		}
		validators := h.Has("Etag") || h.Has("Last-Modified")
		if (life <= 0 || cc.NoCache) && !validators {
			return sdk.Continue // never usable without a validator
		}
		e.InitialAge = httpcache.InitialAge(h, time.UnixMilli(pend.RequestTime), now).Milliseconds()
		e.Lifetime = life.Milliseconds()
		e.Flags = cachelookup.RevalidationFlags(&cc)
		e.SWR, e.SIE = cc.StaleWhileRevalidate, cc.StaleIfError
		if !validators && e.SWR < 0 && e.SIE < 0 {
			// Nothing can use it once stale: keep it while fresh only.
			keep = max(time.Duration(e.Lifetime-e.InitialAge)*time.Millisecond, time.Millisecond)
		}
	}
	drop := map[string]bool{}
	for _, f := range cc.PrivateFields {
		drop[f] = true
	}
	for _, f := range cc.NoCacheFields {
		drop[f] = true
	}
	p.headers = p.headers[:0]
	for name, value := range h.All() {
		switch {
		case skipped[name] || drop[name]: // names come canonical from the host
			continue
		case name == "Set-Cookie":
			return sdk.Continue // personal: not stored (unless private="Set-Cookie" strips it)
		}
		p.headers = append(p.headers, cacheentry.Header{Name: name, Value: value})
	}
	e.Headers = p.headers
	body, err := resp.Body()
	switch {
	case errors.Is(err, sdk.ErrTooLarge):
		return sdk.Continue
	case err != nil:
		return c.Fail(err)
	case len(body) > p.maxBody:
		return sdk.Continue
	}
	e.Body = body

	// The URL's record: its Vary names (the variant key depends on them)
	// and the last invalidation; a response asked for before it is stale
	// news and is not stored.
	ukey := string(respcache.AppendURLKey(nil, pend.URL))
	var rec cacheentry.URLRecord
	haveRec := false
	if b, err := c.Cache().Get(ukey); err == nil {
		if r, err := cacheentry.DecodeURLRecord(b); err == nil {
			rec, haveRec = r, true
		}
	}
	if haveRec && pend.RequestTime <= rec.InvalidatedAt {
		return sdk.Continue
	}
	if !haveRec || !equal(rec.Vary, names) {
		rec.Vary = names
		if err := c.Cache().Set(ukey, cacheentry.AppendURLRecord(nil, &rec), cachelookup.URLRecordTTL); err != nil {
			c.Logf(sdk.LogWarn, "not cached: %v", err)
			return sdk.Continue
		}
	}
	p.buf = cacheentry.AppendVariant(p.buf[:0], pend.Base, names, c.Request().Header())
	key := string(respcache.AppendVariantKey(nil, pend.URL, pend.API, p.buf))
	p.entry = cacheentry.Append(p.entry[:0], &e)
	if keep > p.ttl {
		keep = p.ttl
	}
	if err := c.Cache().Set(key, p.entry, keep); err != nil {
		c.Logf(sdk.LogWarn, "not cached: %v", err)
		return sdk.Continue
	}
	if cap(p.entry) > 2*DefaultMaxBodyBytes {
		p.entry = nil // do not keep a big buffer for the instance's life
	}
	if err := h.Set("X-Cache", "MISS"); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
