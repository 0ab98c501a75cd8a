package engine

import (
	"time"

	"github.com/gatehouse/gatehouse/abi/hostcall"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// The per-request state host functions touch, and the rules they apply to
// it, live in abi/hostcall (one copy shared with the SDK's emulator); the
// engine keeps its names for them.

// Phase is where in the chain a call runs.
type Phase = hostcall.Phase

const (
	PhaseRequest  = hostcall.PhaseRequest
	PhaseResponse = hostcall.PhaseResponse
	PhaseError    = hostcall.PhaseError
)

// Param is one path-template parameter.
type Param = hostcall.Param

// Subscription is what the catalog says about a subscription key.
type Subscription = hostcall.Subscription

// Body is a request or response body as policies see it.
type Body = hostcall.Body

// Exchange is the per-request state that host functions may read and change.
type Exchange = hostcall.Exchange

// BackendOverride is what policies set about the backend call.
type BackendOverride = hostcall.BackendOverride

// Counters, ValueCache, JWTVerifier, SubscriptionLookup and Semaphores are
// the node-wide services behind the host functions.
type (
	Counters           = hostcall.Counters
	ValueCache         = hostcall.ValueCache
	JWTVerifier        = hostcall.JWTVerifier
	SubscriptionLookup = hostcall.SubscriptionLookup
	Semaphores         = hostcall.Semaphores
)

// FillLeases is the table of cache fill leases (host/vcache.Leases
// implements it): Acquire takes key's lease or returns the holder's;
// Release ends a lease exactly once (Done is closed).
type FillLeases interface {
	Acquire(key string, now time.Time) (*vcache.Lease, bool)
	Release(l *vcache.Lease)
}

// Services are the node-wide capabilities behind the host functions. A nil
// field makes the matching host functions answer ErrUnavail.
type Services struct {
	Counters      Counters
	Cache         ValueCache
	JWT           JWTVerifier
	Subscriptions SubscriptionLookup
	// Semaphores back concurrency_acquire (ABI v1.1); the slots a request
	// took are released by Exchange.ReleaseHeld (and Reset).
	Semaphores Semaphores
	// Leases back cache_fill_lease (ABI v1.1, stampede protection); nil
	// makes it answer ErrUnavail. The leases a request holds are released
	// by Exchange.ReleaseHeld (and Reset), or early by its cache_set.
	Leases FillLeases
	// Now is the real clock; nil means time.Now.
	Now func() time.Time
}

// HostServices returns the services as the semantics layer takes them, as
// they are now (fields may be wired after the engine was made).
func (s *Services) HostServices() hostcall.Services {
	hs := hostcall.Services{
		Counters:      s.Counters,
		Cache:         s.Cache,
		JWT:           s.JWT,
		Subscriptions: s.Subscriptions,
		Semaphores:    s.Semaphores,
		Now:           s.Now,
	}
	if s.Leases != nil {
		hs.Leases = leaseTable{s}
	}
	return hs
}

// leaseTable adapts the services' FillLeases to hostcall.FillLeases (one
// pointer: no allocation per host call).
type leaseTable struct{ s *Services }

func (a leaseTable) Acquire(key string, now time.Time) (hostcall.Lease, bool) {
	l, ok := a.s.Leases.Acquire(key, now)
	if l == nil {
		return nil, ok // no typed nil in the interface: "table full"
	}
	return l, ok
}

func (a leaseTable) Release(l hostcall.Lease) { a.s.Leases.Release(l.(*vcache.Lease)) }

// CheckBackendOverride checks a backend URL a policy sets against the
// exchange's egress rule (abi/egress).
var CheckBackendOverride = hostcall.CheckBackendOverride

// SetBackendField applies set_field for the backend fields (ABI v1.1).
var SetBackendField = hostcall.SetBackendField
