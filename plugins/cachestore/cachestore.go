// Package cachestore is the cache-store policy (Azure API Management's
// cache-store): in the response phase it stores the backend's response in
// the gateway's response cache, under the key a cache-lookup policy chose
// for the request on a miss (the variable cacheentry.KeyVar). Attach
// cache-lookup in the inbound section and cache-store in the outbound one.
//
// Config:
//
//	{
//	  "duration": 300,          // required: seconds an entry lives, 1 to 86400
//	  "max_body_bytes": 262144  // larger responses are not stored (default 256 KiB, at most 4 MiB)
//	}
//
// Only 200 responses are stored, and not those the backend marks
// Cache-Control no-store or private, nor those that set cookies. Stored
// responses get the header X-Cache: MISS. Caching is best effort: a cache
// that is full or unavailable is logged and the response goes out as it is.
// The entry format is documented in plugins/internal/cacheentry.
package cachestore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/plugins/internal/conf"
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
	Duration     int64 `json:"duration"`
	MaxBodyBytes *int  `json:"max_body_bytes"`
}

// Policy is a configured cache-store.
type Policy struct {
	sdk.Base
	ttl     time.Duration
	maxBody int
	headers []cacheentry.Header
	entry   []byte
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
	p := &Policy{ttl: time.Duration(c.Duration) * time.Second, maxBody: DefaultMaxBodyBytes}
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
	"Content-Length": true, "Date": true, "X-Cache": true, "Age": true,
}

// OnResponse stores the response when cache-lookup missed.
func (p *Policy) OnResponse(c *sdk.Context) sdk.Action {
	key, ok := c.Vars().Get(cacheentry.KeyVar)
	if !ok {
		return sdk.Continue
	}
	resp := c.Response()
	status := resp.Status()
	if status != 200 {
		return sdk.Continue
	}
	p.headers = p.headers[:0]
	for name, value := range resp.Header().All() {
		switch {
		case name == "Set-Cookie":
			return sdk.Continue
		case name == "Cache-Control" && noStore(value):
			return sdk.Continue
		case skipped[name]: // names come canonical from the host
			continue
		}
		p.headers = append(p.headers, cacheentry.Header{Name: name, Value: value})
	}
	body, err := resp.Body()
	switch {
	case errors.Is(err, sdk.ErrTooLarge):
		return sdk.Continue
	case err != nil:
		return c.Fail(err)
	case len(body) > p.maxBody:
		return sdk.Continue
	}
	p.entry = cacheentry.Append(p.entry[:0], status, p.headers, body)
	if err := c.Cache().Set(key, p.entry, p.ttl); err != nil {
		c.Logf(sdk.LogWarn, "not cached: %v", err)
		return sdk.Continue
	}
	if cap(p.entry) > 2*DefaultMaxBodyBytes {
		p.entry = nil // do not keep a big buffer for the instance's life
	}
	if err := resp.Header().Set("X-Cache", "MISS"); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

// noStore reports whether a Cache-Control value forbids a shared cache to
// store the response.
func noStore(v string) bool {
	for _, d := range strings.Split(v, ",") {
		d, _, _ = strings.Cut(strings.TrimSpace(d), "=")
		if strings.EqualFold(d, "no-store") || strings.EqualFold(d, "private") || strings.EqualFold(d, "no-cache") {
			return true
		}
	}
	return false
}
