package sdk

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Vars are the request's variables: named strings that live for the request
// and are shared along the policy chain, across modules and phases. Names are
// 1–128 bytes; values at most 64 KiB; at most 256 variables per request.
type Vars struct{ c *Context }

// Vars returns the request's variables.
func (c *Context) Vars() Vars { return Vars{c} }

// Get returns the variable's value and whether it is set.
func (v Vars) Get(name string) (string, bool) {
	s, err := readString(func(buf []byte) int32 { return imports.GetVar(v.c.handle, bytesOf(name), buf) })
	return s, err == nil
}

// Set sets the variable.
func (v Vars) Set(name, value string) error {
	return errOf(imports.SetVar(v.c.handle, bytesOf(name), bytesOf(value)))
}

// Cache is the node's value cache: a bounded LRU with TTLs. The host keeps
// each module's keys in the module's own namespace (other modules never see
// them); keys are not prefixed by the SDK, so within your module choose keys
// that cannot collide with your other policies' (e.g. start them with the
// policy's name).
type Cache struct{ c *Context }

// Cache returns the shared value cache.
func (c *Context) Cache() Cache { return Cache{c} }

// Get returns a copy of the cached value; a miss is ErrNotFound.
func (k Cache) Get(key string) ([]byte, error) {
	return readOwned(func(buf []byte) int32 { return imports.CacheGet(k.c.handle, bytesOf(key), buf) })
}

// Set stores a value for ttl (1 ms to 24 h). A value over the cache's
// per-entry cap is ErrTooLarge.
func (k Cache) Set(key string, value []byte, ttl time.Duration) error {
	return errOf(imports.CacheSet(k.c.handle, bytesOf(key), value, ttl.Milliseconds()))
}

// FillLease asks for the fill lease of key (ABI v1.1, cache_fill_lease):
// cache stampede protection for a policy that missed key and is about to
// have the backend fill it. It reports true when this request now holds the
// lease: it should go on and store key (the host ends the lease when this
// request stores key with Set, or when the request ends, whatever happens).
// It reports false, nil when another request holds it: return Continue at
// once, doing nothing else; the host ends the plan after this policy, waits
// outside the guest — for that fill to end or for wait (at most 30 s),
// whichever comes first — and then runs this policy's stage once more,
// where a Get finds what the filler stored. A request waits at most once:
// from then on a busy lease answers ErrUnavailable (go on to the backend
// without a lease). A wait of 0 asks for no wait: busy is false, nil, and
// the plan goes on.
//
// Keys are the cache's keys, not prefixed by the SDK (the lease is on the
// cache entry key, in the module's namespace). Other errors: ErrUnavailable
// (no lease table on this host, or the table is full: go on without a
// lease), ErrInvalid (empty key, key over 512 bytes, wait outside 0–30 s),
// ErrPhase (allowed in the request phase only), ErrTooLarge (the request
// already holds 16 leases).
func (k Cache) FillLease(key string, wait time.Duration) (bool, error) {
	if wait < 0 || wait > abi.MaxFillLeaseWait*time.Millisecond {
		return false, ErrInvalid
	}
	switch st := imports.CacheFillLease(k.c.handle, bytesOf(key), wait.Milliseconds()); st {
	case abi.OK:
		return true, nil
	case abi.ErrLimit:
		if wait > 0 {
			k.c.rerun = true
		}
		return false, nil
	default:
		return false, statusErr(st)
	}
}

// Delete removes a value; a missing key is not an error.
func (k Cache) Delete(key string) error {
	st := imports.CacheDel(k.c.handle, bytesOf(key))
	if st == abi.ErrNotFound {
		return nil
	}
	return errOf(st)
}

// CounterMode selects how a counter's window works.
type CounterMode int32

// Counter modes. Persist may be OR-ed into either window mode.
const (
	// FixedWindow counts in windows aligned to multiples of the window
	// length since the Unix epoch.
	FixedWindow CounterMode = CounterMode(abi.CounterFixed)
	// SlidingWindow weighs the previous window by its overlap with the last
	// window length and adds the current one: smoother than FixedWindow.
	SlidingWindow CounterMode = CounterMode(abi.CounterSliding)
	// Persist asks the host to keep the counter across restarts (quotas).
	Persist CounterMode = CounterMode(abi.CounterPersist)
)

// Counter is an atomic windowed counter shared by every instance of the
// module on the node (the host keeps each module's counters apart). Its key
// is prefixed with the policy's name, so policies never share counters by
// accident.
type Counter struct {
	c   *Context
	key string
}

// Counter returns the counter key of the running policy. The key (with the
// policy-name prefix and a colon) must be at most 512 bytes.
func (c *Context) Counter(key string) Counter { return Counter{c, key} }

// CounterResult is the outcome of Counter.Add.
type CounterResult struct {
	// Count is the count after the call (with a sliding window, the
	// weighted estimate); when the add was refused, the current count.
	Count int64
	// ResetAt is when the current window ends (the count drops).
	ResetAt time.Time
	// Allowed is false when the limit refused the increment (nothing was
	// counted).
	Allowed bool
}

var (
	counterKey []byte
	counterOut [abi.CounterOutSize]byte
)

// Add adds delta (≥ 0; 0 reads the counter) in the window of the given
// length (1 ms to 366 days) that contains now. With limit > 0, an add that
// would take the count above limit adds nothing and reports Allowed=false.
func (k Counter) Add(delta, limit int64, window time.Duration, mode CounterMode) (CounterResult, error) {
	counterKey = append(counterKey[:0], k.c.policy...)
	counterKey = append(counterKey, ':')
	counterKey = append(counterKey, k.key...)
	st := imports.CounterAdd(k.c.handle, counterKey, delta, limit, window.Milliseconds(), int32(mode), &counterOut)
	if st < 0 && st != abi.ErrLimit {
		return CounterResult{}, statusErr(st)
	}
	return CounterResult{
		Count:   int64(binary.LittleEndian.Uint64(counterOut[0:8])),
		ResetAt: time.UnixMilli(int64(binary.LittleEndian.Uint64(counterOut[8:16]))),
		Allowed: st != abi.ErrLimit,
	}, nil
}

var concurrencyKey []byte

// AcquireConcurrency takes one slot of the concurrency semaphore key, of at
// most limit slots (≥ 1), for the rest of the request (ABI v1.1,
// concurrency_acquire): it reports false when all limit slots are taken by
// requests in flight. The host releases the slot when the request ends,
// whatever happens (an answer, a failure, a backend error, the client going
// away); a policy has no way to release it earlier. Each successful call
// holds one more slot, also on a key the request already holds.
//
// Like counter keys, key is prefixed with the policy's name and a colon
// (at most 512 bytes with the prefix), so policies never share semaphores
// by accident; the key is only read during the call. A host without
// semaphores answers ErrUnavailable; an empty key or a limit below 1 is
// ErrInvalid; a request that already holds 16 slots gets ErrTooLarge.
func (c *Context) AcquireConcurrency(key []byte, limit int64) (bool, error) {
	if len(key) == 0 {
		return false, ErrInvalid
	}
	concurrencyKey = append(concurrencyKey[:0], c.policy...)
	concurrencyKey = append(concurrencyKey, ':')
	concurrencyKey = append(concurrencyKey, key...)
	switch st := imports.ConcurrencyAcquire(c.handle, concurrencyKey, limit); st {
	case abi.OK:
		return true, nil
	case abi.ErrLimit:
		return false, nil
	default:
		return false, statusErr(st)
	}
}

// VerifyJWT has the host verify a compact JWS token with the JSON config cfg
// (see host/jwtverify: algorithms, issuers, audiences, leeway_seconds, one
// key source, required_claims) and returns the token's claims as JSON.
// Failures match ErrJWT and one of the ErrJWT… sentinels; ErrUnavailable if
// the host has no JWT capability.
func (c *Context) VerifyJWT(token string, cfg []byte) (claims []byte, err error) {
	return readOwned(func(buf []byte) int32 { return imports.JWTVerify(c.handle, bytesOf(token), cfg, buf) })
}

// Subscription is a subscription found by Context.LookupSubscription.
type Subscription struct {
	ID      string `json:"id"`
	State   string `json:"state"`   // "active", "suspended", "cancelled", "expired", "submitted", …
	Scope   string `json:"scope"`   // what the key covers: "all", "product", "api"
	Product string `json:"product"` // the product, for product-scoped subscriptions
	User    string `json:"user"`
	// APIAllowed says whether the subscription's scope covers the current API.
	APIAllowed bool `json:"api_allowed"`
}

// Active reports whether the subscription's state is "active".
func (s Subscription) Active() bool { return s.State == "active" }

// LookupSubscription looks a subscription key up in the gateway's catalog.
// An unknown key is ErrNotFound; ErrUnavailable means the host has no
// catalog. When the subscription is active and covers the current API, the
// host binds it to the request (SubscriptionID and Product then return it).
func (c *Context) LookupSubscription(key string) (Subscription, error) {
	n := read(func(buf []byte) int32 { return imports.SubscriptionLookup(c.handle, bytesOf(key), buf) })
	if n < 0 {
		return Subscription{}, statusErr(n)
	}
	var s Subscription
	if parseFlat(scratch[:n], &s) {
		return s, nil
	}
	var slow Subscription
	if err := json.Unmarshal(scratch[:n], &slow); err != nil {
		return Subscription{}, err
	}
	return slow, nil
}

// parseFlat decodes the host's subscription JSON without reflection: a flat
// object of strings without escapes, booleans and nulls. It reports false
// for anything else, and the caller falls back to encoding/json.
func parseFlat(b []byte, s *Subscription) bool {
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	// One string holds every field: the values are substrings of it, so a
	// lookup costs one allocation in the guest instead of one per field.
	var all string
	str := func() ([]byte, bool) {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		i++
		start := i
		for i < len(b) && b[i] != '"' {
			if b[i] == '\\' || b[i] < 0x20 {
				return nil, false
			}
			i++
		}
		if i >= len(b) {
			return nil, false
		}
		i++
		return b[start : i-1], true
	}
	sub := func(v []byte) string {
		if len(v) == 0 {
			return ""
		}
		if all == "" {
			all = string(b)
		}
		off := cap(b) - cap(v) // v is a subslice of b: its offset
		return all[off : off+len(v)]
	}
	ws()
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	ws()
	if i < len(b) && b[i] == '}' {
		i++
		ws()
		return i == len(b)
	}
	for {
		ws()
		key, ok := str()
		if !ok {
			return false
		}
		ws()
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		ws()
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '"':
			v, ok := str()
			if !ok {
				return false
			}
			var dst *string
			switch string(key) {
			case "id":
				dst = &s.ID
			case "state":
				dst = &s.State
			case "scope":
				dst = &s.Scope
			case "product":
				dst = &s.Product
			case "user":
				dst = &s.User
			case "api_allowed":
				return false
			default:
				if !plainKey(key) {
					return false
				}
			}
			if dst != nil {
				if !utf8.Valid(v) {
					return false
				}
				*dst = sub(v)
			}
		case 't', 'f', 'n':
			var lit string
			switch b[i] {
			case 't':
				lit = "true"
			case 'f':
				lit = "false"
			default:
				lit = "null"
			}
			if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
				return false
			}
			i += len(lit)
			switch string(key) {
			case "api_allowed":
				switch lit {
				case "true":
					s.APIAllowed = true
				case "false":
					s.APIAllowed = false
				}
			case "id", "state", "scope", "product", "user":
				if lit != "null" {
					return false
				}
			default:
				if !plainKey(key) {
					return false
				}
			}
		default:
			return false
		}
		ws()
		if i >= len(b) {
			return false
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return false
		}
		i++
		ws()
		return i == len(b)
	}
}

// plainKey reports whether an unknown key cannot be mistaken for a known
// one: encoding/json matches keys case-insensitively.
func plainKey(k []byte) bool {
	for _, known := range [...]string{"id", "state", "scope", "product", "user", "api_allowed"} {
		if strings.EqualFold(string(k), known) {
			return false
		}
	}
	return utf8.Valid(k)
}
