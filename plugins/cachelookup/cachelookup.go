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
//	  "allow_private_response_caching": false  // also cache requests with an Authorization header
//	}
//
// Only GET requests are cached. The key is built from the API, method,
// original path (as the client sent it, before rewrites), query, the
// vary_by_headers values and, if asked, the subscription — used as it is
// when short (an exact match) and hashed with SHA-256 when long. Put cache-lookup
// after subscription-key so the key parameter is no longer in the query.
// Requests with an Authorization header are not cached unless
// allow_private_response_caching is true: their responses may be personal.
package cachelookup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
}

// Policy is a configured cache-lookup.
type Policy struct {
	method []byte // reused
	sdk.Base
	vary          []string
	bySub         bool
	allowPrivate  bool
	keyBuf, input []byte
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{bySub: c.VaryBySubscription, allowPrivate: c.AllowPrivateCaching}
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
	b, err := c.Cache().Get(key)
	switch {
	case err == nil:
		e, derr := cacheentry.Decode(b)
		if derr == nil {
			return p.answer(c, e)
		}
		c.Log(sdk.LogWarn, "dropping a corrupt cache entry")
		c.Cache().Delete(key)
	case !errors.Is(err, sdk.ErrNotFound):
		// The cache is best effort: without it, the backend answers.
		c.Logf(sdk.LogWarn, "cache unavailable: %v", err)
		return sdk.Continue
	}
	if err := c.Vars().SetBytes(cacheentry.KeyVar, keyb); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
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
