package abi

import "math"

// Limits of the host functions (ABI.md §11). Every size, count and range a
// host function checks is a constant here, listed by Limits; ABI.md's limits
// table names each with its value, and a test fails when the two disagree.
const (
	// MaxHeaderName is the longest header name a host function accepts.
	MaxHeaderName = 256
	// MaxHeaderValue is the longest header value set_header/add_header store.
	MaxHeaderValue = 16 << 10
	// MaxMethod is the longest method set_field accepts.
	MaxMethod = 32
	// MaxPath is the longest decoded path (the edge and set_field of the path).
	MaxPath = 8192
	// MaxQuery is the longest raw query set_field accepts.
	MaxQuery = 8 << 10
	// MaxVarName and MaxVarValue bound one variable (set_var).
	MaxVarName  = 128
	MaxVarValue = 64 << 10
	// MaxLogMessage is where log cuts a message.
	MaxLogMessage = 4 << 10
	// MaxRandom is the most bytes one random call fills.
	MaxRandom = 1024
	// MaxCounterWindowMs is the longest counter_add window (366 days).
	MaxCounterWindowMs = 366 * 24 * 3600 * 1000
	// MaxCacheTTLMs is the longest cache_set TTL (24 h).
	MaxCacheTTLMs = 24 * 3600 * 1000
	// MaxSubscriptionKey is the longest subscription key looked up.
	MaxSubscriptionKey = 256
	// MaxBackendURL is the longest backend URL set_field accepts (field 16).
	MaxBackendURL = 2048
	// MaxBackendTimeoutMs is the longest backend timeout (field 17).
	MaxBackendTimeoutMs = 600000
	// MaxRetryCount is the most retries a retry spec asks for (field 18).
	MaxRetryCount = 50
	// MaxResult is the longest result a buffer function can report.
	MaxResult = math.MaxInt32
)

// Limit is one row of the limits table.
type Limit struct {
	Name  string // the Go constant's name in package abi
	Value int64
}

// Limits lists every limit of the host functions, in ABI.md §11's order.
func Limits() []Limit {
	return []Limit{
		{"MaxKey", MaxKey},
		{"MaxNamespace", MaxNamespace},
		{"MaxStoredKey", MaxStoredKey},
		{"MaxConcurrencyKey", MaxConcurrencyKey},
		{"MaxFillLeaseWait", MaxFillLeaseWait},
		{"MaxHeaderName", MaxHeaderName},
		{"MaxHeaderValue", MaxHeaderValue},
		{"MaxMethod", MaxMethod},
		{"MaxPath", MaxPath},
		{"MaxQuery", MaxQuery},
		{"MaxVarName", MaxVarName},
		{"MaxVarValue", MaxVarValue},
		{"MaxLogMessage", MaxLogMessage},
		{"MaxRandom", MaxRandom},
		{"MaxCounterWindowMs", MaxCounterWindowMs},
		{"MaxCacheTTLMs", MaxCacheTTLMs},
		{"MaxSubscriptionKey", MaxSubscriptionKey},
		{"MaxBackendURL", MaxBackendURL},
		{"MaxBackendTimeoutMs", MaxBackendTimeoutMs},
		{"MaxRetryCount", MaxRetryCount},
		{"MaxResult", MaxResult},
		{"CounterOutSize", CounterOutSize},
		{"MaxAddedHeaders", MaxAddedHeaders},
		{"MaxAddedHeaderBytes", MaxAddedHeaderBytes},
		{"MaxVars", MaxVars},
		{"MaxVarBytes", MaxVarBytes},
		{"MaxHeldSlots", MaxHeldSlots},
		{"MaxHeldLeases", MaxHeldLeases},
		{"DefaultMaxOutput", DefaultMaxOutput},
	}
}
