// Package cacheentry is the format in which the response-cache policies
// (cache-lookup, cache-store) keep a response, and a URL's record, in the
// gateway's value cache (keys: abi/respcache).
//
// A response entry is, in order:
//
//	version   1 byte, 2
//	kind      1 byte, 'e'
//	status    uvarint
//	times     uvarints: request time, response time (Unix ms), initial
//	          age (ms, RFC 9111 corrected_initial_age), freshness lifetime
//	          (ms), storage duration (s), stale-while-revalidate + 1 and
//	          stale-if-error + 1 (s; 0 = absent)
//	flags     uvarint: FlagMustRevalidate, FlagNoCache, FlagFixed
//	headers   uvarint count, then for each header line:
//	          uvarint name length, name, uvarint value length, value
//	body      the remaining bytes
//
// A URL record is version, kind 'u', the invalidation time (Unix ms,
// uvarint: variants whose request started at or before it are not used)
// and the origin's Vary names (uvarint count, then length-prefixed names).
//
// Uvarints are encoding/binary's. Header names are canonical; a header with
// several values has one line per value. Anything else (another version, a
// truncated entry) fails to decode and is treated as a miss.
package cacheentry

import (
	"encoding/binary"
	"errors"

	"github.com/gatehouse/gatehouse/plugins/internal/httpcache"
)

// Version is the format version this package writes.
const Version = 2

// KeyVar is the variable through which cache-lookup tells cache-store, on a
// miss, what to store the response under: see cachelookup.
const KeyVar = "cache-lookup.key"

// Flags of an entry.
const (
	FlagMustRevalidate = 1 << iota // must-revalidate / proxy-revalidate: never served stale
	FlagNoCache                    // no-cache: revalidated before every use
	FlagFixed                      // stored in APIM's fixed-duration mode
)

// Header is one header line.
type Header struct{ Name, Value string }

// Entry is a decoded cached response.
type Entry struct {
	Status       int
	RequestTime  int64 // Unix ms
	ResponseTime int64 // Unix ms
	InitialAge   int64 // ms
	Lifetime     int64 // ms
	StoreSeconds int64 // how long the entry is kept (cache-store's duration)
	SWR, SIE     int64 // seconds, -1 when absent
	Flags        uint64
	Headers      []Header
	Body         []byte // aliases the decoded buffer
}

// URLRecord is a URL's record.
type URLRecord struct {
	InvalidatedAt int64 // Unix ms
	Vary          []string
}

// ErrCorrupt is returned for data that is not an entry of this version.
var ErrCorrupt = errors.New("cacheentry: not a valid cache entry")

// Append encodes a response and appends it to dst.
func Append(dst []byte, e *Entry) []byte {
	dst = append(dst, Version, 'e')
	for _, v := range [...]uint64{uint64(e.Status), u(e.RequestTime), u(e.ResponseTime), u(e.InitialAge), u(e.Lifetime), u(e.StoreSeconds), u(e.SWR + 1), u(e.SIE + 1), e.Flags} {
		dst = binary.AppendUvarint(dst, v)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Headers)))
	for _, h := range e.Headers {
		dst = appendField(dst, h.Name)
		dst = appendField(dst, h.Value)
	}
	return append(dst, e.Body...)
}

func u(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func appendField(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// maxInt bounds decoded numbers (times in ms fit comfortably).
const maxInt = 1 << 62

// Decode decodes a response entry. The body aliases b.
func Decode(b []byte) (Entry, error) {
	if len(b) < 2 || b[0] != Version || b[1] != 'e' {
		return Entry{}, ErrCorrupt
	}
	b = b[2:]
	var nums [9]uint64
	for i := range nums {
		v, rest, ok := uvarint(b)
		if !ok || v > maxInt {
			return Entry{}, ErrCorrupt
		}
		nums[i], b = v, rest
	}
	if nums[0] < 100 || nums[0] > 599 {
		return Entry{}, ErrCorrupt
	}
	e := Entry{
		Status: int(nums[0]), RequestTime: int64(nums[1]), ResponseTime: int64(nums[2]),
		InitialAge: int64(nums[3]), Lifetime: int64(nums[4]), StoreSeconds: int64(nums[5]),
		SWR: int64(nums[6]) - 1, SIE: int64(nums[7]) - 1, Flags: nums[8],
	}
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b))/2 {
		return Entry{}, ErrCorrupt
	}
	e.Headers = make([]Header, n)
	for i := range e.Headers {
		var name, value []byte
		if name, b, ok = field(b); !ok {
			return Entry{}, ErrCorrupt
		}
		if value, b, ok = field(b); !ok {
			return Entry{}, ErrCorrupt
		}
		e.Headers[i] = Header{string(name), string(value)}
	}
	e.Body = b
	return e, nil
}

// Get is the first value of a header of the entry, or "".
func (e *Entry) Get(name string) string {
	for _, h := range e.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// Values are the values of a header of the entry.
func (e *Entry) Values(name string) []string {
	var vs []string
	for _, h := range e.Headers {
		if h.Name == name {
			vs = append(vs, h.Value)
		}
	}
	return vs
}

// AppendURLRecord encodes a URL record and appends it to dst.
func AppendURLRecord(dst []byte, r *URLRecord) []byte {
	dst = append(dst, Version, 'u')
	dst = binary.AppendUvarint(dst, u(r.InvalidatedAt))
	dst = binary.AppendUvarint(dst, uint64(len(r.Vary)))
	for _, n := range r.Vary {
		dst = appendField(dst, n)
	}
	return dst
}

// DecodeURLRecord decodes a URL record.
func DecodeURLRecord(b []byte) (URLRecord, error) {
	if len(b) < 2 || b[0] != Version || b[1] != 'u' {
		return URLRecord{}, ErrCorrupt
	}
	b = b[2:]
	at, b, ok := uvarint(b)
	if !ok || at > maxInt {
		return URLRecord{}, ErrCorrupt
	}
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return URLRecord{}, ErrCorrupt
	}
	r := URLRecord{InvalidatedAt: int64(at)}
	for range n {
		var name []byte
		if name, b, ok = field(b); !ok || len(name) == 0 {
			return URLRecord{}, ErrCorrupt
		}
		r.Vary = append(r.Vary, string(name))
	}
	if len(b) != 0 {
		return URLRecord{}, ErrCorrupt
	}
	return r, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

func field(b []byte) ([]byte, []byte, bool) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

// Pending is what cache-lookup hands cache-store in KeyVar on a miss:
// when the request started, whether it carried Authorization (then only a
// response that allows it is stored), and the parts of the key.
type Pending struct {
	RequestTime int64 // Unix ms
	Auth        bool
	URL, API    string // respcache.URLPart, APIPart
	Base        []byte // the variant before the origin's Vary values
}

// AppendPending encodes p for KeyVar.
func AppendPending(dst []byte, p *Pending) []byte {
	dst = binary.AppendUvarint(dst, u(p.RequestTime))
	if p.Auth {
		dst = append(dst, 'a')
	} else {
		dst = append(dst, '-')
	}
	dst = appendField(dst, p.URL)
	dst = appendField(dst, p.API)
	return append(dst, p.Base...)
}

// DecodePending decodes KeyVar's value.
func DecodePending(s string) (Pending, bool) {
	b := []byte(s)
	t, b, ok := uvarint(b)
	if !ok || t > maxInt || len(b) == 0 {
		return Pending{}, false
	}
	p := Pending{RequestTime: int64(t), Auth: b[0] == 'a'}
	var url, api []byte
	if url, b, ok = field(b[1:]); !ok {
		return Pending{}, false
	}
	if api, b, ok = field(b); !ok {
		return Pending{}, false
	}
	p.URL, p.API, p.Base = string(url), string(api), b
	return p, true
}

// ValuesOf reads a message's header values (sdk.Header implements it).
type ValuesOf interface {
	Values(name string) []string
}

// AppendVariant appends to base the request's normalised values of the
// origin's Vary names (sorted): what selects one variant of a URL.
func AppendVariant(dst, base []byte, names []string, req ValuesOf) []byte {
	dst = append(dst, base...)
	for _, n := range names {
		dst = append(dst, 0)
		dst = append(dst, n...)
		dst = append(dst, '=')
		dst = httpcache.NormalizeValues(dst, req.Values(n))
	}
	return dst
}
