// Package cachelookup is the cache-lookup policy (Azure API Management's
// cache-lookup): in the request phase it looks the request up in the
// gateway's response cache and, on a hit, answers with the cached response
// and the header X-Cache: HIT, without calling the backend. On a miss it
// sets the variable cacheentry.KeyVar ("cache-lookup.key") and the request
// goes on; a cache-store policy in the outbound section then stores the
// backend's response under that key.
//
// Config:
//
//	{
//	  "vary_by_headers": ["Accept"],           // request headers that select different entries
//	  "vary_by_subscription": false,           // one entry per subscription (APIM vary-by-developer)
//	  "allow_private_response_caching": false, // also cache requests with an Authorization header
//	  "stampede_wait_ms": 5000                 // concurrent misses on one key wait this long for the first one's fill (0: off)
//	}
//
// Only GET requests are cached. The key is built from the API, method,
// original path (as the client sent it, before rewrites), query, the
// vary_by_headers values and, if asked, the subscription — used as it is
// when short (an exact match) and hashed with SHA-256 when long. Put cache-lookup
// after subscription-key so the key parameter is no longer in the query.
// Requests with an Authorization header are not cached unless
// allow_private_response_caching is true: their responses may be personal.
//
// Stampede protection (stampede_wait_ms > 0, default 5000, at most 30000;
// ABI v1.1 cache_fill_lease): on a miss the request takes the key's fill
// lease and goes to the backend; requests that miss the same key while it
// is held do not: the gateway holds them — outside the guest, no instance
// is kept — until the filler stores the entry (cache-store), or its request
// ends without storing, or stampede_wait_ms passes, whichever comes first,
// and then runs cache-lookup once more, which answers from the cache. If
// nothing was stored, one of them becomes the filler and the others go to
// the backend (they never wait twice). Concurrent misses on one cold key
// thus reach the backend once. The lease is on the cache key, so requests
// that do not share an entry (another subscription with
// vary_by_subscription, another vary_by_headers value) never wait for each
// other, and a response cache-store refuses (private, no-store, not 200)
// is never served: the waiters then go to the backend themselves. 0 turns
// it off (every miss goes to the backend).
package cachelookup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "cache-lookup"

// KeyPrefix starts every key of the response cache.
const KeyPrefix = "gatehouse-response:"

// Config is the policy's JSON config.
type Config struct {
	VaryByHeaders       []string `json:"vary_by_headers"`
	VaryBySubscription  bool     `json:"vary_by_subscription"`
	AllowPrivateCaching bool     `json:"allow_private_response_caching"`
	StampedeWaitMs      *int64   `json:"stampede_wait_ms"`
}

// Stampede protection bounds (milliseconds).
const (
	DefaultStampedeWaitMs = 5000
	MaxStampedeWaitMs     = 30000
)

// Policy is a configured cache-lookup.
type Policy struct {
	method []byte // reused
	sdk.Base
	vary          []string
	bySub         bool
	allowPrivate  bool
	wait          time.Duration // stampede wait; 0: no fill lease
	keyBuf, input []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{bySub: c.VaryBySubscription, allowPrivate: c.AllowPrivateCaching, wait: DefaultStampedeWaitMs * time.Millisecond}
	if c.StampedeWaitMs != nil {
		if w := *c.StampedeWaitMs; w < 0 || w > MaxStampedeWaitMs {
			return nil, fmt.Errorf("stampede_wait_ms must be 0 to %d, got %d", MaxStampedeWaitMs, w)
		}
		p.wait = time.Duration(*c.StampedeWaitMs) * time.Millisecond
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
	return p, nil
}

// OnRequest answers from the cache or marks the request for cache-store.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	req := c.Request()
	p.method = c.AppendField(p.method[:0], sdk.FieldMethod)
	if string(p.method) != "GET" {
		return sdk.Continue
	}
	h := req.Header()
	if !p.allowPrivate && h.Has("Authorization") {
		return sdk.Continue
	}
	keyb := p.key(c)
	key := unsafe.String(&keyb[0], len(keyb)) // valid until the next key(); the host copies it
	if done, act := p.lookup(c, key); done {
		return act
	}
	if p.wait > 0 {
		held, err := c.Cache().FillLease(key, p.wait)
		switch {
		case err == nil && !held:
			// Another request is filling the key: the host waits for it and
			// runs this policy again; nothing may be set on this run.
			return sdk.Continue
		case err == nil:
			// The filler may have stored and let go between the Get above
			// and the lease: look again before going to the backend.
			if done, act := p.lookup(c, key); done {
				return act
			}
		case !errors.Is(err, sdk.ErrUnavailable):
			c.Logf(sdk.LogWarn, "cache fill lease: %v", err)
		}
	}
	if err := c.Vars().SetBytes(cacheentry.KeyVar, keyb); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

// lookup gets key from the cache. done reports that the policy is done with
// act: a hit (the answer), or a cache that is unavailable (logged; the
// request goes to the backend and is not cached). A miss, or a corrupt
// entry (dropped), is done false.
func (p *Policy) lookup(c *sdk.Context, key string) (done bool, act sdk.Action) {
	b, err := c.Cache().Get(key)
	switch {
	case err == nil:
		e, derr := cacheentry.Decode(b)
		if derr == nil {
			return true, p.answer(c, e)
		}
		c.Log(sdk.LogWarn, "dropping a corrupt cache entry")
		c.Cache().Delete(key)
	case !errors.Is(err, sdk.ErrNotFound):
		// The cache is best effort: without it, the backend answers.
		c.Logf(sdk.LogWarn, "cache unavailable: %v", err)
		return true, sdk.Continue
	}
	return false, sdk.Continue
}

// key builds the cache key into p.keyBuf without allocating: API, method,
// original path, query, vary-by headers and (optionally) the subscription,
// NUL-separated (none of them can contain NUL: the edge refuses it). Short
// inputs are the key as they are — an exact match, no hashing in the guest
// on the hot path; long ones are hashed with SHA-256 to fit the host's key
// limit.
func (p *Policy) key(c *sdk.Context) []byte {
	in := append(p.input[:0], "v1\x00"...)
	in = append(c.AppendField(in, sdk.FieldAPI), 0)
	in = append(in, "GET\x00"...)
	in = append(c.AppendField(in, sdk.FieldOriginalPath), 0) // what the client asked for, whatever rewrites did
	in = append(c.AppendField(in, sdk.FieldQuery), 0)
	for _, name := range p.vary {
		in = append(append(in, name...), 0)
		for _, v := range c.Request().Header().Values(name) {
			in = append(append(in, v...), 0)
		}
		in = append(in, ';')
	}
	if p.bySub {
		in = append(c.AppendField(in, sdk.FieldSubscription), 0)
	}
	p.input = in
	k := append(p.keyBuf[:0], KeyPrefix...)
	if len(k)+len(in) <= maxRawKey {
		k = append(k, in...)
	} else {
		sum := sha256.Sum256(in)
		k = hex.AppendEncode(append(k, "sha256:"...), sum[:])
	}
	p.keyBuf = k
	return k
}

// maxRawKey bounds keys used as they are; the host takes up to 512 bytes.
const maxRawKey = 480

func (p *Policy) answer(c *sdk.Context, e cacheentry.Entry) sdk.Action {
	h := c.Response().Header()
	for _, hd := range e.Headers {
		if err := h.Add(hd.Name, hd.Value); err != nil {
			return c.Fail(fmt.Errorf("cached header %s: %w", hd.Name, err))
		}
	}
	if err := h.Set("X-Cache", "HIT"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(e.Status, e.Body)
}
