// Package abi is the Gatehouse host ABI, version 1: the names, numbers and
// packing rules shared by the host (host/...) and the guest SDK (sdk/...).
//
// This file is the machine-readable half of the contract; ABI.md beside it is
// the normative text. Both are changed together. The package imports only the
// standard library and holds no mutable state.
package abi

// Major is the ABI major version. It is part of the host module name and of
// the version-marker export, so a guest built for another major version fails
// at load with a message naming both versions.
const Major = 1

// Minor is the newest ABI minor version this tree implements. Minor versions
// only add host functions, fields, kinds and flags; a guest built against
// minor M runs on any host with minor >= M.
const Minor = 2

// HostModule is the Wasm import module every Gatehouse host function lives in.
const HostModule = "gatehouse_v1"

// WASIModule is the WASI preview 1 module name. A guest may import only the
// functions listed in AllowedWASI from it.
const WASIModule = "wasi_snapshot_preview1"

// Guest exports.
const (
	// ExportVersion is the version marker: () -> i32, returning the ABI minor
	// version the guest was built against. Its name carries the major version.
	ExportVersion = "gatehouse_abi_v1"
	// ExportVersionPrefix is what every version marker starts with; a module
	// exporting gatehouse_abi_v2 is reported as "built for ABI v2".
	ExportVersionPrefix = "gatehouse_abi_v"
	// ExportOnRequest is (ctx i32, plan i32) -> i32, called in the request
	// phase (inbound and backend sections, and on-error).
	ExportOnRequest = "on_request"
	// ExportOnResponse is (ctx i32, plan i32) -> i32, called in the response
	// phase (outbound section) once the backend's status and headers are known.
	ExportOnResponse = "on_response"
	// ExportMemory is the guest's linear memory; every pointer is into it.
	ExportMemory = "memory"
	// ExportInitialize is the optional reactor start function that Go
	// (-buildmode=c-shared) and TinyGo guests export; the host calls it once
	// per instance, before anything else.
	ExportInitialize = "_initialize"
)

// Guest entry point results. The low byte is the action; higher bits are flags.
const (
	// ActionContinue: go on with the next policy.
	ActionContinue int32 = 0
	// ActionStop: the guest answered (send_response); skip the rest of the
	// section, the backend and, in the request phase, go straight to the
	// outbound section for the answer.
	ActionStop int32 = 1
	// ActionMask selects the action from a result.
	ActionMask int32 = 0xff
	// FlagNoHandler: no policy in this plan handles this phase; the host may
	// skip calling this phase for this plan from now on.
	FlagNoHandler int32 = 0x100
	// FlagRerunFrom (ABI v1.2): a policy of this plan asked for a cache
	// fill-lease wait (cache_fill_lease answered ErrLimit with a wait) and
	// the guest ended the plan after it; bits 16–23 (RerunIndexShift) hold
	// that attachment's index in the plan, and the re-run after the wait
	// starts there. Without it the host re-runs the whole plan.
	FlagRerunFrom int32 = 0x200
	// RerunIndexShift positions the attachment index of FlagRerunFrom.
	RerunIndexShift = 16
	// RerunIndexMask selects the index after the shift (at most 255).
	RerunIndexMask int32 = 0xff
	// A negative result is a policy failure (bad config, a failed host call the
	// guest could not handle): the attachment's fail mode decides what happens.
)

// Status codes returned by host functions (negative; >= 0 means success or a
// byte length). Misuse that only a broken guest commits — an unknown context
// handle, a pointer or length outside guest memory — is not a status: the host
// traps the guest, and the instance is discarded.
const (
	OK           int32 = 0
	ErrNotFound  int32 = -1 // absent header, variable, parameter, cache key, subscription
	ErrInvalid   int32 = -2 // unknown field/kind/mode, malformed name or value
	ErrPhase     int32 = -3 // not allowed in the current phase
	ErrTooLarge  int32 = -4 // body or value above its cap
	ErrUnavail   int32 = -5 // capability not configured on this host (no catalog, no JWT keys)
	ErrLimit     int32 = -6 // counter_add: the increment would pass the limit (nothing counted); concurrency_acquire: every slot is taken; cache_fill_lease: another call holds the lease
	ErrJWTFormat int32 = -16
	ErrJWTSig    int32 = -17 // signature invalid, or no key matches
	ErrJWTExpiry int32 = -18 // expired, or not yet valid, or exp missing
	ErrJWTIssuer int32 = -19
	ErrJWTAud    int32 = -20
	ErrJWTAlg    int32 = -21 // algorithm not in the allowed list
	ErrJWTClaim  int32 = -22 // a required claim is missing or has another value
	ErrJWTConfig int32 = -23 // the verification config is invalid
	ErrJWTKeys   int32 = -24 // keys unavailable (JWKS fetch failed with nothing cached)
)

// StatusText names a status for logs and errors.
func StatusText(s int32) string {
	switch s {
	case OK:
		return "ok"
	case ErrNotFound:
		return "not found"
	case ErrInvalid:
		return "invalid argument"
	case ErrPhase:
		return "not allowed in this phase"
	case ErrTooLarge:
		return "too large"
	case ErrUnavail:
		return "capability unavailable"
	case ErrLimit:
		return "limit reached"
	case ErrJWTFormat:
		return "jwt: malformed token"
	case ErrJWTSig:
		return "jwt: signature invalid"
	case ErrJWTExpiry:
		return "jwt: expired or not yet valid"
	case ErrJWTIssuer:
		return "jwt: issuer not accepted"
	case ErrJWTAud:
		return "jwt: audience not accepted"
	case ErrJWTAlg:
		return "jwt: algorithm not allowed"
	case ErrJWTClaim:
		return "jwt: required claim missing or wrong"
	case ErrJWTConfig:
		return "jwt: invalid verification config"
	case ErrJWTKeys:
		return "jwt: keys unavailable"
	}
	if s > 0 {
		return "length"
	}
	return "unknown status"
}

// Fields for get_field / set_field.
const (
	FieldMethod        int32 = 1  // get, set (request phase)
	FieldPath          int32 = 2  // canonical path; get, set (request phase; re-canonicalized)
	FieldQuery         int32 = 3  // raw query without '?'; get, set (request phase)
	FieldClientIP      int32 = 4  // get: the peer address (trusted proxies later)
	FieldRequestID     int32 = 5  // get: the gateway's request id
	FieldAPI           int32 = 6  // get: the matched API's name (the catalog ID when serving the catalog)
	FieldOperation     int32 = 7  // get: the matched operation's id ("" if none)
	FieldScheme        int32 = 8  // get: "http" or "https" as the client used
	FieldHost          int32 = 9  // get: the Host the client sent
	FieldOriginalPath  int32 = 10 // get: the canonical path before any rewrite
	FieldSubscription  int32 = 11 // get: the subscription id bound by subscription_lookup
	FieldProduct       int32 = 12 // get: the product of the bound subscription ("" if none)
	FieldRouteTemplate int32 = 13 // get: the matched operation's URL template
	FieldPhase         int32 = 14 // get: "request", "response" or "error"
	FieldAttachmentID  int32 = 15 // reserved

	// Backend call fields (ABI v1.1). Set in the request phase only (the
	// on-error phase answers ErrPhase); get in any phase.

	// FieldBackendURL: the base URL the request is forwarded to (APIM
	// set-backend-service base-url); get answers the API's backend when no
	// policy set one. Set: an absolute http(s) URL without credentials,
	// query or fragment, not link-local/unspecified/multicast unless the API
	// allows private backends; at most 2048 bytes. The request path is
	// appended as for the API's backend.
	FieldBackendURL int32 = 16
	// FieldBackendTimeout: the backend call's timeout, decimal milliseconds
	// (1–600000); get answers the API's backend timeout when not set.
	FieldBackendTimeout int32 = 17
	// FieldBackendRetry: a JSON retry spec (abi/ABI.md §5, "backend");
	// set "" clears it; get answers the canonical spec or "".
	FieldBackendRetry int32 = 18
	// FieldBackendFollowRedirects: "true" or "false" (the default): the
	// host follows the backend's redirects itself.
	FieldBackendFollowRedirects int32 = 19
	// FieldCacheStatus (ABI v1.2): what the response cache did for this
	// request, one of the CacheStatus* values; set in any phase (the last
	// set wins), get answers it or "". The host counts it per API
	// (metrics, request log); it counts a hit, stale or revalidated answer
	// only when a cache_get of this request found an entry, so a backend
	// (or a policy) cannot fake a gateway cache hit.
	FieldCacheStatus int32 = 20
	FieldMax         int32 = 20
)

// Values of FieldCacheStatus (ABI v1.2).
const (
	CacheStatusHit         = "hit"         // answered from a fresh entry
	CacheStatusMiss        = "miss"        // looked up, not found or not usable: the backend answered
	CacheStatusStale       = "stale"       // answered from a stale entry (max-stale, stale-while-revalidate, stale-if-error)
	CacheStatusRevalidated = "revalidated" // a stored entry was revalidated with the backend (304) and answered
	CacheStatusBypass      = "bypass"      // not cacheable by request (method, no-store, Authorization): not looked up
)

// Kinds select the request or the response for header and body functions.
const (
	KindRequest  int32 = 0
	KindResponse int32 = 1
)

// Counter modes for counter_add.
const (
	CounterFixed   int32 = 0 // fixed window aligned to the epoch (multiple of window)
	CounterSliding int32 = 1 // sliding window (weighted previous + current window)
	// CounterPersist asks the host to persist the counter (quotas). OR-ed in.
	// Hosts without persistence keep it in memory and say so in their docs.
	CounterPersist int32 = 0x10
)

// Log levels for log.
const (
	LogDebug int32 = 0
	LogInfo  int32 = 1
	LogWarn  int32 = 2
	LogError int32 = 3
)

// Attachment items for get_attachment.
const (
	AttachPolicy int32 = 0 // the policy name the attachment runs (a module may provide several)
	AttachConfig int32 = 1 // the attachment's config, JSON
)

// HeaderSep separates values (get_header) and names from values (get_headers).
const HeaderSep = byte(0)

// Host function names (module HostModule). Signatures are in Signatures.
const (
	FnGetField           = "get_field"
	FnSetField           = "set_field"
	FnGetHeader          = "get_header"
	FnGetHeaders         = "get_headers"
	FnSetHeader          = "set_header"
	FnAddHeader          = "add_header"
	FnDelHeader          = "del_header"
	FnGetBody            = "get_body"
	FnSetBody            = "set_body"
	FnGetStatus          = "get_status"
	FnSetStatus          = "set_status"
	FnSendResponse       = "send_response"
	FnGetParam           = "get_param"
	FnGetVar             = "get_var"
	FnSetVar             = "set_var"
	FnGetPlan            = "get_plan"
	FnGetAttachment      = "get_attachment"
	FnLog                = "log"
	FnNow                = "now"
	FnRandom             = "random"
	FnCounterAdd         = "counter_add"
	FnCacheGet           = "cache_get"
	FnCacheSet           = "cache_set"
	FnCacheDel           = "cache_del"
	FnJWTVerify          = "jwt_verify"
	FnSubscriptionLookup = "subscription_lookup"
	FnSubscriptionCheck  = "subscription_check"
	// FnConcurrencyAcquire (ABI v1.1) takes one slot of a concurrency
	// semaphore for the rest of the request; the host releases it when the
	// call ends, whatever happens.
	FnConcurrencyAcquire = "concurrency_acquire"
	// FnCacheFillLease (ABI v1.1) takes the fill lease of a cache key
	// (stampede protection); when another call holds it, the host waits
	// outside the guest for that fill and re-runs the current stage once.
	FnCacheFillLease = "cache_fill_lease"
)

// MaxFillLeaseWait is the longest wait_ms cache_fill_lease accepts (30 s,
// also the longest a fill lease lives).
const MaxFillLeaseWait = 30000

// MaxConcurrencyKey is the longest concurrency_acquire key, in bytes.
const MaxConcurrencyKey = 512

// Results of subscription_check (non-negative; negative values are statuses).
const (
	SubOK         int32 = 0 // active and in scope: bound to the request (and stripped unless SubKeep)
	SubMissing    int32 = 1 // no key in the header (nor, with SubAllowQuery, the query)
	SubInvalid    int32 = 2 // unknown key, or a subscription that is not active
	SubOutOfScope int32 = 3 // active, but its scope does not cover this API
)

// Flags for subscription_check.
const (
	SubAllowQuery int32 = 1 // also accept the key from the query parameter
	SubKeep       int32 = 2 // do not remove the key from the forwarded request
)

// ValType is a Wasm value type as it appears in a signature.
type ValType byte

const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
)

// Signature is a host function's Wasm type.
type Signature struct {
	Params  []ValType
	Results []ValType
}

// Capability groups: what a module can do, derived from what it imports.
// Admins see these at upload; `gatehouse plugin validate` prints them.
const (
	CapHTTP         = "http"         // read/modify request and response, answer early
	CapBody         = "body"         // read/replace bodies (buffered, capped)
	CapVars         = "vars"         // per-request variables shared along the chain
	CapConfig       = "config"       // its attachment's config
	CapLog          = "log"          // gateway log
	CapClock        = "clock"        // real wall clock
	CapRandom       = "random"       // crypto random bytes
	CapCounters     = "counters"     // atomic windowed counters (rate limit, quota)
	CapCache        = "cache"        // shared bounded TTL value cache
	CapJWT          = "jwt"          // JWT verification by the host
	CapSubscription = "subscription" // subscription-key lookup in the catalog
	CapConcurrency  = "concurrency"  // in-flight request slots held until the call ends (ABI v1.1)
)

// HostFunc describes one host function.
type HostFunc struct {
	Name string
	Sig  Signature
	Cap  string
}

var (
	i32x1 = []ValType{I32}
	i32x2 = []ValType{I32, I32}
	i32x3 = []ValType{I32, I32, I32}
	i32x4 = []ValType{I32, I32, I32, I32}
	i32x5 = []ValType{I32, I32, I32, I32, I32}
	i32x6 = []ValType{I32, I32, I32, I32, I32, I32}
	i32x7 = []ValType{I32, I32, I32, I32, I32, I32, I32}
)

// HostFuncs lists every v1 host function in a fixed order. Callers must not
// modify it (it is a function so nobody can).
func HostFuncs() []HostFunc {
	return []HostFunc{
		{FnGetField, Signature{i32x4, i32x1}, CapHTTP},                                                   // (ctx, field, buf, cap) -> len|status
		{FnSetField, Signature{i32x4, i32x1}, CapHTTP},                                                   // (ctx, field, ptr, len) -> status
		{FnGetHeader, Signature{i32x6, i32x1}, CapHTTP},                                                  // (ctx, kind, name, name_len, buf, cap) -> len|status
		{FnGetHeaders, Signature{i32x4, i32x1}, CapHTTP},                                                 // (ctx, kind, buf, cap) -> len|status
		{FnSetHeader, Signature{i32x6, i32x1}, CapHTTP},                                                  // (ctx, kind, name, name_len, val, val_len) -> status
		{FnAddHeader, Signature{i32x6, i32x1}, CapHTTP},                                                  // (ctx, kind, name, name_len, val, val_len) -> status
		{FnDelHeader, Signature{i32x4, i32x1}, CapHTTP},                                                  // (ctx, kind, name, name_len) -> status
		{FnGetBody, Signature{i32x4, i32x1}, CapBody},                                                    // (ctx, kind, buf, cap) -> len|status
		{FnSetBody, Signature{i32x4, i32x1}, CapBody},                                                    // (ctx, kind, ptr, len) -> status
		{FnGetStatus, Signature{i32x1, i32x1}, CapHTTP},                                                  // (ctx) -> status code|status
		{FnSetStatus, Signature{i32x2, i32x1}, CapHTTP},                                                  // (ctx, code) -> status
		{FnSendResponse, Signature{i32x4, i32x1}, CapHTTP},                                               // (ctx, code, body, body_len) -> status
		{FnGetParam, Signature{i32x5, i32x1}, CapHTTP},                                                   // (ctx, name, name_len, buf, cap) -> len|status
		{FnGetVar, Signature{i32x5, i32x1}, CapVars},                                                     // (ctx, name, name_len, buf, cap) -> len|status
		{FnSetVar, Signature{i32x5, i32x1}, CapVars},                                                     // (ctx, name, name_len, val, val_len) -> status
		{FnGetPlan, Signature{i32x4, i32x1}, CapConfig},                                                  // (ctx, plan, buf, cap) -> len|status
		{FnGetAttachment, Signature{i32x5, i32x1}, CapConfig},                                            // (ctx, attachment, item, buf, cap) -> len|status
		{FnLog, Signature{i32x4, i32x1}, CapLog},                                                         // (ctx, level, msg, msg_len) -> status
		{FnNow, Signature{nil, []ValType{I64}}, CapClock},                                                // () -> unix nanoseconds
		{FnRandom, Signature{i32x2, i32x1}, CapRandom},                                                   // (buf, len) -> status
		{FnCounterAdd, Signature{[]ValType{I32, I32, I32, I64, I64, I64, I32, I32}, i32x1}, CapCounters}, // (ctx, key, key_len, delta, limit, window_ms, mode, out) -> status
		{FnCacheGet, Signature{i32x5, i32x1}, CapCache},                                                  // (ctx, key, key_len, buf, cap) -> len|status
		{FnCacheSet, Signature{[]ValType{I32, I32, I32, I32, I32, I64}, i32x1}, CapCache},                // (ctx, key, key_len, val, val_len, ttl_ms) -> status
		{FnCacheDel, Signature{i32x3, i32x1}, CapCache},                                                  // (ctx, key, key_len) -> status
		{FnJWTVerify, Signature{i32x7, i32x1}, CapJWT},                                                   // (ctx, token, token_len, cfg, cfg_len, buf, cap) -> len|status
		{FnSubscriptionLookup, Signature{i32x5, i32x1}, CapSubscription},                                 // (ctx, key, key_len, buf, cap) -> len|status
		{FnSubscriptionCheck, Signature{i32x6, i32x1}, CapSubscription},                                  // (ctx, header, header_len, query, query_len, flags) -> result|status
		{FnConcurrencyAcquire, Signature{[]ValType{I32, I32, I32, I64}, i32x1}, CapConcurrency},          // (ctx, key, key_len, limit) -> status (v1.1)
		{FnCacheFillLease, Signature{[]ValType{I32, I32, I32, I64}, i32x1}, CapCache},                    // (ctx, key, key_len, wait_ms) -> status (v1.1)
		bodyConvert, // abi/body.go (v1.2)
	}
}

// LookupHostFunc returns the description of a v1 host function by name.
func LookupHostFunc(name string) (HostFunc, bool) {
	for _, f := range HostFuncs() {
		if f.Name == name {
			return f, true
		}
	}
	return HostFunc{}, false
}

// AllowedWASI lists the WASI preview 1 functions a guest may import. They are
// what the Go and TinyGo runtimes link. The host provides no preopened
// directories, no sockets, no arguments or environment; stdout and stderr go
// to the gateway log, rate-limited; the WASI clocks are the runtime's
// deterministic ones (use the now host function for real time).
func AllowedWASI() []string {
	return []string{
		"args_get", "args_sizes_get", "environ_get", "environ_sizes_get",
		"clock_res_get", "clock_time_get",
		"fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_filestat_get",
		"fd_prestat_get", "fd_prestat_dir_name", "fd_read", "fd_write", "fd_seek",
		"fd_sync", "fd_tell", "fd_readdir", "fd_pread", "fd_pwrite", "fd_datasync",
		"fd_filestat_set_size", "fd_filestat_set_times", "fd_advise", "fd_allocate",
		"fd_renumber",
		"path_open", "path_filestat_get", "path_filestat_set_times", "path_create_directory",
		"path_readlink", "path_remove_directory", "path_rename", "path_symlink",
		"path_unlink_file", "path_link",
		"poll_oneoff", "proc_exit", "random_get", "sched_yield",
	}
}

// CounterOutSize is the number of bytes counter_add writes at out:
// count (i64 LE) then reset time in unix milliseconds (i64 LE).
const CounterOutSize = 16

// Keys and namespaces (ABI.md §10). A key a guest passes to counter_add,
// cache_get/set/del, cache_fill_lease or concurrency_acquire is 1–MaxKey
// bytes; the host stores it under the module's namespace (at most
// MaxNamespace bytes, no NUL), so the stored key is at most MaxStoredKey.
const (
	MaxKey       = 512
	MaxNamespace = 128
	MaxStoredKey = MaxKey + MaxNamespace + 2
)

// Per-request budgets the host enforces across the whole chain (every
// module, both phases); ABI.md §8. A call over a budget stores nothing and
// answers ErrTooLarge; the gateway log names the budget.
const (
	// MaxAddedHeaders is how many header values set_header/add_header may
	// store per request (a set that changes nothing is free).
	MaxAddedHeaders = 64
	// MaxAddedHeaderBytes bounds the name+value bytes of those values.
	MaxAddedHeaderBytes = 64 << 10
	// MaxVars is how many variables a request may hold.
	MaxVars = 256
	// MaxVarBytes bounds the name+value bytes of all variables of a request.
	MaxVarBytes = 256 << 10
	// MaxHeldSlots is how many concurrency slots a request may hold.
	MaxHeldSlots = 16
	// MaxHeldLeases is how many cache fill leases a request may hold.
	MaxHeldLeases = 16
	// DefaultMaxOutput is the default cap on a body set_body or
	// send_response sets (per attachment: CallOptions.MaxOutput).
	DefaultMaxOutput = 1 << 20
)
