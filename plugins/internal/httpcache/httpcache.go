// Package httpcache holds the rules of RFC 9111 (HTTP caching) that the
// response-cache policies (cache-lookup, cache-store) apply as a shared
// cache: Cache-Control parsing, freshness lifetime, age, heuristic
// freshness, validators, conditional requests. Pure functions over header
// values: tested natively, fuzzed (Cache-Control and dates come from
// clients and backends).
package httpcache

import (
	"strconv"
	"strings"
	"time"
)

// Directives is a parsed Cache-Control (request or response). Seconds are
// -1 when the directive is absent.
type Directives struct {
	NoStore, NoCache, Private, Public    bool
	MustRevalidate, ProxyRevalidate      bool
	OnlyIfCached, NoTransform, Immutable bool
	MaxStaleAny                          bool // max-stale without a value
	NoCacheFields, PrivateFields         []string
	MaxAge, SMaxAge, MaxStale, MinFresh  int64
	StaleWhileRevalidate, StaleIfError   int64
	Invalid                              bool // a known directive with a bad argument
}

// maxDelta caps delta-seconds (RFC 9111 §1.2.2: 2^31 is "infinity").
const maxDelta = 1 << 31

// ParseCacheControl parses every Cache-Control field line of a message.
// Unknown directives are ignored; a known one with a malformed argument
// sets Invalid (callers treat a response with an invalid max-age as stale,
// as RFC 9111 §4.2.1 asks, and the rest as absent). A directive given
// twice keeps the first value.
func ParseCacheControl(lines []string) Directives {
	d := Directives{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}
	for _, line := range lines {
		for len(line) > 0 {
			var item string
			item, line = nextItem(line)
			name, arg, hasArg := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.TrimSpace(arg)
			if name == "" {
				continue
			}
			quoted := false
			if len(arg) >= 2 && arg[0] == '"' && arg[len(arg)-1] == '"' {
				arg, quoted = unquote(arg[1:len(arg)-1]), true
			}
			switch name {
			case "no-store":
				d.NoStore = true
			case "no-cache":
				if hasArg {
					d.NoCacheFields = appendFields(d.NoCacheFields, arg)
				} else {
					d.NoCache = true
				}
			case "private":
				if hasArg {
					d.PrivateFields = appendFields(d.PrivateFields, arg)
				} else {
					d.Private = true
				}
			case "public":
				d.Public = true
			case "must-revalidate":
				d.MustRevalidate = true
			case "proxy-revalidate":
				d.ProxyRevalidate = true
			case "only-if-cached":
				d.OnlyIfCached = true
			case "no-transform":
				d.NoTransform = true
			case "immutable":
				d.Immutable = true
			case "max-age":
				d.MaxAge = delta(&d, d.MaxAge, arg, hasArg, quoted)
			case "s-maxage":
				d.SMaxAge = delta(&d, d.SMaxAge, arg, hasArg, quoted)
			case "min-fresh":
				d.MinFresh = delta(&d, d.MinFresh, arg, hasArg, quoted)
			case "stale-while-revalidate":
				d.StaleWhileRevalidate = delta(&d, d.StaleWhileRevalidate, arg, hasArg, quoted)
			case "stale-if-error":
				d.StaleIfError = delta(&d, d.StaleIfError, arg, hasArg, quoted)
			case "max-stale":
				if !hasArg {
					d.MaxStaleAny = true
				} else {
					d.MaxStale = delta(&d, d.MaxStale, arg, hasArg, quoted)
				}
			}
		}
	}
	return d
}

// nextItem splits off one comma-separated item, honouring quoted strings
// (a quoted field list contains commas).
func nextItem(s string) (item, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func appendFields(dst []string, list string) []string {
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			dst = append(dst, CanonicalHeader(f))
		}
	}
	return dst
}

// delta parses delta-seconds (digits only; larger than 2^31 is 2^31).
// quoted values are accepted, as RFC 9111 §5.2 asks of recipients.
func delta(d *Directives, cur int64, arg string, hasArg, _ bool) int64 {
	if cur >= 0 {
		return cur // the first one wins
	}
	if !hasArg || arg == "" {
		d.Invalid = true
		return -1
	}
	var n int64
	for i := 0; i < len(arg); i++ {
		c := arg[i]
		if c < '0' || c > '9' {
			d.Invalid = true
			return -1
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxDelta {
		n = maxDelta
	}
	return n
}

// CanonicalHeader is the canonical MIME form of a header name (as the host
// gives names): "content-type" → "Content-Type".
func CanonicalHeader(s string) string {
	b := []byte(s)
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return string(b)
}

// ParseDate parses an HTTP-date (IMF-fixdate, RFC 850, asctime). ok is
// false for anything else.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var dateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// FormatDate formats t as an IMF-fixdate.
func FormatDate(t time.Time) string { return t.UTC().Format(dateLayouts[0]) }

// Header is read access to a message's header fields (canonical names).
type Header interface {
	Values(name string) []string
}

// Get is the first value of name, or "".
func Get(h Header, name string) string {
	if v := h.Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// heuristicStatus are the statuses RFC 9110 §15.1 defines as heuristically
// cacheable (206 is left out: this cache does not store partial content).
var heuristicStatus = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true, 404: true, 405: true, 410: true, 414: true, 501: true}

// HeuristicallyCacheable reports whether status may get heuristic
// freshness (and is storable without explicit freshness).
func HeuristicallyCacheable(status int) bool { return heuristicStatus[status] }

// Heuristic freshness: a fraction of the time since Last-Modified, capped.
const (
	HeuristicFraction = 10 // percent
	HeuristicMax      = 24 * time.Hour
)

// Lifetime is the freshness lifetime of a response as a shared cache sees
// it (RFC 9111 §4.2.1): s-maxage, else max-age, else Expires − Date (Date
// defaults to responseTime), else heuristic when allowed (§4.2.2: the
// status is heuristically cacheable or the response is public, and there
// is no explicit expiration: 10% of Date − Last-Modified, at most 24 h).
// explicit reports that the origin gave one. An invalid max-age/s-maxage
// or Expires gives 0 (stale).
func Lifetime(status int, h Header, cc Directives, responseTime time.Time) (life time.Duration, explicit, heuristic bool) {
	if cc.SMaxAge >= 0 {
		return time.Duration(cc.SMaxAge) * time.Second, true, false
	}
	if cc.MaxAge >= 0 {
		return time.Duration(cc.MaxAge) * time.Second, true, false
	}
	if cc.Invalid && hasDirective(h, "max-age", "s-maxage") {
		return 0, true, false
	}
	date := responseTime
	if t, ok := ParseDate(Get(h, "Date")); ok {
		date = t
	}
	if ev := h.Values("Expires"); len(ev) > 0 {
		exp, ok := ParseDate(ev[0])
		if !ok || len(ev) > 1 {
			return 0, true, false // invalid Expires: already expired
		}
		if d := exp.Sub(date); d > 0 {
			return d, true, false
		}
		return 0, true, false
	}
	if !HeuristicallyCacheable(status) && !cc.Public {
		return 0, false, false
	}
	lm, ok := ParseDate(Get(h, "Last-Modified"))
	if !ok || !lm.Before(date) {
		return 0, false, false
	}
	life = date.Sub(lm) * HeuristicFraction / 100
	if life > HeuristicMax {
		life = HeuristicMax
	}
	return life.Truncate(time.Second), false, true
}

func hasDirective(h Header, names ...string) bool {
	for _, v := range h.Values("Cache-Control") {
		lv := strings.ToLower(v)
		for _, n := range names {
			if strings.Contains(lv, n) {
				return true
			}
		}
	}
	return false
}

// InitialAge is corrected_initial_age of RFC 9111 §4.2.3: what the
// response's age was when it arrived, from its Age and Date fields and the
// request's round trip.
func InitialAge(h Header, requestTime, responseTime time.Time) time.Duration {
	var apparent time.Duration
	if t, ok := ParseDate(Get(h, "Date")); ok {
		if d := responseTime.Sub(t); d > 0 {
			apparent = d
		}
	}
	var ageValue time.Duration
	if v := strings.TrimSpace(Get(h, "Age")); v != "" {
		var n int64
		valid := true
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				valid = false
				break
			}
			if n < maxDelta {
				n = n*10 + int64(v[i]-'0')
			}
		}
		if valid {
			if n > maxDelta {
				n = maxDelta
			}
			ageValue = time.Duration(n) * time.Second
		}
	}
	delay := responseTime.Sub(requestTime)
	if delay < 0 {
		delay = 0
	}
	corrected := ageValue + delay
	if apparent > corrected {
		return apparent
	}
	return corrected
}

// ETagMatch reports whether an If-None-Match value matches etag by the
// weak comparison (RFC 9110 §13.1.2): "*" matches any current entity.
func ETagMatch(ifNoneMatch []string, etag string) bool {
	if etag == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, line := range ifNoneMatch {
		for _, t := range strings.Split(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == want {
				return true
			}
		}
	}
	return false
}

// NotModified reports whether a conditional GET (If-None-Match, else
// If-Modified-Since) is answered 304 by a response with these validators
// (RFC 9110 §13.2.2: If-None-Match takes precedence).
func NotModified(ifNoneMatch []string, ifModifiedSince, etag, lastModified, date string) bool {
	if len(ifNoneMatch) > 0 {
		return ETagMatch(ifNoneMatch, etag)
	}
	if ifModifiedSince == "" {
		return false
	}
	ims, ok := ParseDate(ifModifiedSince)
	if !ok {
		return false
	}
	lm, ok := ParseDate(lastModified)
	if !ok {
		// No Last-Modified: the Date of the stored response stands for it
		// only when it is a strong validator by then; be conservative.
		return false
	}
	return !lm.After(ims)
}

// Seconds formats a duration as whole delta-seconds (floor, at least 0).
func Seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// NormalizeValues is how a request's values of one Vary field are compared
// (RFC 9111 §4.1): the field lines joined by ", ", whitespace runs around
// commas and at the ends removed. Values are otherwise compared exactly
// (case matters).
func NormalizeValues(dst []byte, lines []string) []byte {
	first := true
	for _, l := range lines {
		for _, part := range strings.Split(l, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, part...)
		}
	}
	return dst
}

// VaryNames parses Vary field lines into canonical, sorted, distinct names;
// star reports "*".
func VaryNames(lines []string) (names []string, star bool) {
	for _, l := range lines {
		for _, n := range strings.Split(l, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "":
			case n == "*":
				star = true
			default:
				names = append(names, CanonicalHeader(n))
			}
		}
	}
	// insertion sort, dedup: lists are short
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out, star
}
