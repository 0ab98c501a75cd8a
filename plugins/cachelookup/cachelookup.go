// Package cachelookup is the cache-lookup policy (Azure API Management's
// cache-lookup) on top of a shared HTTP cache that follows RFC 9111. In the
// request phase it answers GET and HEAD requests from the gateway's response
// cache when a stored response may be used, revalidates stale entries with
// the backend (If-None-Match / If-Modified-Since), and marks misses for a
// cache-store policy in the outbound section. In the response phase it
// turns the backend's 304 into the refreshed stored response, serves a
// stale entry on a backend 5xx when the entry allows it (stale-if-error),
// invalidates the URL after an unsafe method (POST, PUT, DELETE, PATCH, …),
// and sets what the gateway tells clients (downstream_caching_type).
// docs/policies/cache-lookup.md is the user's description of every rule.
//
// Config:
//
//	{
//	  "vary_by_headers": ["Accept"],           // request headers that select different entries
//	  "vary_by_query_parameters": ["page"],    // only these query parameters select entries (default: the whole query)
//	  "vary_by_subscription": false,           // one entry per subscription (APIM vary-by-developer)
//	  "allow_private_response_caching": false, // also store responses to requests with Authorization that do not say public/s-maxage/must-revalidate
//	  "downstream_caching_type": "",           // "" (pass the origin's Cache-Control), none, private, public
//	  "must_revalidate": true,                 // with private/public: add must-revalidate for clients
//	  "stampede_wait_ms": 5000                 // concurrent misses (and revalidations) on one key wait this long for the first one's fill (0: off)
//	}
//
// Keys (abi/respcache): the host the API is served under and the original
// path make the URL; the API, the query (or the vary_by_query_parameters
// values), the vary_by_headers values, the subscription and the values of
// the request headers the origin's Vary names select a variant of it.
//
// Stampede protection (ABI v1.1 cache_fill_lease): on a miss or a
// revalidation the request takes the variant's fill lease and goes to the
// backend; requests that need the same variant meanwhile wait in the
// gateway — outside the guest — until it is stored (or the filler's request
// ends, or stampede_wait_ms passes), then run cache-lookup once more.
//
// The outcome is reported to the host with sdk.SetCacheStatus (ABI v1.2):
// hit, miss, stale, revalidated or bypass.
package cachelookup

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/plugins/internal/httpcache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-lookup"

// Variables the policy keeps for its response phase.
const (
	revalVar = "cache-lookup.reval"      // the stored entry's key, when the request revalidates it
	condVar  = "cache-lookup.cond"       // the client's own If-None-Match NUL If-Modified-Since
	invalVar = "cache-lookup.invalidate" // an unsafe method: invalidate on success
	sieVar   = "cache-lookup.sie"        // a stale entry with stale-if-error: its key
)

// URLRecordTTL is how long a URL's record lives (the host's longest TTL).
const URLRecordTTL = 24 * time.Hour

// Config is the policy's JSON config.
type Config struct {
	VaryByHeaders         []string `json:"vary_by_headers"`
	VaryByQueryParameters []string `json:"vary_by_query_parameters"`
	VaryBySubscription    bool     `json:"vary_by_subscription"`
	AllowPrivateCaching   bool     `json:"allow_private_response_caching"`
	DownstreamCachingType string   `json:"downstream_caching_type"`
	MustRevalidate        *bool    `json:"must_revalidate"`
	StampedeWaitMs        *int64   `json:"stampede_wait_ms"`
}

// Stampede protection bounds (milliseconds).
const (
	DefaultStampedeWaitMs = 5000
	MaxStampedeWaitMs     = 30000
)

// Policy is a configured cache-lookup.
type Policy struct {
	sdk.Base
	vary         []string
	query        []string // vary_by_query_parameters; nil: the whole query
	bySub        bool
	allowPrivate bool
	downstream   string
	mustReval    bool
	wait         time.Duration // stampede wait; 0: no fill lease

	method, buf, base, variant, key []byte // reused
	urlPart, apiPart                string
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{bySub: c.VaryBySubscription, allowPrivate: c.AllowPrivateCaching, wait: DefaultStampedeWaitMs * time.Millisecond, mustReval: true}
	if c.StampedeWaitMs != nil {
		if w := *c.StampedeWaitMs; w < 0 || w > MaxStampedeWaitMs {
			return nil, fmt.Errorf("stampede_wait_ms must be 0 to %d, got %d", MaxStampedeWaitMs, w)
		}
		p.wait = time.Duration(*c.StampedeWaitMs) * time.Millisecond
	}
	switch c.DownstreamCachingType {
	case "", "none", "private", "public":
		p.downstream = c.DownstreamCachingType
	default:
		return nil, fmt.Errorf("downstream_caching_type must be none, private or public, got %q", c.DownstreamCachingType)
	}
	if c.MustRevalidate != nil {
		p.mustReval = *c.MustRevalidate
	}
	seen := map[string]bool{}
	for _, h := range c.VaryByHeaders {
		if !conf.IsToken(h) {
			return nil, fmt.Errorf("vary_by_headers: %q is not a valid header name", h)
		}
		ch := conf.CanonicalHeader(h)
		if seen[ch] {
			return nil, fmt.Errorf("vary_by_headers: %q is listed twice", h)
		}
		seen[ch] = true
		p.vary = append(p.vary, ch)
	}
	seenQ := map[string]bool{}
	for _, q := range c.VaryByQueryParameters {
		if q == "" || strings.ContainsAny(q, "&=#\x00") {
			return nil, fmt.Errorf("vary_by_query_parameters: %q is not a valid parameter name", q)
		}
		if seenQ[q] {
			return nil, fmt.Errorf("vary_by_query_parameters: %q is listed twice", q)
		}
		seenQ[q] = true
		p.query = append(p.query, q)
	}
	if c.VaryByQueryParameters != nil && p.query == nil {
		p.query = []string{} // an empty list: the query selects nothing
	}
	return p, nil
}

// found is a usable stored entry of the request's variant.
type found struct {
	e          cacheentry.Entry
	key        string
	age, fresh time.Duration
}

// OnRequest answers from the cache, starts a revalidation, or marks the
// request for cache-store.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.method = c.AppendField(p.method[:0], sdk.FieldMethod)
	switch string(p.method) {
	case "GET", "HEAD":
	case "OPTIONS", "TRACE":
		return p.report(c, abi.CacheStatusBypass)
	default: // unsafe: invalidate the URL once the backend succeeded
		if err := c.Vars().Set(invalVar, "1"); err != nil {
			return c.Fail(err)
		}
		return p.report(c, abi.CacheStatusBypass)
	}
	head := string(p.method) == "HEAD"
	h := c.Request().Header()
	cc := httpcache.ParseCacheControl(h.Values("Cache-Control"))
	if !cc.NoCache && !h.Has("Cache-Control") && strings.Contains(strings.ToLower(h.Get("Pragma")), "no-cache") {
		cc.NoCache = true // RFC 9111 §5.4: Pragma without Cache-Control
	}
	auth := !p.allowPrivate && h.Has("Authorization")
	now := c.Now()
	p.keys(c)
	f, names, err := p.find(c, now)
	if err != nil {
		// The cache is best effort: without it, the backend answers.
		c.Logf(sdk.LogWarn, "cache unavailable: %v", err)
		return p.report(c, abi.CacheStatusBypass)
	}
	revalidate := false
	if f != nil {
		switch act, st := p.decide(c, f, &cc); st {
		case abi.CacheStatusHit, abi.CacheStatusStale:
			return act
		default:
			revalidate = st == abi.CacheStatusRevalidated
		}
	}
	if cc.OnlyIfCached {
		if err := c.Response().Header().Set("Content-Type", "text/plain"); err != nil {
			return c.Fail(err)
		}
		p.report(c, abi.CacheStatusMiss)
		return c.Respond(504, []byte("Gateway timeout: not in the cache (only-if-cached)"))
	}
	if head || cc.NoStore {
		// HEAD is answered from GET entries but never stored; no-store:
		// nothing of this exchange is kept.
		return p.report(c, abi.CacheStatusMiss)
	}
	leaseKey := p.variantKey(names, h)
	if f != nil {
		leaseKey = f.key
	}
	if p.wait > 0 {
		held, err := c.Cache().FillLease(leaseKey, p.wait)
		switch {
		case err == nil && !held:
			// Another request is filling the key: the host waits for it and
			// runs this policy again; nothing may be set on this run.
			return sdk.Continue
		case err == nil:
			// The filler may have stored and let go between the lookup
			// above and the lease: look again before going to the backend.
			if f2, _, err := p.find(c, now); err == nil && f2 != nil {
				if act, st := p.decide(c, f2, &cc); st == abi.CacheStatusHit || st == abi.CacheStatusStale {
					return act
				}
			}
		case !errors.Is(err, sdk.ErrUnavailable):
			c.Logf(sdk.LogWarn, "cache fill lease: %v", err)
		}
	}
	if revalidate {
		if err := p.conditional(c, f); err != nil {
			return c.Fail(err)
		}
	}
	if f != nil && f.e.SIE >= 0 {
		if err := c.Vars().Set(sieVar, f.key); err != nil {
			return c.Fail(err)
		}
	}
	pend := cacheentry.Pending{RequestTime: now.UnixMilli(), Auth: auth, URL: p.urlPart, API: p.apiPart, Base: p.base}
	p.buf = cacheentry.AppendPending(p.buf[:0], &pend)
	if err := c.Vars().SetBytes(cacheentry.KeyVar, p.buf); err != nil {
		return c.Fail(err)
	}
	return p.report(c, abi.CacheStatusMiss)
}

// decide applies RFC 9111 §4 to a stored entry: serve it (hit or stale,
// with act the answer), or revalidate it (st revalidated: the entry has a
// validator), or neither (st miss: fetch anew).
func (p *Policy) decide(c *sdk.Context, f *found, cc *httpcache.Directives) (act sdk.Action, st string) {
	e := &f.e
	fixed := e.Flags&cacheentry.FlagFixed != 0
	mustReval := e.Flags&cacheentry.FlagMustRevalidate != 0
	need := e.Flags&cacheentry.FlagNoCache != 0 || (!fixed && cc.NoCache)
	if !need {
		okAge := fixed || cc.MaxAge < 0 || f.age <= secs(cc.MaxAge)
		if f.fresh > 0 {
			if fixed || (okAge && (cc.MinFresh < 0 || f.fresh >= secs(cc.MinFresh))) {
				return p.answer(c, f, abi.CacheStatusHit), abi.CacheStatusHit
			}
		} else if !mustReval && !fixed {
			stale := -f.fresh
			if okAge && (cc.MaxStaleAny || (cc.MaxStale >= 0 && stale <= secs(cc.MaxStale))) {
				return p.answer(c, f, abi.CacheStatusStale), abi.CacheStatusStale
			}
			if e.SWR >= 0 && stale <= secs(e.SWR) && p.wait > 0 {
				// stale-while-revalidate: one request revalidates (it takes
				// the lease), the others get the stale entry meanwhile.
				held, err := c.Cache().FillLease(f.key, 0)
				if err == nil && !held {
					return p.answer(c, f, abi.CacheStatusStale), abi.CacheStatusStale
				}
			}
		}
	}
	if e.Get("Etag") != "" || e.Get("Last-Modified") != "" {
		return sdk.Continue, abi.CacheStatusRevalidated
	}
	return sdk.Continue, abi.CacheStatusMiss
}

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }

// conditional makes the backend request a revalidation of f: its own
// validators replace the client's (kept for the response phase).
func (p *Policy) conditional(c *sdk.Context, f *found) error {
	h := c.Request().Header()
	inm, ims := h.Values("If-None-Match"), h.Get("If-Modified-Since")
	if len(inm) > 0 || ims != "" {
		if err := c.Vars().Set(condVar, strings.Join(inm, ", ")+"\x00"+ims); err != nil {
			return err
		}
	}
	for _, n := range [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if err := h.Del(n); err != nil {
			return err
		}
	}
	if et := f.e.Get("Etag"); et != "" {
		if err := h.Set("If-None-Match", et); err != nil {
			return err
		}
	}
	if lm := f.e.Get("Last-Modified"); lm != "" {
		if err := h.Set("If-Modified-Since", lm); err != nil {
			return err
		}
	}
	return c.Vars().Set(revalVar, f.key)
}

// keys sets p.urlPart, p.apiPart and p.base for the request.
func (p *Policy) keys(c *sdk.Context) {
	host := c.Host()
	path := c.OriginalPath() // what the client asked for, whatever rewrites did
	p.urlPart = respcache.URLPart(host, path)
	p.apiPart = respcache.APIPart(c.API())
	b := append(p.base[:0], "q="...)
	q := c.AppendField(p.buf[:0], sdk.FieldQuery)
	if p.query == nil {
		b = append(b, q...)
	} else {
		for _, name := range p.query {
			v, ok := sdk.LookupQuery(string(q), name)
			b = append(append(b, 0), name...)
			if ok {
				b = append(append(b, '='), v...)
			}
		}
	}
	p.buf = q
	req := c.Request().Header()
	for _, name := range p.vary {
		b = append(append(append(b, "\x00h:"...), name...), '=')
		for i, v := range req.Values(name) {
			if i > 0 {
				b = append(b, 0)
			}
			b = append(b, v...)
		}
	}
	if p.bySub {
		b = append(b, "\x00s="...)
		b = c.AppendField(b, sdk.FieldSubscription)
	}
	p.base = b
}

// variantKey is the key of the request's variant given the origin's Vary
// names (the URL record's; none when there is no record yet).
func (p *Policy) variantKey(names []string, req cacheentry.ValuesOf) string {
	p.variant = cacheentry.AppendVariant(p.variant[:0], p.base, names, req)
	p.key = respcache.AppendVariantKey(p.key[:0], p.urlPart, p.apiPart, p.variant)
	return string(p.key)
}

// find looks the request's variant up: the URL record (its Vary names and
// invalidation time), then the variant. f is nil on a miss; names are the
// record's Vary names. A corrupt entry is dropped (a miss); err is an
// unavailable cache.
func (p *Policy) find(c *sdk.Context, now time.Time) (f *found, names []string, err error) {
	p.key = respcache.AppendURLKey(p.key[:0], p.urlPart)
	ub, err := c.Cache().Get(string(p.key))
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	rec, err := cacheentry.DecodeURLRecord(ub)
	if err != nil {
		c.Log(sdk.LogWarn, "dropping a corrupt cache URL record")
		c.Cache().Delete(string(p.key))
		return nil, nil, nil
	}
	key := p.variantKey(rec.Vary, c.Request().Header())
	b, err := c.Cache().Get(key)
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return nil, rec.Vary, nil
	case err != nil:
		return nil, nil, err
	}
	e, err := cacheentry.Decode(b)
	if err != nil {
		c.Log(sdk.LogWarn, "dropping a corrupt cache entry")
		c.Cache().Delete(key)
		return nil, rec.Vary, nil
	}
	if e.RequestTime <= rec.InvalidatedAt {
		// Invalidated by an unsafe method after this response was asked for.
		c.Cache().Delete(key)
		return nil, rec.Vary, nil
	}
	age := time.Duration(e.InitialAge)*time.Millisecond + now.Sub(time.UnixMilli(e.ResponseTime))
	if age < 0 {
		age = 0
	}
	return &found{e: e, key: key, age: age, fresh: time.Duration(e.Lifetime)*time.Millisecond - age}, rec.Vary, nil
}

// answer sends the stored response (or a 304 when the client's own
// conditional matches it), with its Age.
func (p *Policy) answer(c *sdk.Context, f *found, status string) sdk.Action {
	h := c.Response().Header()
	e := &f.e
	for _, hd := range e.Headers {
		if err := h.Add(hd.Name, hd.Value); err != nil {
			return c.Fail(fmt.Errorf("cached header %s: %w", hd.Name, err))
		}
	}
	if err := h.Set("Age", httpcache.Seconds(f.age)); err != nil {
		return c.Fail(err)
	}
	xc := "HIT"
	if status == abi.CacheStatusStale {
		xc = "STALE"
	}
	if err := h.Set("X-Cache", xc); err != nil {
		return c.Fail(err)
	}
	p.report(c, status)
	req := c.Request().Header()
	if e.Status == 200 && httpcache.NotModified(req.Values("If-None-Match"), req.Get("If-Modified-Since"), e.Get("Etag"), e.Get("Last-Modified"), e.Get("Date")) {
		return c.Respond(304, nil)
	}
	return c.Respond(e.Status, e.Body)
}

// report tells the host the outcome (best effort: a host without ABI v1.2
// field 20 answers ErrInvalid, which changes nothing for the client).
func (p *Policy) report(c *sdk.Context, status string) sdk.Action {
	_ = c.SetCacheStatus(status)
	return sdk.Continue
}

// OnResponse finishes what the request phase started: invalidation after an
// unsafe method, a revalidation's 304, stale-if-error, and the
// downstream Cache-Control.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	if v, ok := c.Vars().Get(invalVar); ok && v == "1" {
		p.invalidate(c)
		return sdk.Continue
	}
	status := c.CacheStatus()
	if status == "" || status == abi.CacheStatusBypass {
		return sdk.Continue
	}
	resp := c.Response()
	code := resp.Status()
	if key, ok := c.Vars().Get(revalVar); ok && key != "" && code == 304 {
		if act, done := p.refresh(c, key); done {
			return act
		}
	}
	if key, ok := c.Vars().Get(sieVar); ok && key != "" && code >= 500 {
		if act, done := p.staleIfError(c, key); done {
			return act
		}
	}
	if p.downstream == "" {
		return sdk.Continue
	}
	if kv, ok := c.Vars().Get(cacheentry.KeyVar); ok && kv != "" {
		// A miss: cache-store (outbound, after this) must see the origin's
		// Cache-Control; it applies the downstream one after storing.
		if err := c.Vars().Set(DownstreamVar, p.downstreamSpec()); err != nil {
			return c.Fail(err)
		}
		return sdk.Continue
	}
	if err := SetDownstream(c, p.downstreamSpec()); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

// DownstreamVar carries, on a miss, the downstream Cache-Control spec that
// cache-store applies once it has stored the origin's response.
const DownstreamVar = "cache-lookup.downstream"

func (p *Policy) downstreamSpec() string {
	if p.mustReval && p.downstream != "none" {
		return p.downstream + "+mr"
	}
	return p.downstream
}

// skipped are response headers never stored or taken from a 304:
// per-connection, recomputed by the gateway, or the cache's own.
var skipped = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true, "X-Cache": true, "Age": true, "X-Request-Id": true,
}

// refresh handles the backend's 304 to a revalidation (RFC 9111 §4.3.4):
// the stored headers are updated with the 304's, the entry's age and
// freshness restart, and the client gets the stored response (or the 304
// when its own conditional matches).
func (p *Policy) refresh(c *sdk.Context, key string) (sdk.Action, bool) {
	b, err := c.Cache().Get(key)
	var e cacheentry.Entry
	if err == nil {
		e, err = cacheentry.Decode(b)
	}
	if err != nil {
		return p.lostEntry(c)
	}
	resp := c.Response()
	rh := resp.Header()
	now := c.Now()
	var fresh []cacheentry.Header
	updated := map[string]bool{}
	for name, value := range rh.All() {
		if skipped[name] || name == "Content-Type" || name == "Content-Encoding" {
			continue
		}
		updated[name] = true
		fresh = append(fresh, cacheentry.Header{Name: name, Value: value})
	}
	merged := make([]cacheentry.Header, 0, len(e.Headers)+len(fresh))
	for _, hd := range e.Headers {
		if !updated[hd.Name] {
			merged = append(merged, hd)
		}
	}
	e.Headers = append(merged, fresh...)
	reqTime := now
	if kv, ok := c.Vars().Get(cacheentry.KeyVar); ok {
		if pend, ok := cacheentry.DecodePending(kv); ok {
			reqTime = time.UnixMilli(pend.RequestTime)
		}
	}
	e.RequestTime, e.ResponseTime = reqTime.UnixMilli(), now.UnixMilli()
	cc := httpcache.ParseCacheControl(e.Values("Cache-Control"))
	store := !cc.NoStore && !cc.Private
	if e.Flags&cacheentry.FlagFixed != 0 {
		e.InitialAge = 0
	} else {
		e.InitialAge = httpcache.InitialAge(&e, reqTime, now).Milliseconds()
		life, _, _ := httpcache.Lifetime(e.Status, &e, cc, now)
		if max := time.Duration(e.StoreSeconds) * time.Second; life > max {
			life = max
		}
		e.Lifetime = life.Milliseconds()
		e.Flags = RevalidationFlags(&cc)
		e.SWR, e.SIE = cc.StaleWhileRevalidate, cc.StaleIfError
	}
	if store && e.StoreSeconds > 0 {
		enc := cacheentry.Append(nil, &e)
		if err := c.Cache().Set(key, enc, time.Duration(e.StoreSeconds)*time.Second); err != nil {
			c.Logf(sdk.LogWarn, "revalidated entry not stored: %v", err)
		}
	} else {
		c.Cache().Delete(key)
	}
	// cache-store must not store the 304.
	if err := c.Vars().Set(cacheentry.KeyVar, ""); err != nil {
		return c.Fail(err), true
	}
	for _, hd := range e.Headers {
		if err := rh.Del(hd.Name); err != nil {
			return c.Fail(err), true
		}
	}
	for _, hd := range e.Headers {
		if err := rh.Add(hd.Name, hd.Value); err != nil {
			return c.Fail(err), true
		}
	}
	age := time.Duration(e.InitialAge) * time.Millisecond
	if err := rh.Set("Age", httpcache.Seconds(age)); err != nil {
		return c.Fail(err), true
	}
	if err := rh.Set("X-Cache", "REVALIDATED"); err != nil {
		return c.Fail(err), true
	}
	p.report(c, abi.CacheStatusRevalidated)
	if cond, ok := c.Vars().Get(condVar); ok && e.Status == 200 {
		inm, ims, _ := strings.Cut(cond, "\x00")
		var inms []string
		if inm != "" {
			inms = []string{inm}
		}
		if httpcache.NotModified(inms, ims, e.Get("Etag"), e.Get("Last-Modified"), e.Get("Date")) {
			return sdk.Continue, false // the client's own validator matches: 304 it is
		}
	}
	if err := resp.SetStatus(e.Status); err != nil {
		return c.Fail(err), true
	}
	if err := resp.SetBody(e.Body); err != nil {
		return c.Fail(err), true
	}
	return sdk.Continue, false
}

// lostEntry handles a 304 to a revalidation whose stored entry went away
// meanwhile (evicted, purged): a client that sent its own conditional gets
// the 304, one that did not cannot be given a 304 it never asked for, nor
// the body the cache no longer has: it gets a 502 (the gateway could not
// complete the exchange) and may simply retry.
func (p *Policy) lostEntry(c *sdk.Context) (sdk.Action, bool) {
	if err := c.Vars().Set(cacheentry.KeyVar, ""); err != nil {
		return c.Fail(err), true
	}
	p.report(c, abi.CacheStatusMiss)
	if _, ok := c.Vars().Get(condVar); ok {
		return sdk.Continue, false
	}
	c.Log(sdk.LogWarn, "revalidated entry gone before the backend's 304 arrived: answering 502")
	resp := c.Response()
	for _, n := range [...]string{"Etag", "Last-Modified", "Cache-Control", "Expires", "Vary"} {
		if err := resp.Header().Del(n); err != nil {
			return c.Fail(err), true
		}
	}
	if err := resp.Header().Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err), true
	}
	if err := resp.SetStatus(502); err != nil {
		return c.Fail(err), true
	}
	if err := resp.SetBody([]byte(`{"statusCode":502,"message":"Bad gateway: the cached response went away during its revalidation; retry"}`)); err != nil {
		return c.Fail(err), true
	}
	return sdk.Continue, false
}

// RevalidationFlags are an entry's flags from its response's Cache-Control.
func RevalidationFlags(cc *httpcache.Directives) uint64 {
	var f uint64
	if cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge >= 0 {
		// s-maxage implies proxy-revalidate for a shared cache (§5.2.2.10)
		f |= cacheentry.FlagMustRevalidate
	}
	if cc.NoCache {
		f |= cacheentry.FlagNoCache
	}
	return f
}

// staleIfError answers a backend 5xx with the stale entry when the entry's
// stale-if-error allows it (RFC 5861 §4).
func (p *Policy) staleIfError(c *sdk.Context, key string) (sdk.Action, bool) {
	b, err := c.Cache().Get(key)
	if err != nil {
		return sdk.Continue, false
	}
	e, err := cacheentry.Decode(b)
	if err != nil || e.SIE < 0 || e.Flags&cacheentry.FlagMustRevalidate != 0 {
		return sdk.Continue, false
	}
	age := time.Duration(e.InitialAge)*time.Millisecond + c.Now().Sub(time.UnixMilli(e.ResponseTime))
	stale := age - time.Duration(e.Lifetime)*time.Millisecond
	if stale > secs(e.SIE) {
		return sdk.Continue, false
	}
	resp := c.Response()
	rh := resp.Header()
	for name := range rh.All() {
		if !skipped[name] {
			if err := rh.Del(name); err != nil {
				return c.Fail(err), true
			}
		}
	}
	for _, hd := range e.Headers {
		if err := rh.Add(hd.Name, hd.Value); err != nil {
			return c.Fail(err), true
		}
	}
	if err := rh.Set("Age", httpcache.Seconds(age)); err != nil {
		return c.Fail(err), true
	}
	if err := rh.Set("X-Cache", "STALE"); err != nil {
		return c.Fail(err), true
	}
	if err := c.Vars().Set(cacheentry.KeyVar, ""); err != nil {
		return c.Fail(err), true
	}
	p.report(c, abi.CacheStatusStale)
	if err := resp.SetStatus(e.Status); err != nil {
		return c.Fail(err), true
	}
	if err := resp.SetBody(e.Body); err != nil {
		return c.Fail(err), true
	}
	return sdk.Continue, false
}

// invalidate marks the request's URL, and its Location and
// Content-Location when they are of the same origin, invalidated after a
// non-error response to an unsafe method (RFC 9111 §4.4). Only URLs with a
// record are touched: a POST to a URL never cached stores nothing.
func (p *Policy) invalidate(c *sdk.Context) {
	code := c.Response().Status()
	if code < 200 || code >= 400 {
		return
	}
	host, path := c.Host(), c.OriginalPath()
	now := c.Now().UnixMilli()
	p.invalidateURL(c, respcache.URLPart(host, path), now)
	scheme := c.Scheme()
	rh := c.Response().Header()
	for _, name := range [...]string{"Location", "Content-Location"} {
		v := rh.Get(name)
		if v == "" {
			continue
		}
		if other, ok := sameOriginPath(scheme, host, path, v); ok && other != path {
			p.invalidateURL(c, respcache.URLPart(host, other), now)
		}
	}
}

func (p *Policy) invalidateURL(c *sdk.Context, urlPart string, now int64) {
	key := string(respcache.AppendURLKey(nil, urlPart))
	b, err := c.Cache().Get(key)
	if err != nil {
		return
	}
	rec, err := cacheentry.DecodeURLRecord(b)
	if err != nil {
		c.Cache().Delete(key)
		return
	}
	rec.InvalidatedAt = now
	if err := c.Cache().Set(key, cacheentry.AppendURLRecord(nil, &rec), URLRecordTTL); err != nil {
		c.Cache().Delete(key) // deleting it invalidates too
	}
}

// sameOriginPath resolves a Location/Content-Location value against the
// request URL and returns its canonical path when it has the request's
// origin (scheme, host and port).
func sameOriginPath(scheme, host, path, ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	base := &url.URL{Scheme: scheme, Host: host, Path: path}
	r := base.ResolveReference(u)
	if !strings.EqualFold(r.Scheme, scheme) || !strings.EqualFold(r.Host, host) {
		return "", false
	}
	out := r.Path
	if out == "" {
		out = "/"
	}
	for strings.Contains(out, "//") {
		out = strings.ReplaceAll(out, "//", "/")
	}
	return out, true
}

// SetDownstream sets what the gateway tells clients about caching the
// response (APIM downstream-caching-type): none → no-store; private or
// public → that, max-age the entry's remaining freshness, and
// must-revalidate when must_revalidate. A response the origin marked
// no-store or private keeps the origin's word.
func SetDownstream(c *sdk.Context, spec string) error {
	typ, mustReval := strings.CutSuffix(spec, "+mr")
	resp := c.Response()
	code := resp.Status()
	if code >= 400 && code != 404 && code != 410 {
		return nil
	}
	rh := resp.Header()
	cc := httpcache.ParseCacheControl(rh.Values("Cache-Control"))
	if cc.NoStore || cc.Private {
		return nil
	}
	switch typ {
	case "none":
		return rh.Set("Cache-Control", "no-store")
	case "private", "public":
	default:
		return nil
	}
	now := c.Now()
	life, _, _ := httpcache.Lifetime(code, rh, cc, now)
	var age time.Duration
	if v := rh.Get("Age"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			age = secs(n)
		}
	}
	v := typ + ", max-age=" + httpcache.Seconds(life-age)
	if mustReval {
		v += ", must-revalidate"
	}
	return rh.Set("Cache-Control", v)
}
