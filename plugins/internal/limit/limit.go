// Package limit holds what rate-limit, rate-limit-by-key, the quotas and
// limit-concurrency share: the counter_key grammar and the key it selects,
// the 429 answer and the "calls left" variable.
package limit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// MaxPeriod is the longest renewal period in seconds: the host's longest
// window (366 days).
const MaxPeriod = 366 * 24 * 60 * 60

// maxKeyValue is the longest counter key value used as it is; longer ones
// (header values, variables, claims) are hashed so that keys stay under the
// host's 512-byte limit.
const maxKeyValue = 256

// MaxVarName is the longest variable name the host accepts.
const MaxVarName = 128

// Kind is what a counter key counts by.
type Kind int

// Key kinds.
const (
	BySubscription Kind = iota // "subscription": the bound subscription, else the client IP
	ByIP                       // "ip"
	ByHeader                   // "header:Name"
	ByVar                      // "var:name"
	ByClaim                    // "claim:name": a claim of the JWT claims in a variable
)

// Key is a parsed counter_key.
type Key struct {
	Kind Kind
	// Name is the header, variable or claim name.
	Name string
	// ClaimsVar is the variable holding the claims JSON (ByClaim).
	ClaimsVar string
}

// ParseKey parses a counter_key value (field names the config field in
// errors). claims allows the "claim:name" form.
func ParseKey(field, k string, claims bool) (Key, error) {
	switch {
	case k == "" || k == "subscription":
		return Key{Kind: BySubscription}, nil
	case k == "ip":
		return Key{Kind: ByIP}, nil
	case strings.HasPrefix(k, "header:"):
		name := strings.TrimPrefix(k, "header:")
		if !conf.IsToken(name) {
			return Key{}, fmt.Errorf("%s %q: %q is not a valid header name", field, k, name)
		}
		return Key{Kind: ByHeader, Name: name}, nil
	case strings.HasPrefix(k, "var:"):
		name := strings.TrimPrefix(k, "var:")
		if name == "" || len(name) > MaxVarName {
			return Key{}, fmt.Errorf("%s %q: a variable name is 1 to %d bytes", field, k, MaxVarName)
		}
		return Key{Kind: ByVar, Name: name}, nil
	case claims && strings.HasPrefix(k, "claim:"):
		name := strings.TrimPrefix(k, "claim:")
		if name == "" || len(name) > 256 {
			return Key{}, fmt.Errorf("%s %q: a claim name is 1 to 256 bytes", field, k)
		}
		return Key{Kind: ByClaim, Name: name}, nil
	}
	if claims {
		return Key{}, fmt.Errorf(`%s %q: want "subscription", "ip", "header:Name", "var:name" or "claim:name"`, field, k)
	}
	return Key{}, fmt.Errorf(`%s %q: want "subscription", "ip", "header:Name" or "var:name"`, field, k)
}

// Append appends the key's kind tag and value for the current request to
// dst: "s:<subscription>" (or "i:<ip>" when none is bound), "i:<ip>",
// "h:<header>", "v:<variable>" or "c:<claim>". A value over 256 bytes is
// replaced by '#' and its SHA-256 in hex. Only variables and claims
// allocate.
func (k *Key) Append(dst []byte, c *sdk.Context) []byte {
	mark := len(dst)
	switch k.Kind {
	case BySubscription:
		dst = c.AppendField(append(dst, "s:"...), sdk.FieldSubscription)
		if len(dst) == mark+2 {
			dst = IPKey(c.AppendField(append(dst[:mark], "i:"...), sdk.FieldClientIP), mark+2)
		}
	case ByIP:
		dst = IPKey(c.AppendField(append(dst, "i:"...), sdk.FieldClientIP), mark+2)
	case ByHeader:
		dst, _ = c.Request().Header().AppendGet(append(dst, "h:"...), k.Name)
	case ByVar:
		v, _ := c.Vars().Get(k.Name)
		dst = append(append(dst, "v:"...), v...)
	case ByClaim:
		dst = append(dst, "c:"...)
		if js, ok := c.Vars().Get(k.ClaimsVar); ok {
			dst = AppendClaim(dst, js, k.Name)
		}
	}
	if v := dst[mark+2:]; len(v) > maxKeyValue {
		sum := sha256.Sum256(v)
		dst = hex.AppendEncode(append(dst[:mark+2], '#'), sum[:])
	}
	return dst
}

// AppendClaim appends the value of the top-level claim name of the JSON
// object claims: a string as it is, anything else (number, boolean, array,
// object) as its compact JSON text. An absent claim or invalid JSON appends
// nothing.
func AppendClaim(dst []byte, claims, name string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(claims), &m) != nil {
		return dst
	}
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return dst
	}
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return append(dst, s...)
	}
	return append(dst, raw...)
}

// RetryAfter returns the whole seconds until resetAt, at least 1.
func RetryAfter(c *sdk.Context, resetAt time.Time) int64 {
	secs := int64((resetAt.Sub(c.Now()) + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// Refusal builds 429 answers without allocating once its buffers have
// grown. Keep one per policy.
type Refusal struct {
	num, body []byte
}

// Respond answers 429 with header (Retry-After unless renamed) set to secs
// and the APIM body {"statusCode":429,"message":"Rate limit is exceeded.
// Try again in N seconds."}.
func (r *Refusal) Respond(c *sdk.Context, header string, secs int64) sdk.Action {
	r.body = append(r.body[:0], `{"statusCode":429,"message":"Rate limit is exceeded. Try again in `...)
	r.body = strconv.AppendInt(r.body, secs, 10)
	r.body = append(r.body, ` seconds."}`...)
	return r.send(c, header, secs)
}

// RespondMessage answers 429 like Respond with the body
// {"statusCode":429,"message":<message>} (message is plain text; it is
// JSON-quoted here).
func (r *Refusal) RespondMessage(c *sdk.Context, header string, secs int64, message string) sdk.Action {
	r.body = append(r.body[:0], `{"statusCode":429,"message":`...)
	r.body = strconv.AppendQuote(r.body, message)
	r.body = append(r.body, '}')
	return r.send(c, header, secs)
}

// send sets the headers and answers 429 with r.body.
func (r *Refusal) send(c *sdk.Context, header string, secs int64) sdk.Action {
	h := c.Response().Header()
	if header != "" {
		r.num = strconv.AppendInt(r.num[:0], secs, 10)
		// The host only reads the value; r.num does not change until it returns.
		if err := h.Set(header, unsafe.String(&r.num[0], len(r.num))); err != nil {
			return c.Fail(err)
		}
	}
	if err := h.Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(429, r.body)
}

// SetMin stores left in the variable name unless it already holds a
// smaller number (the tightest of several limits wins). buf is reused.
func SetMin(c *sdk.Context, name string, left int64, buf *[]byte) error {
	if s, ok := c.Vars().Get(name); ok {
		if prev, err := strconv.ParseInt(s, 10, 64); err == nil && prev <= left {
			return nil
		}
	}
	*buf = strconv.AppendInt((*buf)[:0], left, 10)
	return c.Vars().SetBytes(name, *buf)
}

// SetInt stores n in the variable name. buf is reused.
func SetInt(c *sdk.Context, name string, n int64, buf *[]byte) error {
	*buf = strconv.AppendInt((*buf)[:0], n, 10)
	return c.Vars().SetBytes(name, *buf)
}

// Statuses is a parsed increment_condition: status codes and classes.
type Statuses []struct{ lo, hi int }

// ParseStatuses parses a list of status codes ("404") and classes ("2xx")
// of the config field field; duplicates are errors.
func ParseStatuses(field string, list []string) (Statuses, error) {
	var out Statuses
	seen := map[string]bool{}
	for _, s := range list {
		bad := fmt.Errorf(`%s: %q is not a status code 100-599 or a class like "2xx"`, field, s)
		if len(s) != 3 || s[0] < '1' || s[0] > '5' {
			return nil, bad
		}
		lo := int(s[0]-'0') * 100
		hi := lo + 99
		if s[1:] != "xx" {
			if s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
				return nil, bad
			}
			lo += int(s[1]-'0')*10 + int(s[2]-'0')
			hi = lo
		}
		if seen[s] {
			return nil, fmt.Errorf("%s: %q is listed twice", field, s)
		}
		seen[s] = true
		out = append(out, struct{ lo, hi int }{lo, hi})
	}
	return out, nil
}

// Match reports whether code is one of the statuses.
func (s Statuses) Match(code int) bool {
	for _, r := range s {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// IPKey turns the client address in b[start:] (text form) into its counting
// key in place: an IPv4 address stays as it is, an IPv6 address becomes its
// /64 prefix ("2001:db8:1:2::/64"). One IPv6 client (a home or mobile
// network, a host with privacy addresses) is normally given a whole /64 and
// can pick any of its 2^64 addresses per request, so keying by the address
// would give it a fresh counter every call. It does not allocate.
func IPKey(b []byte, start int) []byte {
	ip := b[start:]
	if len(ip) == 0 {
		return b
	}
	a, err := netip.ParseAddr(unsafe.String(&ip[0], len(ip)))
	if err != nil || !a.Is6() || a.Is4In6() {
		return b
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.AppendTo(b[:start])
}
