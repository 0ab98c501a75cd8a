package catalog

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/abi/manifest"
)

// Default names of the subscription key carriers, as in Azure API Management.
const (
	DefaultKeyHeader = "Ocp-Apim-Subscription-Key"
	DefaultKeyQuery  = "subscription-key"
)

// API is a published API: requests whose path starts with PathPrefix are
// forwarded to BackendURL.
type API struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	PathPrefix           string `json:"pathPrefix"`
	BackendURL           string `json:"backendUrl"`
	Version              string `json:"version,omitempty"`
	Revision             int    `json:"revision"`
	OpenAPIDoc           []byte `json:"openApiDoc,omitempty"`
	SubscriptionRequired bool   `json:"subscriptionRequired"`
	// KeyHeader is the request header carrying the subscription key.
	// Defaults to DefaultKeyHeader.
	KeyHeader string `json:"keyHeader"`
	// KeyQuery is the query parameter carrying the subscription key when
	// AllowQueryKey is set. Defaults to DefaultKeyQuery.
	KeyQuery      string `json:"keyQuery"`
	AllowQueryKey bool   `json:"allowQueryKey"`
	// EgressAllow lists what backends set by this API's policies, and
	// redirects, may reach beyond public addresses and the API's own
	// backend: CIDRs, addresses, host[:port], *.domain (docs/egress.md).
	EgressAllow []string `json:"egressAllow,omitempty"`
	// ConsoleTraceDisabled switches off the developer portal console's
	// policy trace for this API (docs/console.md): console calls still
	// work, but the gateway never records a trace for them.
	ConsoleTraceDisabled bool `json:"consoleTraceDisabled"`
	// APITransport: backendProtocol, backendTls, clientCertificate and
	// websocket (transport.go).
	APITransport
}

// Operation is one method + URL template of an API.
type Operation struct {
	ID          string `json:"id"`
	APIID       string `json:"apiId"`
	Name        string `json:"name"`
	Method      string `json:"method"`
	URLTemplate string `json:"urlTemplate"`
}

// Product groups APIs that developers subscribe to.
type Product struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Published   bool   `json:"published"`
	// ApprovalRequired makes new subscriptions start as submitted instead
	// of active.
	ApprovalRequired bool `json:"approvalRequired"`
	// SubscriptionsLimit caps the live subscriptions one user may hold to
	// this product; 0 means unlimited.
	SubscriptionsLimit int `json:"subscriptionsLimit"`
}

// ProductAPI links a product to an API it contains.
type ProductAPI struct {
	ProductID string `json:"productId"`
	APIID     string `json:"apiId"`
}

// Group is a named set of users.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// User states.
const (
	UserActive  = "active"
	UserBlocked = "blocked"
	UserPending = "pending"
)

// User is a developer who owns subscriptions.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// State is one of UserActive, UserBlocked, UserPending; empty means active.
	State string `json:"state"`
}

// Session is a developer portal sign-in. The session token itself is
// never stored: IDHash is its SHA-256 (hex).
type Session struct {
	IDHash    string    `json:"-"`
	UserID    string    `json:"userId"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ResetToken is an admin-issued one-time password reset token; TokenHash
// is the SHA-256 (hex) of the token in the link.
type ResetToken struct {
	TokenHash string    `json:"-"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Scope is what a subscription or a policy document applies to.
type Scope string

// Subscription and policy scopes.
const (
	ScopeGlobal    Scope = "global"    // policies only
	ScopeAll       Scope = "all"       // subscriptions only: every API
	ScopeProduct   Scope = "product"   // a product, ScopeID is its ID
	ScopeAPI       Scope = "api"       // an API, ScopeID is its ID
	ScopeOperation Scope = "operation" // policies only, ScopeID is the operation ID
)

// SubscriptionState is the lifecycle state of a subscription.
type SubscriptionState string

// Subscription states, as in Azure API Management.
const (
	StateSubmitted SubscriptionState = "submitted"
	StateActive    SubscriptionState = "active"
	StateSuspended SubscriptionState = "suspended"
	StateCancelled SubscriptionState = "cancelled"
	StateExpired   SubscriptionState = "expired"
)

// Subscription grants a user access to all APIs, a product or an API.
// Its keys are not fields: stores hand them out on creation, regeneration
// and on explicit request.
type Subscription struct {
	ID      string            `json:"id"`
	UserID  string            `json:"userId"`
	Name    string            `json:"name,omitempty"`
	Scope   Scope             `json:"scope"`
	ScopeID string            `json:"scopeId,omitempty"`
	State   SubscriptionState `json:"state"`
	// ExpiresAt, when set, makes the subscription expired from that instant
	// on: stores report State as StateExpired once it has passed.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
}

// EffectiveState returns the state at instant now, taking ExpiresAt into
// account: a subscription that is not cancelled is expired once ExpiresAt
// has passed.
func (s *Subscription) EffectiveState(now time.Time) SubscriptionState {
	if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) && s.State != StateCancelled {
		return StateExpired
	}
	return s.State
}

// KeySlot names one of a subscription's two keys.
type KeySlot string

// The two key slots.
const (
	SlotPrimary   KeySlot = "primary"
	SlotSecondary KeySlot = "secondary"
)

// Keys holds a subscription's two plaintext keys.
type Keys struct {
	Primary   string `json:"primaryKey"`
	Secondary string `json:"secondaryKey"`
}

// Module is an uploaded policy plugin (a WebAssembly module).
type Module struct {
	Name string `json:"name"`
	// Version is a semantic version (MAJOR.MINOR.PATCH[-pre][+build]).
	Version string `json:"version"`
	// SHA256 is the lowercase hex SHA-256 of Wasm. Stores compute it when
	// empty and reject a mismatch.
	SHA256    string         `json:"sha256"`
	Wasm      []byte         `json:"-"`
	Manifest  ModuleManifest `json:"manifest"`
	CreatedAt time.Time      `json:"createdAt"`
	// Grant is what an admin granted of the manifest's requests
	// (capabilities, egress); see MissingGrants.
	Grant ModuleGrant `json:"grant"`
}

// The module manifest is part of the module contract (abi/manifest); the
// catalog stores it under these names.
type (
	// ModuleManifest describes what a module needs from the host.
	ModuleManifest = manifest.Module
	// PolicyManifest describes one policy of a multi-policy module.
	PolicyManifest = manifest.Policy
	// ModuleLimits bounds a module instance. Zero means the host default.
	ModuleLimits = manifest.Limits
)

// Policy fail modes.
const (
	FailClosed   = "closed"   // an error fails the request (default)
	FailOpen     = "open"     // an error skips the entry
	FailFallback = "fallback" // an error runs Fallback instead
)

// PolicyDoc is the policy document attached to one scope.
type PolicyDoc struct {
	// Scope is ScopeGlobal, ScopeProduct, ScopeAPI or ScopeOperation.
	Scope Scope `json:"scope"`
	// ScopeID is empty for ScopeGlobal and the entity ID otherwise.
	// A nil section (JSON null or absent) inherits the parent scope's
	// section unchanged; an empty one ([]) replaces it with nothing.
	ScopeID  string        `json:"scopeId,omitempty"`
	Inbound  []PolicyEntry `json:"inbound"`
	Backend  []PolicyEntry `json:"backend"`
	Outbound []PolicyEntry `json:"outbound"`
	OnError  []PolicyEntry `json:"onError"`
}

// PolicyEntry is one step of a policy section: either Base, marking where
// the parent scope's section runs (as <base/> in APIM), or a module
// reference with its configuration.
type PolicyEntry struct {
	Base bool `json:"base,omitempty"`
	// Module references a module as "name" or "name@version".
	Module string `json:"module,omitempty"`
	// Policy selects a policy exported by the module; empty for its default.
	Policy string          `json:"policy,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
	// FailMode is FailClosed (default), FailOpen or FailFallback.
	FailMode string `json:"failMode,omitempty"`
	// Fallback is the module reference run when FailMode is FailFallback.
	Fallback string `json:"fallback,omitempty"`
}

// NamedValue is a named configuration value policies may reference.
// Secret values are encrypted at rest.
type NamedValue struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
}

// AuditEntry records one write to the catalog.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Entity   string    `json:"entity"`
	EntityID string    `json:"entityId"`
	Detail   string    `json:"detail,omitempty"`
	// Version is the catalog version the write produced.
	Version int64 `json:"version"`
}

type actorKey struct{}

// WithActor returns a context whose writes are audited as done by actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by WithActor, or "system".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// PolicySection is one section of a policy document under its JSON name.
type PolicySection struct {
	Name    string // inbound, backend, outbound, onError
	Entries []PolicyEntry
}

// Sections returns the document's four sections in order, named as in
// JSON and in field paths ("inbound[2].config").
func (d *PolicyDoc) Sections() [4]PolicySection {
	return [4]PolicySection{{"inbound", d.Inbound}, {"backend", d.Backend}, {"outbound", d.Outbound}, {"onError", d.OnError}}
}
